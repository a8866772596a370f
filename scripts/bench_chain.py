"""Times the audit chain (issue 15): `audit_seal` over a backlog of BENCH_RECORDS access
records, then `audit_verify` over the chain it sealed, in one process and with workers.

Run by `BENCH_ONLY=chain make bench` (and its functions by scripts/bench_hub.py, whose last
stage seals and verifies the same way). Like scripts/bench_audit.py it never touches the
configured database: it fills a throwaway one beside it with bench_audit's generator (the
access records of a year and their index entries; PostgreSQL `<BENCH_DATABASE_PREFIX><random>`,
or an SQLite file in a fresh temporary directory) and destroys it at the end whatever happens.

Environment: DATABASE_URL (as for the hub: SQLite when unset), BENCH_RECORDS (default
1,000,000), BENCH_VERIFY_WORKERS (default: one per available core; the second verification),
BENCH_DATABASE_PREFIX (default hub_bench_). Prints the rates and writes every figure to
bench/results/chain-<time>.json. Nothing here is a pass/fail test: the figures are for the
reader (and for the targets of issue 15, which it prints beside them).
"""

import io
import json
import os
import platform
import sys
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings_test")

import django  # noqa: E402

django.setup()

import bench_audit  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from audit import chain  # noqa: E402
from audit.chain_workers import available_cores  # noqa: E402

RECORDS = int(os.environ.get("BENCH_RECORDS") or 1_000_000)
WORKERS = int(os.environ.get("BENCH_VERIFY_WORKERS") or available_cores())
RESULTS = BASE_DIR / "bench" / "results"
# Issue 15's targets.
VERIFY_TARGET = 200_000


def backend_cpu_seconds() -> float | None:
    """CPU time of this connection's PostgreSQL backend so far, when the server runs on this
    machine and its /proc is readable (None otherwise)."""
    if connection.vendor != "postgresql":
        return None
    pid = bench_audit.scalar("SELECT pg_backend_pid()")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_command(name: str, *args: str) -> dict[str, Any]:
    """Runs a management command here, and what it printed (its last line, JSON), how long
    it took, and the CPU this process and its database backend spent on it."""
    out = io.StringIO()
    backend = backend_cpu_seconds()
    cpu = time.process_time()
    start = time.perf_counter()
    call_command(name, *args, stdout=out)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    after = backend_cpu_seconds()
    return {
        "printed": json.loads(out.getvalue().strip().splitlines()[-1]),
        "seconds": seconds,
        "python_cpu_seconds": cpu,
        "database_cpu_seconds": after - backend if backend is not None and after else None,
    }


def seal_and_verify(workers: int = WORKERS) -> dict[str, Any]:
    """audit_seal over every unsealed record, then audit_verify over the chain, in one process
    and with `workers` processes: the figures of issue 15."""
    records = bench_audit.scalar("SELECT count(*) FROM audit_accessrecord")
    print(f"  audit_seal over {records:,} records ...", end="", flush=True)
    seal = timed_command("audit_seal")
    sealed = seal["printed"]["sealed_records"] or 0
    seal["records_per_s"] = sealed / seal["seconds"]
    print(f" {seal['seconds']:.1f} s, {seal['records_per_s']:,.0f} records/s", flush=True)
    runs = {}
    # As chain_verify shares the chain out: on PostgreSQL, never fewer records per worker.
    workers = max(1, min(workers, sealed // chain._RECORDS_PER_WORKER))
    if connection.vendor != "postgresql":
        workers = 1
    for n in sorted({1, workers}):
        print(f"  audit_verify --workers {n} ...", end="", flush=True)
        run = timed_command("audit_verify", "--workers", str(n))
        run["workers"] = n
        run["records_per_s"] = run["printed"]["sealed"]["records"] / run["seconds"]
        print(f" {run['seconds']:.1f} s, {run['records_per_s']:,.0f} records/s", flush=True)
        if not run["printed"]["intact"]:
            raise SystemExit(f"The chain does not verify: {run['printed']['problem']}")
        runs[n] = run
    best = max(runs.values(), key=lambda run: run["records_per_s"])
    return {
        "records": records,
        "batch_size": settings.AUDIT_SEAL_BATCH_SIZE,
        "seal": seal,
        "verify": list(runs.values()),
        # As scripts/bench_hub.py has always reported them.
        "seal_seconds": seal["seconds"],
        "sealed_records": sealed,
        "seal_records_per_s": seal["records_per_s"],
        "verify_seconds": best["seconds"],
        "verify_workers": best["workers"],
        "verify_records_per_s": best["records_per_s"],
        "verify_report": best["printed"],
    }


def per_record(seconds: float | None, records: int) -> str:
    return "-" if seconds is None else f"{seconds / records * 1e6:.1f} us"


def report(audit: dict[str, Any]) -> None:
    records = audit["sealed_records"] or audit["records"]
    print(f"\n{connection.vendor}, {audit['records']:,} access records:")
    seal = audit["seal"]
    print(
        f"  audit_seal: {seal['seconds']:.1f} s, {seal['records_per_s']:,.0f} records/s "
        f"(CPU per record: Python {per_record(seal['python_cpu_seconds'], records)}, database "
        f"{per_record(seal['database_cpu_seconds'], records)})"
    )
    for run in audit["verify"]:
        database = (
            ""
            if run["workers"] > 1
            else (f", database {per_record(run['database_cpu_seconds'], records)}")
        )
        print(
            f"  audit_verify --workers {run['workers']}: {run['seconds']:.1f} s, "
            f"{run['records_per_s']:,.0f} records/s (CPU per record: Python "
            f"{per_record(run['python_cpu_seconds'], records)} in this process{database})"
        )
    met = audit["verify_records_per_s"] >= VERIFY_TARGET
    print(
        f"  [{'met' if met else 'NOT met'}] audit_verify >= {VERIFY_TARGET:,} records/s: "
        f"{audit['verify_records_per_s']:,.0f}/s"
    )


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "available_cores": available_cores(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": connection.vendor,
        "postgres": (
            bench_audit.scalar("SHOW server_version") if connection.vendor == "postgresql" else None
        ),
    }


def run(name: str) -> dict[str, Any]:
    load_before = os.getloadavg()
    print(f"Fill ({RECORDS:,} records):")
    bench_audit.RECORDS = RECORDS
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        bench_audit.fill(bench_audit.Dialect(connection.vendor), bench_audit.Clock())
    fill_seconds = time.perf_counter() - start
    bench_audit.check_on_bench_database(name)
    print(f"  access records and index entries ... {fill_seconds:.1f} s")
    print("Sealing and verifying:")
    audit = seal_and_verify()
    data = {
        "when": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "config": {"records": RECORDS, "verify_workers": WORKERS},
        "fill_seconds": fill_seconds,
        "audit": audit,
    }
    report(audit)
    print(f"Load average {load_before[0]:.2f} before, {data['load_after'][0]:.2f} after.")
    return data


def save(data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"chain-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(data, indent=1, default=str) + "\n")
    return out


def main() -> int:
    with bench_audit.throwaway_database() as name:
        out = save(run(name))
        print(f"Every figure: {out.relative_to(BASE_DIR)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
