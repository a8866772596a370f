"""The hub against a bare baseline in one run (issue 15): `make bench` runs it after the audit
bench. PostgreSQL only: with any other DATABASE_URL it says so and skips (exit 0).

Like scripts/bench_audit.py it never touches the configured database: it creates a throwaway
`hub_bench_<random>` beside it, fills it, and drops it at the end whatever happens (access
records are append-only, so fake ones written anywhere else could never be removed).

1. Fill: the access records of a year (bench_audit's generator, INSERT ... SELECT), a few
   agencies with clients and agreements, template referrals made through the API (with a
   report, consents, events), then cloned in SQL to BENCH_REFERRALS / 10.
2. Serve the hub under gunicorn with deploy/gunicorn.conf.py and bench.settings (the hub's
   settings plus the bare views of bench/views.py under /bench/), and measure the scaling
   scenarios small; then grow to BENCH_REFERRALS referrals and BENCH_RECORDS records and
   measure them again, then every scenario at 1, 4 and 16 clients, hub and baseline
   alternated, BENCH_ROUNDS rounds (bench/load.py in its own process drives the load).
3. audit_seal and audit_verify over every record, timed (scripts/bench_chain.py's
   seal_and_verify: verify in one process, then with a worker per available core).
4. A table on stdout and every figure in bench/results/hub-<time>.json.

Environment: DATABASE_URL (postgres://...), BENCH_REFERRALS (10,000), BENCH_RECORDS
(1,000,000), BENCH_QUICK=1 (1,000 referrals, 100,000 records, shorter runs), BENCH_SECONDS and
BENCH_WARMUP (per run), BENCH_ROUNDS (3), BENCH_CLIENTS (1,4,16), BENCH_SCENARIOS (all),
BENCH_DATABASE_PREFIX (hub_bench_).
"""

import io
import json
import logging
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings_test")

import django  # noqa: E402

django.setup()

import bench_audit  # noqa: E402
import bench_chain  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from agencies.models import Agency, AgencyKind  # noqa: E402
from agencies.registration import SCOPE_CEILINGS  # noqa: E402
from agencies.services import client_create  # noqa: E402
from core.vocabulary import Purpose  # noqa: E402
from referrals.models import Programme, Referral  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
REFERRALS = int(os.environ.get("BENCH_REFERRALS") or (1_000 if QUICK else 10_000))
RECORDS = int(os.environ.get("BENCH_RECORDS") or (100_000 if QUICK else 1_000_000))
SECONDS = float(os.environ.get("BENCH_SECONDS") or (2 if QUICK else 5))
WARMUP = float(os.environ.get("BENCH_WARMUP") or (0.5 if QUICK else 1))
ROUNDS = int(os.environ.get("BENCH_ROUNDS") or 3)
CLIENTS = [int(c) for c in (os.environ.get("BENCH_CLIENTS") or "1,4,16").split(",")]
SCALING_CLIENTS = 4
# The scaling stage: a tenth of each total.
SMALL = 10
TEMPLATES = 4
RESULTS = BASE_DIR / "bench" / "results"
GUNICORN = Path(sys.executable).parent / "gunicorn"
DECLARABLE = [p.value for p in Purpose if p != Purpose.AUDIT]
RAISED_LIMITS = {
    "CLIENT_RATE_LIMIT": "100000000/min",
    "TOKEN_RATE_LIMIT": "100000000/min",
    "TOKEN_ADDRESS_RATE_LIMIT": "100000000/min",
    "FAILED_REQUEST_RATE_LIMIT": "100000000/min",
}


def execute(sql: str, params: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def scalar(sql: str, params: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, table)]


def timed(label: str, action: Any) -> tuple[Any, float]:
    print(f"  {label} ...", end="", flush=True)
    start = time.perf_counter()
    result = action()
    took = time.perf_counter() - start
    print(f" {took:.1f} s", flush=True)
    return result, took


# --- The parties, made through the hub's own services and API ---------------------------------


def issue(agency: Agency, purpose: str | None, purposes: list[str] | None = None) -> dict:
    issued = client_create(
        agency_id=agency.id,
        scopes=sorted(SCOPE_CEILINGS[agency.kind]),
        purpose=purpose,
        purposes=DECLARABLE if purposes is None else purposes,
    )
    return {"client_id": issued.client.client_id, "secret": issued.client_secret}


def api(client: dict) -> APIClient:
    api_client = APIClient(HTTP_HOST="localhost")
    basic = f"{client['client_id']}:{client['secret']}"
    import base64

    got = api_client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(basic.encode()).decode(),
    )
    if got.status_code != 200:
        raise SystemExit(f"No token: {got.content!r}")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {got.json()['access_token']}")
    return api_client


def ok(response: Any, status: int = 200) -> Any:
    if response.status_code != status:
        raise SystemExit(f"Seeding: {response.status_code} {response.content[:500]!r}")
    return response.json() if response.content else None


def referral_body(programme: Any, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "programme": str(programme),
        "subject": {
            "identity": {
                "given_name": "Adam",
                "family_name": f"Bench{n}",
                "date_of_birth": "1985-01-02",
                "identifiers": [{"system": "bench.id", "value": f"T{n:06d}"}],
            },
            "contact": {"address": "2 Test Road", "phone": "01632 960100"},
        },
        "offence": {
            "summary": "Common assault.",
            "mandate": "court_mandated",
            "court_order": {"court": "Test Court"},
        },
        "risk": {"level": "high", "tool": "DASH", "summary": "Escalating.", "marac": True},
        "partner": {
            "identity": {"name": "Beth Private"},
            "contact": {"address": "Refuge", "phone": "01632 960200", "safe_contact": "AM"},
            "disclosures": [{"summary": "She said the threats began in spring."}],
        },
        "children": [{"age": 6, "notes": "Primary school."}],
        **extra,
    }


def agreement(provider: Agency, recipient: Agency, grants: list[str], purposes: list[str]):
    today = datetime.now(UTC).date()
    return {
        "name": f"Bench {provider.name} to {recipient.name}",
        "provider": str(provider.id),
        "recipient": str(recipient.id),
        "recipient_kind": None,
        "purposes": purposes,
        "grants": [{"category": c, "lawful_basis": "public_task"} for c in grants],
        "valid_from": str(today - timedelta(days=30)),
        "valid_to": str(today + timedelta(days=365)),
        "status": "active",
    }


def seed() -> dict[str, Any]:
    """Agencies, clients, programmes, agreements and the template referrals."""
    kinds = {
        "p1": AgencyKind.PROBATION,
        "p2": AgencyKind.PROBATION,
        "police": AgencyKind.POLICE,
        "court": AgencyKind.COURT,
        "pp1": AgencyKind.PROGRAMME_PROVIDER,
        "pp2": AgencyKind.PROGRAMME_PROVIDER,
        "vs": AgencyKind.VICTIM_SERVICE,
    }
    ag = {k: Agency.objects.create(name=f"Hub bench {k}", kind=v) for k, v in kinds.items()}
    programmes = {
        k: Programme.objects.create(
            provider=ag[k], name=f"Bench {k}", approach="criminological", modality="group"
        )
        for k in ("pp1", "pp2")
    }
    purpose = {"pp1": "programme_delivery", "pp2": "programme_delivery", "vs": "partner_safety"}
    clients = {k: issue(a, purpose.get(k, "risk_management")) for k, a in ag.items()}
    apis = {k: api(c) for k, c in clients.items()}
    # Agreements: each referrer to each provider and to the victim service, the court too.
    for referrer in ("p1", "p2", "police"):
        for recipient, grants, purposes in (
            (
                "pp1",
                ["subject.identity", "subject.contact", "risk", "offence"],
                ["programme_delivery"],
            ),
            ("pp2", ["subject.identity", "risk", "offence"], ["programme_delivery"]),
            ("vs", ["risk", "partner.identity", "partner.contact"], ["partner_safety"]),
        ):
            ok(
                apis[referrer].post(
                    "/api/v1/sharing-agreements/",
                    agreement(ag[referrer], ag[recipient], grants, purposes),
                    format="json",
                ),
                201,
            )
    ok(
        apis["p1"].post(
            "/api/v1/sharing-agreements/",
            agreement(ag["p1"], ag["court"], ["subject.identity", "risk"], ["court_compliance"]),
            format="json",
        ),
        201,
    )
    shapes = [
        ("p1", "pp1", {"partner_service": str(ag["vs"].id), "observers": [str(ag["court"].id)]}),
        ("p2", "pp1", {"partner_service": str(ag["vs"].id)}),
        ("police", "pp2", {}),
        ("p1", "pp2", {"partner_service": str(ag["vs"].id), "observers": [str(ag["police"].id)]}),
    ]
    templates = []
    for n, (referrer, provider, extra) in enumerate(shapes[:TEMPLATES]):
        body = referral_body(programmes[provider].id, n, **extra)
        rid = ok(apis[referrer].post("/api/v1/referrals/", body, format="json"), 201)["id"]
        url = f"/api/v1/referrals/{rid}/"
        for to in ("acknowledged", "assessment"):
            ok(apis[provider].post(f"{url}transitions/", {"to": to}, format="json"))
        report = {"kind": "assessment", "suitable": True, "summary": "Motivated."}
        ok(apis[provider].post(f"{url}reports/", report, format="json"), 201)
        for subject in ("subject", "partner"):
            ok(
                apis[referrer].post(
                    "/api/v1/consents/",
                    {
                        "referral": rid,
                        "data_subject": subject,
                        "provisions": [{"type": "permit", "categories": ["risk"]}],
                        "valid_from": str(datetime.now(UTC).date() - timedelta(days=1)),
                        "evidence": {"method": "signed_form", "reference": "F-1"},
                    },
                    format="json",
                ),
                201,
            )
        templates.append(rid)
    return {"agencies": ag, "clients": clients, "programmes": programmes, "templates": templates}


# The people the DPO searches for (pick_searched_people), filled at the small stage.
SEARCHED_PEOPLE: list[str] = []
# More than a page of records each: a search answers a full page (50) at both stages.
SEARCHED_PEOPLE_RECORDS = 51


def pick_searched_people() -> None:
    """Twenty people named in more than a page of bench_audit's records at the small stage
    (its staff; grow_records multiplies their records), so that the scaling stage compares
    pages of the same size. Its men have 18 records each at a tenth of the volume and 180 at
    the full one: the search by person answered 18 items against 50, and looked 30% slower."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT value FROM audit_accessindexentry WHERE kind = 'person' GROUP BY value "
            "HAVING count(*) >= %s ORDER BY value LIMIT 20",
            [SEARCHED_PEOPLE_RECORDS],
        )
        SEARCHED_PEOPLE[:] = [value for (value,) in cursor.fetchall()]


def link_searched_people(world: dict[str, Any]) -> None:
    """The men the DPO searches for (named in bench_audit's records) become the subjects of
    some of police's referrals, so that the hub knows them (unknown ids are refused)."""
    police = world["agencies"]["police"].id
    ids = list(
        Referral.objects.filter(referrer_id=police)
        .exclude(subject_id__in=SEARCHED_PEOPLE)
        .order_by("created_at")
        .values_list("id", flat=True)[: len(SEARCHED_PEOPLE)]
    )
    for person, referral in zip(SEARCHED_PEOPLE, ids, strict=False):
        execute(
            "INSERT INTO referrals_person (id, created_at) VALUES (%s, now()) "
            "ON CONFLICT DO NOTHING",
            [person],
        )
        execute("UPDATE referrals_referral SET subject_id = %s WHERE id = %s", [person, referral])


# --- Cloning the templates in SQL --------------------------------------------------------------


def mapped(column: str) -> str:
    return f"md5(t.{column}::text || ':' || i)::uuid"


def clone_table(table: str, where: str, overrides: dict[str, str], first: int, last: int) -> int:
    cols = columns(table)
    exprs = [overrides.get(c, f"t.{c}") for c in cols if c not in overrides or overrides[c]]
    names = [c for c in cols if c not in overrides or overrides[c]]
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(exprs)} "  # noqa: S608
        f"FROM {table} t, generate_series({first}, {last}) i WHERE {where}"
    )
    return execute(sql)


def clone(templates: list[str], upto: int, have: int) -> int:
    """Referrals `have` .. `upto`-1 (over all templates), each a copy of one template with its
    persons, identifiers, observers, disclosures, report, transitions, consents and events;
    copies are dated back from the template, a minute apart."""
    per = -(-(upto - have) // len(templates))
    first = have // len(templates) + 1
    last = first + per - 1
    ids = ", ".join(f"'{t}'" for t in templates)
    of_template = f"t.referral_id IN ({ids})"
    earlier = "t.{c} - i * interval '1 minute'"
    # Ids of our own templates (uuids from the database), no outside input.
    persons = (
        f"t.id IN (SELECT subject_id FROM referrals_referral WHERE id IN ({ids}) "  # noqa: S608
        f"UNION SELECT partner_id FROM referrals_referral WHERE id IN ({ids}))"
    )
    clone_table("referrals_person", persons, {"id": mapped("id")}, first, last)
    clone_table(
        "referrals_personidentifier",
        persons.replace("t.id IN", "t.person_id IN"),
        {
            "id": "",
            "person_id": mapped("person_id"),
            "value": "t.value || '-' || i",
            "normalised": "t.normalised || '-' || i",
        },
        first,
        last,
    )
    clone_table(
        "referrals_referral",
        f"t.id IN ({ids})",
        {
            "id": mapped("id"),
            "subject_id": mapped("subject_id"),
            "partner_id": (
                f"CASE WHEN t.partner_id IS NULL THEN NULL ELSE {mapped('partner_id')} END"
            ),
            "created_at": earlier.format(c="created_at"),
            "updated_at": earlier.format(c="updated_at"),
        },
        first,
        last,
    )
    clone_table(
        "referrals_referral_observers",
        of_template,
        {"id": "", "referral_id": mapped("referral_id")},
        first,
        last,
    )
    for table, dated in (
        ("referrals_partnerdisclosure", "recorded_at"),
        ("referrals_report", "written_at"),
        ("referrals_transition", "at"),
        ("consent_consent", "recorded_at"),
    ):
        clone_table(
            table,
            of_template,
            {
                "id": mapped("id"),
                "referral_id": mapped("referral_id"),
                dated: earlier.format(c=dated),
            },
            first,
            last,
        )
    # Events: each recipient's feed continues from its counter, gap-free.
    cols = columns("referrals_event")
    override = {
        "id": mapped("id"),
        "referral_id": mapped("referral_id"),
        "position": "c.last_position + row_number() OVER (PARTITION BY t.recipient_id "
        "ORDER BY i, t.position)",
    }
    execute(
        f"INSERT INTO referrals_event ({', '.join(cols)}) "  # noqa: S608
        f"SELECT {', '.join(override.get(c, f't.{c}') for c in cols)} "
        f"FROM referrals_event t JOIN referrals_feedcounter c ON c.agency_id = t.recipient_id, "
        f"generate_series({first}, {last}) i WHERE {of_template}"
    )
    execute(
        "UPDATE referrals_feedcounter c SET last_position = "
        "(SELECT max(position) FROM referrals_event e WHERE e.recipient_id = c.agency_id) "
        "WHERE EXISTS (SELECT 1 FROM referrals_event e WHERE e.recipient_id = c.agency_id)"
    )
    execute("ANALYZE")
    return scalar("SELECT count(*) FROM referrals_referral")


def grow_records(factor: int) -> int:
    """Each generated record (bench_audit's) copied `factor`-1 more times with new ids, a few
    seconds later, with its index entries: indexes dropped and rebuilt around it, as
    bench_audit fills."""
    if factor <= 1:
        return scalar("SELECT count(*) FROM audit_accessrecord")
    indexes = bench_audit.secondary_indexes()
    constraints = bench_audit.entry_unique_constraints()
    bench_audit.drop_indexes(list(indexes))
    for name in constraints:
        execute(f'ALTER TABLE audit_accessindexentry DROP CONSTRAINT "{name}"')
    execute("SET maintenance_work_mem = '512MB'")
    execute("SET session_replication_role = replica")
    execute(
        "CREATE TEMPORARY TABLE bench_src AS SELECT id FROM audit_accessrecord "
        "WHERE request_id LIKE 'bench-%'"
    )
    record_cols = columns("audit_accessrecord")
    override = {
        "id": "md5(t.id::text || ':' || k)::uuid",
        "at": "t.at + k * interval '3 seconds'",
        "request_id": "t.request_id || '-' || k",
    }
    execute(
        f"INSERT INTO audit_accessrecord ({', '.join(record_cols)}) "  # noqa: S608
        f"SELECT {', '.join(override.get(c, f't.{c}') for c in record_cols)} "
        f"FROM audit_accessrecord t JOIN bench_src s ON s.id = t.id, "
        f"generate_series(1, {factor - 1}) k ORDER BY 2"
    )
    entry_cols = [c for c in columns("audit_accessindexentry") if c != "id"]
    override = {
        "record_id": "md5(t.record_id::text || ':' || k)::uuid",
        "at": "t.at + k * interval '3 seconds'",
    }
    execute(
        f"INSERT INTO audit_accessindexentry ({', '.join(entry_cols)}) "  # noqa: S608
        f"SELECT {', '.join(override.get(c, f't.{c}') for c in entry_cols)} "
        f"FROM audit_accessindexentry t JOIN bench_src s ON s.id = t.record_id, "
        f"generate_series(1, {factor - 1}) k"
    )
    for sql in indexes.values():
        execute(sql)
    for name, definition in constraints.items():
        execute(f'ALTER TABLE audit_accessindexentry ADD CONSTRAINT "{name}" {definition}')
    execute("DROP TABLE bench_src")
    execute("RESET ALL")
    execute("ANALYZE")
    return scalar("SELECT count(*) FROM audit_accessrecord")


def settle() -> None:
    """The database as it would be in service, before anything is measured: a bulk load leaves
    autovacuum to visit millions of new rows and a checkpoint to write them, and either would
    run during the measurement that follows (the first reads also set the rows' hint bits).
    Measured without this, the read at a million records ran beside that upkeep."""
    execute("VACUUM (ANALYZE)")
    execute("CHECKPOINT")


# --- The server and the load --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def app_server(name: str):
    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}",
        "SECRET_KEY": secrets.token_hex(32),
        "DEBUG": "0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", "2"),
        "GUNICORN_THREADS": os.environ.get("GUNICORN_THREADS", "4"),
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "LOG_LEVEL": "WARNING",
        **RAISED_LIMITS,
    }
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("@", f":{db['PASSWORD']}@", 1)
    process = subprocess.Popen(  # noqa: S603 (a fixed command line)
        [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "hub.wsgi"], cwd=BASE_DIR, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(200):
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


class Load:
    """The load generator's process (bench/load.py): one spec in, one result out."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.load"],
            cwd=BASE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        if not (self.process.stdin and self.process.stdout):
            raise SystemExit("the load generator has no pipes")
        self.process.stdin.write(json.dumps(spec) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("the load generator stopped")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def token_of(client: dict) -> str:
    import base64

    return base64.b64encode(f"{client['client_id']}:{client['secret']}".encode()).decode()


def bearer(base: str, client: dict) -> dict[str, str]:
    import httpx

    got = httpx.post(
        base + "/o/token/",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {token_of(client)}"},
    )
    got.raise_for_status()
    return {"Authorization": f"Bearer {got.json()['access_token']}"}


def scenarios(base: str, world: dict[str, Any], audit_world: Any) -> dict[str, Any]:
    """Scenario -> (hub spec, baseline spec), less concurrency and timing."""
    ag, clients = world["agencies"], world["clients"]
    pp1, p1 = str(ag["pp1"].id), str(ag["p1"].id)
    provider_refs = [
        str(r) for r in ag["pp1"].referrals_run.order_by("?").values_list("id", flat=True)[:2000]
    ]
    referrer_refs = [
        str(r)
        for r in ag["p1"]
        .referrals_made.filter(status__in=["submitted", "assessment"])
        # Never one the baseline's bare insert made: it stores the body unchecked (a risk
        # tool as sent, "DASH"), which the hub's amendment then rightly refuses.
        .exclude(created_by_client="bench")
        .order_by("?")
        .values_list("id", flat=True)[:64]
    ]
    hub_pp1, hub_p1 = bearer(base, clients["pp1"]), bearer(base, clients["p1"])
    last = scalar(
        "SELECT last_position FROM referrals_feedcounter WHERE agency_id = %s", [ag["pp1"].id]
    )
    afters = [int(last * k / 200) for k in range(180)]
    # The DPO search (bench_audit's records and agencies): the hub operator's DPO.
    operator = next(a for a in audit_world.agencies if a.kind == AgencyKind.HUB_OPERATOR)
    dpo = bearer(base, issue(operator, None, purposes=[]))
    dpo["X-Purpose"] = "audit"
    people = SEARCHED_PEOPLE
    agencies = [str(a.id) for a in audit_world.agencies if a.kind != AgencyKind.HUB_OPERATOR]
    middle = audit_world.start + timedelta(days=180)
    weeks = [
        (
            (middle + timedelta(days=d)).isoformat().replace("+00:00", "Z"),
            (middle + timedelta(days=d + 7)).isoformat().replace("+00:00", "Z"),
        )
        for d in range(0, 120, 3)
    ]
    op = f"agency_reader={operator.id}"
    from urllib.parse import quote

    body = referral_body(world["programmes"]["pp1"].id, 0, partner_service=str(ag["vs"].id))
    return {
        "read": (
            {
                "kind": "get",
                "headers": hub_pp1,
                "paths": [f"/api/v1/referrals/{r}/" for r in provider_refs],
            },
            {
                "kind": "get",
                "paths": [f"/bench/referrals/{r}/?agency={pp1}" for r in provider_refs],
            },
        ),
        "list50": (
            {"kind": "get", "headers": hub_pp1, "paths": ["/api/v1/referrals/?page_size=50"]},
            {"kind": "get", "paths": [f"/bench/referrals/?agency={pp1}&page_size=50"]},
        ),
        "create": (
            {"kind": "create", "headers": hub_p1, "path": "/api/v1/referrals/", "body": body},
            {"kind": "create", "path": f"/bench/referrals/?agency={p1}", "body": body},
        ),
        "amend": (
            {
                "kind": "amend",
                "headers": hub_p1,
                "levels": ["medium", "high", "standard"],
                "paths": [f"/api/v1/referrals/{r}/" for r in referrer_refs[:32]],
            },
            {
                "kind": "amend",
                "levels": ["medium", "high", "standard"],
                "paths": [f"/bench/referrals/{r}/?agency={p1}" for r in referrer_refs[32:]],
            },
        ),
        "withdraw_read": "pools",
        "events100": (
            {
                "kind": "get",
                "headers": hub_pp1,
                "paths": [f"/api/v1/events/?after={a}&page_size=100" for a in afters],
            },
            {
                "kind": "get",
                "paths": [f"/bench/events/?agency={pp1}&after={a}&page_size=100" for a in afters],
            },
        ),
        "token": (
            {
                "kind": "token",
                "path": "/o/token/",
                "headers": {"Authorization": f"Basic {token_of(clients['p2'])}"},
            },
            {
                "kind": "token",
                "path": "/bench/token/",
                "headers": {"Authorization": f"Basic {token_of(clients['p2'])}"},
            },
        ),
        "dpo_person": (
            {
                "kind": "get",
                "headers": dpo,
                "paths": [f"/api/v1/audit/events/?person={p}" for p in people],
            },
            {"kind": "get", "paths": [f"/bench/audit/events/?{op}&person={p}" for p in people]},
        ),
        "dpo_agency": (
            {
                "kind": "get",
                "headers": dpo,
                "paths": [f"/api/v1/audit/events/?agency={a}" for a in agencies],
            },
            {"kind": "get", "paths": [f"/bench/audit/events/?{op}&agency={a}" for a in agencies]},
        ),
        "dpo_week": (
            {
                "kind": "get",
                "headers": dpo,
                "paths": [f"/api/v1/audit/events/?from={quote(f)}&to={quote(t)}" for f, t in weeks],
            },
            {
                "kind": "get",
                "paths": [
                    f"/bench/audit/events/?{op}&from={quote(f)}&to={quote(t)}" for f, t in weeks
                ],
            },
        ),
    }


def withdraw_pools(world: dict[str, Any], runs: int) -> list[list[list[list[str]]]]:
    """Unwithdrawn consents recorded by p1, shared out: one pool per run, alternately for the
    hub (withdrawn by p1's client) and for the baseline; returned as (hub, baseline) pairs."""
    from consent.models import Consent

    p1 = str(world["agencies"]["p1"].id)
    rows = list(
        Consent.objects.filter(recorded_by=world["agencies"]["p1"], withdrawn_at__isnull=True)
        .order_by("?")
        .values_list("id", "referral_id")
    )
    size = len(rows) // runs
    pools = []
    for n in range(runs):
        chunk = rows[n * size : (n + 1) * size]
        if n % 2 == 0:
            pools.append(
                [[f"/api/v1/consents/{c}/withdraw/", f"/api/v1/referrals/{r}/"] for c, r in chunk]
            )
        else:
            pools.append(
                [
                    [
                        f"/bench/consents/{c}/withdraw/?agency={p1}",
                        f"/bench/referrals/{r}/?agency={p1}",
                    ]
                    for c, r in chunk
                ]
            )
    return [pools[k : k + 2] for k in range(0, len(pools) - 1, 2)]


def compare(
    load: Load, base: str, name: str, pair: tuple[dict, dict], clients: int, pools: Any = None
) -> dict[str, Any]:
    """Hub and baseline alternated (the first of each round alternates too), ROUNDS rounds."""
    rounds = []
    for n in range(ROUNDS):
        runs: dict[str, Any] = {}
        order = ("hub", "baseline") if n % 2 == 0 else ("baseline", "hub")
        for side in order:
            spec = dict(pair[0] if side == "hub" else pair[1])
            if pools is not None:
                spec["pool"] = pools[n][0 if side == "hub" else 1]
            spec.update(base=base, concurrency=clients, seconds=SECONDS, warmup=WARMUP)
            runs[side] = load.run(spec)
        hub, bare = runs["hub"], runs["baseline"]
        runs["ratio"] = hub["throughput"] / bare["throughput"] if bare["throughput"] else None
        rounds.append(runs)
        print(
            f"    {name:<14} {clients:>2} clients round {n + 1}: hub {hub['throughput']:7.1f}/s "
            f"p99 {hub['p99']:6.1f} ms, baseline {bare['throughput']:7.1f}/s, ratio "
            f"{runs['ratio'] or 0:.2f}"
            + (f"  ERRORS hub {hub['errors']} {hub['error_sample'][:120]}" if hub["errors"] else "")
            + (
                f"  ERRORS base {bare['errors']} {bare['error_sample'][:120]}"
                if bare["errors"]
                else ""
            ),
            flush=True,
        )
    return summarise(name, clients, rounds)


def summarise(name: str, clients: int, rounds: list[dict]) -> dict[str, Any]:
    def med(side: str, key: str) -> float:
        return statistics.median(r[side][key] for r in rounds)

    ratios = [r["ratio"] for r in rounds if r["ratio"]]
    return {
        "scenario": name,
        "clients": clients,
        "hub": {k: med("hub", k) for k in ("throughput", "p50", "p95", "p99")},
        "baseline": {k: med("baseline", k) for k in ("throughput", "p50", "p95", "p99")},
        "ratio": statistics.median(ratios) if ratios else None,
        "ratio_min": min(ratios) if ratios else None,
        "ratio_max": max(ratios) if ratios else None,
        "errors": sum(r["hub"]["errors"] + r["baseline"]["errors"] for r in rounds),
        "rounds": rounds,
    }


# --- Sealing and verifying ------------------------------------------------------------------------


# --- Output ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": version("gunicorn"),
        "httpx": version("httpx"),
        "postgres": scalar("SHOW server_version"),
    }


def fmt(v: Any, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def table(results: list[dict], title: str) -> str:
    lines = [
        f"\n{title}",
        "| scenario | clients | hub req/s | base req/s | ratio (min-max) | hub p50 / p95 / p99 ms "
        "| base p50 / p95 / p99 ms |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for r in results:
        h, b = r["hub"], r["baseline"]
        lines.append(
            f"| {r['scenario']} | {r['clients']} | {fmt(h['throughput'])} | "
            f"{fmt(b['throughput'])} | {fmt(r['ratio'], '.2f')} ({fmt(r['ratio_min'], '.2f')}-"
            f"{fmt(r['ratio_max'], '.2f')}) | {fmt(h['p50'])} / {fmt(h['p95'])} / "
            f"{fmt(h['p99'])} | {fmt(b['p50'])} / {fmt(b['p95'])} / {fmt(b['p99'])} |"
            # A request that failed measured nothing: such a row is not a result.
            + (f" **{r['errors']} requests failed** |" if r["errors"] else "")
        )
    return "\n".join(lines)


def targets(results: list[dict], audit: dict[str, Any]) -> list[tuple[str, bool, str]]:
    def find(name: str, clients: int) -> dict | None:
        return next((r for r in results if r["scenario"] == name and r["clients"] == clients), None)

    out = []
    top = max(CLIENTS)
    read = find("read", top)
    if read:
        out.append(
            (
                f"read >= 70% of baseline throughput at {top} clients",
                (read["ratio"] or 0) >= 0.7,
                fmt(read["ratio"], ".2f"),
            )
        )
        out.append(
            (
                f"read p99 <= 50 ms at {top} clients",
                read["hub"]["p99"] <= 50,
                f"{read['hub']['p99']:.1f} ms",
            )
        )
    creates = [r for r in results if r["scenario"] == "create"]
    if creates:
        worst = min(r["ratio"] or 0 for r in creates)
        out.append(
            (
                "create >= 60% of bare insert (every client count)",
                worst >= 0.6,
                f"worst {worst:.2f}",
            )
        )
    for name in ("dpo_person", "dpo_agency", "dpo_week"):
        one = find(name, 1)
        if one:
            out.append(
                (
                    f"{name} median <= 100 ms (1 client)",
                    one["hub"]["p50"] <= 100,
                    f"{one['hub']['p50']:.1f} ms",
                )
            )
    if audit:
        rate = audit["verify_records_per_s"]
        out.append(("audit_verify >= 200,000 records/s", rate >= 200_000, f"{rate:,.0f}/s"))
    return out


# --- The run --------------------------------------------------------------------------------------


def run(name: str) -> dict[str, Any]:
    load_before = os.getloadavg()
    small_refs, small_recs = max(REFERRALS // SMALL, TEMPLATES), max(RECORDS // SMALL, 1000)
    fill: dict[str, float] = {}
    print(f"Fill, small stage ({small_refs:,} referrals, {small_recs:,} records):")
    bench_audit.RECORDS = small_recs
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        audit_world = bench_audit.fill(bench_audit.Dialect("postgresql"), bench_audit.Clock())
    fill["records_small"] = time.perf_counter() - start
    print(f"  access records and index entries ... {fill['records_small']:.1f} s")
    world, fill["seed"] = timed("agencies, clients, agreements, templates", seed)
    _, fill["clone_small"] = timed(
        "cloning referrals", lambda: clone(world["templates"], small_refs, TEMPLATES)
    )
    pick_searched_people()
    link_searched_people(world)
    scaling: dict[str, Any] = {}
    load = Load()
    try:
        for stage in ("small", "large"):
            if stage == "large":
                print(f"Grow to {REFERRALS:,} referrals and {RECORDS:,} records:")
                have = scalar("SELECT count(*) FROM referrals_referral")
                _, fill["clone_large"] = timed(
                    "cloning referrals",
                    lambda have=have: clone(world["templates"], REFERRALS, have),
                )
                _, fill["records_large"] = timed(
                    "copying access records", lambda: grow_records(RECORDS // small_recs)
                )
                link_searched_people(world)
            _, fill[f"settle_{stage}"] = timed("vacuum, analyze and checkpoint", settle)
            counts = {
                "referrals": scalar("SELECT count(*) FROM referrals_referral"),
                "records": scalar("SELECT count(*) FROM audit_accessrecord"),
                "index_entries": scalar("SELECT count(*) FROM audit_accessindexentry"),
                "events": scalar("SELECT count(*) FROM referrals_event"),
                "consents": scalar("SELECT count(*) FROM consent_consent"),
            }
            print(f"  {stage}: {counts}")
            connection.close()
            with app_server(name) as base:
                specs = scenarios(base, world, audit_world)
                print(f"Scaling ({stage}), {SCALING_CLIENTS} clients:")
                scaling[stage] = {
                    "counts": counts,
                    "results": [
                        compare(load, base, s, specs[s], SCALING_CLIENTS)
                        for s in ("read", "list50", "dpo_person")
                    ],
                }
                if stage == "small":
                    continue
                chosen = os.environ.get("BENCH_SCENARIOS", "")
                names = [s for s in specs if not chosen or s in chosen.split(",")]
                all_pools = withdraw_pools(world, 2 * ROUNDS * len(CLIENTS))
                results = []
                print("Scenarios:")
                for s in names:
                    # Fresh tokens for each scenario: a whole run outlasts a token's lifetime
                    # (ACCESS_TOKEN_SECONDS, 15 minutes), and an expired one only measures 401s.
                    specs = scenarios(base, world, audit_world)
                    for clients in CLIENTS:
                        if specs[s] == "pools":
                            pair = (
                                {
                                    "kind": "withdraw_read",
                                    "headers": bearer(base, world["clients"]["p1"]),
                                },
                                {"kind": "withdraw_read"},
                            )
                            k = CLIENTS.index(clients) * ROUNDS
                            pools = all_pools[k : k + ROUNDS]
                            results.append(compare(load, base, s, pair, clients, pools))
                        else:
                            results.append(compare(load, base, s, specs[s], clients))
    finally:
        load.close()
    data = {
        "when": datetime.now(UTC).isoformat(),
        "quick": QUICK,
        "machine": machine(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "config": {
            "referrals": REFERRALS,
            "records": RECORDS,
            "seconds": SECONDS,
            "warmup": WARMUP,
            "rounds": ROUNDS,
            "clients": CLIENTS,
            "gunicorn_workers": int(os.environ.get("GUNICORN_WORKERS", "2")),
            "gunicorn_threads": int(os.environ.get("GUNICORN_THREADS", "4")),
        },
        "fill_seconds": fill,
        "counts": scaling["large"]["counts"],
        "scaling": scaling,
        "results": results,
        "audit": None,
    }
    # Kept before the long seal and verify, in case the run is cut short there.
    partial = save(data, "-partial")
    print(f"Every figure so far: {partial.relative_to(BASE_DIR)}")
    print("Sealing and verifying:")
    data["audit"] = bench_chain.seal_and_verify()
    data["load_after"] = os.getloadavg()
    partial.unlink()
    return data


def save(data: dict[str, Any], suffix: str = "") -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"hub-{datetime.now(UTC):%Y%m%dT%H%M%SZ}{'-quick' if QUICK else ''}{suffix}.json"
    out = RESULTS / name
    out.write_text(json.dumps(data, indent=1, default=str) + "\n")
    return out


def report(data: dict[str, Any]) -> None:
    m = data["machine"]
    print(
        f"\n{m['cpus']} x {m['cpu_model']}; Python {m['python']}, Django {m['django']}, "
        f"gunicorn {m['gunicorn']}, PostgreSQL {m['postgres']}; load "
        f"{data['load_before'][0]:.2f} before, {data['load_after'][0]:.2f} after"
    )
    c = data["counts"]
    print(
        f"{'QUICK mode: ' if data['quick'] else ''}{c['referrals']:,} referrals, "
        f"{c['records']:,} access records, {c['index_entries']:,} index entries; "
        f"{data['config']['rounds']} rounds of {data['config']['seconds']} s per side"
    )
    print(
        table(
            data["results"],
            "Hub vs baseline (medians of the rounds; ratio = hub/baseline throughput)",
        )
    )
    for stage in ("small", "large"):
        s = data["scaling"][stage]
        print(
            table(
                s["results"],
                f"Scaling, {stage}: {s['counts']['referrals']:,} referrals, "
                f"{s['counts']['records']:,} records",
            )
        )
    a = data["audit"]
    print(
        f"\naudit_seal: {a['sealed_records']:,} records in {a['seal_seconds']:.1f} s "
        f"({a['seal_records_per_s']:,.0f}/s); audit_verify: {a['records']:,} records in "
        f"{a['verify_seconds']:.1f} s ({a['verify_records_per_s']:,.0f}/s)"
    )
    print("\nTargets:")
    for label, met, value in targets(data["results"], a):
        print(f"  [{'met' if met else 'NOT met'}] {label}: {value}")


def main() -> int:
    if connection.vendor != "postgresql":
        print(
            "bench_hub: skipped. The hub bench needs PostgreSQL: set "
            "DATABASE_URL=postgres://USER@HOST:PORT/NAME (it creates and drops its own "
            "throwaway database beside NAME)."
        )
        return 0
    with bench_audit.throwaway_database() as name:
        data = run(name)
        report(data)
        out = save(data)
        print(f"\nEvery figure: {out.relative_to(BASE_DIR)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
