"""Times the DPO search (GET /api/v1/audit/events/) over many access records, with the audit
indexes and then without them, in the same run: the baseline a performance claim needs.

Run by `make bench`. It never touches the configured database: like Django's test runner it
creates a throwaway one beside it (PostgreSQL `hub_bench_<random>`, or an SQLite file in a fresh
temporary directory), and destroys it at the end whatever happens. That matters here: access
records are append-only (audit/protection.py), so fake records written anywhere else could
never be removed.

Environment: DATABASE_URL (as for the hub: SQLite when unset), BENCH_RECORDS (default
1,000,000), BENCH_RUNS (timed runs per query, default 5, after one warm-up), BENCH_MAX_MS (the
slowest first page allowed with the indexes, default 250), BENCH_DATABASE_PREFIX (the
PostgreSQL database's name before its random part, default hub_bench_). Exits 1 if a query is
slower.
"""

import json
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings_test")

import django  # noqa: E402

django.setup()

from django.db import DatabaseError, OperationalError, connection  # noqa: E402

from agencies.models import Agency, AgencyKind  # noqa: E402
from audit.models import AccessIndexEntry, AccessRecord  # noqa: E402
from audit.selectors import Reader, record_search  # noqa: E402
from audit.services import index_entries_of  # noqa: E402

RECORDS = int(os.environ.get("BENCH_RECORDS") or 1_000_000)
RUNS = int(os.environ.get("BENCH_RUNS") or 5)
MAX_MS = float(os.environ.get("BENCH_MAX_MS") or 250)
# A throwaway PostgreSQL database is named this, then random hex (where only some names may be
# created, say which).
DATABASE_PREFIX = os.environ.get("BENCH_DATABASE_PREFIX") or "hub_bench_"
# As the view reads it: one page of 50, plus one to know whether there is a next page.
PAGE = 51
NEWEST_FIRST = ("-at", "-id")
# A query whose warm-up takes longer than this is timed three times, not BENCH_RUNS times.
SLOW_WARM_UP_MS = 1000
# A baseline query that takes longer than this is cut short (PostgreSQL) and shown as such.
BASELINE_TIMEOUT_S = 60
SPAN_SECONDS = 365 * 86400 - 60
RECORD_TABLE = AccessRecord._meta.db_table
ENTRY_TABLE = AccessIndexEntry._meta.db_table
# The indexes the search's filters rely on: every index the models name (not the primary keys,
# the unique constraints, nor the plain `at` index Django adds for db_index=True).
SEARCH_INDEXES = [i.name for i in AccessRecord._meta.indexes + AccessIndexEntry._meta.indexes]

# Pseudo-random but reproducible draws, computed alike by both databases and by Python:
# h(x, k) = (x * MULT[k] + ADD[k]) mod a prime below 2**31 (no overflow in 64-bit integers).
# Large multipliers, so that even the first records wrap around the prime at every step and
# draws of different k are not correlated.
PRIME = 2_147_483_647
MULT = [pow(48271, k + 3, PRIME) for k in range(13)]
ADD = [k * 7_919 + 13 for k in range(len(MULT))]

# What each uuid is of (its second group), so that ids of different things never collide.
REFERRAL, MAN, PARTNER, STAFF, RECORD = 1, 2, 3, 4, 9

AGENCIES = [
    (AgencyKind.HUB_OPERATOR, 1),
    (AgencyKind.COURT, 3),
    (AgencyKind.PROBATION, 4),
    (AgencyKind.POLICE, 4),
    (AgencyKind.CHILDREN_SERVICES, 1),
    (AgencyKind.MARAC, 1),
    (AgencyKind.PROGRAMME_PROVIDER, 3),
    (AgencyKind.VICTIM_SERVICE, 3),
]
REFERRER_KINDS = (
    AgencyKind.COURT,
    AgencyKind.PROBATION,
    AgencyKind.POLICE,
    AgencyKind.CHILDREN_SERVICES,
    AgencyKind.MARAC,
)
OTHER_KINDS = (AgencyKind.POLICE, AgencyKind.MARAC, AgencyKind.CHILDREN_SERVICES)
# Who requested a record about a referral: its provider, referrer, victim service, or another
# agency (police, MARAC, children's services, the hub operator); ANY_ROLE for other requests.
PROVIDER_ROLE, REFERRER_ROLE, VICTIM_ROLE, OTHER_ROLE, ANY_ROLE = 0, 1, 2, 3, 4
STAFF_PER_AGENCY = 25

SUBJECT = ["referral.admin", "subject.identity", "offence", "risk"]
PARTNER_CATEGORIES = ["partner.identity", "partner.contact", "partner.disclosures", "children"]
# What a request of each role discloses (four agreements each): (role, n) -> (disclosed,
# withheld as {category: reason}, whether a victim service supplied part of it).
PROFILES: dict[tuple[int, int], tuple[list[str], dict[str, str], bool]] = {}
for n in range(4):
    PROFILES[PROVIDER_ROLE, n] = (
        sorted([*SUBJECT[: 2 + n % 3], "programme.progress"]),
        dict.fromkeys(PARTNER_CATEGORIES, "victim_confidential"),
        False,
    )
    PROFILES[REFERRER_ROLE, n] = (
        sorted(SUBJECT + ["programme.progress"] + (PARTNER_CATEGORIES[:2] if n < 2 else [])),
        {} if n < 2 else {"partner.contact": "no_agreement"},
        n < 2,
    )
    PROFILES[VICTIM_ROLE, n] = (
        sorted(SUBJECT[:2] + PARTNER_CATEGORIES[: 2 + n % 3]),
        {"offence": "no_agreement"} if n % 2 else {},
        False,
    )
    PROFILES[OTHER_ROLE, n] = (
        sorted(SUBJECT[1:] + PARTNER_CATEGORIES[n % 2 : 2 + n % 2]),
        {"subject.contact": "no_consent"},
        True,
    )


def h(x: int, k: int) -> int:
    return (x * MULT[k] + ADD[k]) % PRIME


def fake_uuid(what: int, n: int) -> str:
    """The text of the n-th fake uuid of this kind, as the SQL below builds it."""
    return f"{h(n, what):08x}-{what:04x}-4000-8000-{n:012x}"


@dataclass(frozen=True)
class Dialect:
    """The few SQL spellings that differ between PostgreSQL and SQLite."""

    vendor: str

    @property
    def pg(self) -> bool:
        return self.vendor == "postgresql"

    def series(self, n: int) -> str:
        if self.pg:
            return f"g AS (SELECT i FROM generate_series(1, CAST({n} AS bigint)) AS i)"  # noqa: S608
        return f"g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n})"  # noqa: S608

    @property
    def materialized(self) -> str:
        # Else SQLite's planner loops over the generated series inside the small tables' scans.
        return "" if self.pg else "MATERIALIZED "

    def hex(self, expr: str, width: int) -> str:
        if self.pg:
            return f"lpad(to_hex({expr}), {width}, '0')"
        return f"printf('%0{width}x', {expr})"

    def uuid(self, what: int, n: str) -> str:
        """SQL for fake_uuid(what, n)."""
        k = MULT[what], ADD[what]
        head = self.hex(f"(CAST({n} AS bigint) * {k[0]} + {k[1]}) % {PRIME}", 8)
        return f"{head} || '-{what:04x}-4000-8000-' || {self.hex(n, 12)}"

    def uuid_column(self, text: str) -> str:
        # Django keeps a UUIDField as uuid on PostgreSQL and as 32 hex digits on SQLite.
        return f"({text})::uuid" if self.pg else f"replace({text}, '-', '')"

    def json(self, text: str) -> str:
        return f"({text})::jsonb" if self.pg else text

    def inet(self, text: str) -> str:
        return f"({text})::inet" if self.pg else text

    def at(self, start: datetime, seconds: str) -> str:
        if self.pg:
            return f"'{start.isoformat()}'::timestamptz + ({seconds}) * interval '1 second'"
        return f"datetime('{start:%Y-%m-%d %H:%M:%S}', '+' || ({seconds}) || ' seconds')"


def draw(k: int, x: str = "i") -> str:
    return f"((CAST({x} AS bigint) * {MULT[k]} + {ADD[k]}) % {PRIME})"


def execute(sql: str, params: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def scalar(sql: str, params: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


class Clock:
    """Prints how long each phase took."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.phases: list[tuple[str, float]] = []

    def phase(self, name: str, action: Callable[[], Any]) -> Any:
        print(f"  {name} ...", end="", flush=True)
        start = time.perf_counter()
        result = action()
        took = time.perf_counter() - start
        self.phases.append((name, took))
        print(f" {took:.1f} s", flush=True)
        return result

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started


# --- The throwaway database ------------------------------------------------------------------


def bench_database_name(tmp: Path) -> str:
    if connection.vendor == "postgresql":
        return f"{DATABASE_PREFIX}{secrets.token_hex(4)}"
    if connection.vendor == "sqlite":
        return str(tmp / "hub_bench.sqlite3")
    raise SystemExit(f"bench_audit knows PostgreSQL and SQLite, not {connection.vendor}.")


def check_on_bench_database(name: str) -> None:
    """Refuses to write anything unless the connection really is on the throwaway database."""
    if connection.vendor == "postgresql":
        current = scalar("SELECT current_database()")
    else:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA database_list")
            current = next(row[2] for row in cursor.fetchall() if row[1] == "main")
    if current != name:
        raise SystemExit(f"Connected to {current!r}, not the bench database {name!r}: stopping.")


# --- Filling it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    agencies: list[Agency]
    parties: dict[int, list[Agency]]
    referrals: int
    start: datetime


def create_agencies(dialect: Dialect) -> World:
    agencies = []
    for kind, count in AGENCIES:
        for number in range(1, count + 1):
            agencies.append(Agency(name=f"Bench {kind.label} {number}", kind=kind))
    Agency.objects.bulk_create(agencies)
    by_kind = {kind: [a for a in agencies if a.kind == kind] for kind, _ in AGENCIES}
    parties = {
        PROVIDER_ROLE: by_kind[AgencyKind.PROGRAMME_PROVIDER],
        REFERRER_ROLE: [a for k in REFERRER_KINDS for a in by_kind[k]],
        VICTIM_ROLE: by_kind[AgencyKind.VICTIM_SERVICE],
        OTHER_ROLE: [a for k in OTHER_KINDS for a in by_kind[k]],
        ANY_ROLE: [a for a in agencies if a.kind != AgencyKind.HUB_OPERATOR],
    }
    uuid_type = "uuid" if dialect.pg else "char(32)"
    execute(
        f"CREATE TEMPORARY TABLE bench_agency (n integer PRIMARY KEY, db_id {uuid_type}, "
        "ref varchar(36), kind varchar(32), client0 varchar(100), client1 varchar(100))"
    )
    execute(
        "CREATE TEMPORARY TABLE bench_party (role integer, k integer, n integer, ref varchar(36), "
        "PRIMARY KEY (role, k))"
    )
    execute(
        "CREATE TEMPORARY TABLE bench_profile (role integer, k integer, disclosed text, "
        "withheld text, partner integer, PRIMARY KEY (role, k))"
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_agency VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (
                    n,
                    str(a.id) if dialect.pg else a.id.hex,
                    str(a.id),
                    a.kind,
                    # OAuth client ids look like this: 40 random-looking characters.
                    f"{h(2 * n, 5):010d}{a.id.hex[:30]}",
                    f"{h(2 * n + 1, 5):010d}{a.id.hex[2:32]}",
                )
                for n, a in enumerate(agencies)
            ],
        )
        cursor.executemany(
            "INSERT INTO bench_party VALUES (%s, %s, %s, %s)",
            [
                (role, k, agencies.index(a), str(a.id))
                for role, members in parties.items()
                for k, a in enumerate(members)
            ],
        )
        cursor.executemany(
            "INSERT INTO bench_profile VALUES (%s, %s, %s, %s, %s)",
            [
                (
                    role,
                    k,
                    json.dumps(disclosed),
                    json.dumps([{"category": c, "reason": r} for c, r in sorted(withheld.items())]),
                    int(partner),
                )
                for (role, k), (disclosed, withheld, partner) in PROFILES.items()
            ],
        )
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)
    return World(agencies, parties, referrals=max(RECORDS // 20, 50), start=start)


def party_of(world: World, role: int, r: int) -> Agency:
    """The referral's agency in this role, as the SQL below picks it."""
    members = world.parties[role]
    divisor = {REFERRER_ROLE: 1, PROVIDER_ROLE: 13, VICTIM_ROLE: 7}[role]
    return members[(r // divisor) % len(members)]


def fill_records(dialect: Dialect, world: World) -> int:
    """One INSERT ... SELECT over a generated series: the records of a year, in time order
    (as they are appended), about 90% of them about one referral."""
    d = dialect
    p = world.parties
    operator = next(n for n, a in enumerate(world.agencies) if a.kind == AgencyKind.HUB_OPERATOR)
    ref_uuid = d.uuid(REFERRAL, "r")
    man, partner = d.uuid(MAN, "r"), d.uuid(PARTNER, "r")
    staff = d.uuid(STAFF, "req_n * 100 + staff_n")

    def basis(supplier: str) -> str:
        return (
            '\'{"category": "referral.admin", "lawful_basis": "public_task", '
            '"agreement": null, "agreement_version": 1, "consent": null, '
            f'"supplier": "\' || {supplier} || \'"}}\''
        )

    # Suppliers are never the requester: that would repeat the requester's own index entry.
    s1 = "CASE WHEN req_role = 1 THEN prov_ref WHEN referrer_n <> req_n THEN referrer_ref END"
    s2 = "CASE WHEN req_role = 3 OR (req_role = 1 AND pf.partner = 1) THEN victim_ref END"
    bases = (
        f"COALESCE({basis('s1')}, '') "
        "|| CASE WHEN s1 IS NOT NULL AND s2 IS NOT NULL THEN ', ' ELSE '' END "
        f"|| COALESCE({basis('s2')}, '')"
    )
    referrals = d.json(f"CASE WHEN served_referral THEN '[\"' || {ref_uuid} || '\"]' ELSE '[]' END")
    persons = d.json(
        "CASE WHEN NOT served_referral THEN '[]' "
        f"WHEN req_role = 0 THEN '[\"' || {man} || '\"]' "
        f"ELSE '[\"' || {man} || '\", \"' || {partner} || '\"]' END"
    )
    disclosed = d.json("CASE WHEN served_referral THEN pf_disclosed ELSE '[]' END")
    withheld = d.json("CASE WHEN served_referral THEN pf_withheld ELSE '[]' END")
    decisions = d.json(
        "CASE WHEN served_referral THEN "
        f'\'[{{"referral": "\' || {ref_uuid} || \'", "disclosed": \' || pf_disclosed '
        "|| ', \"withheld\": ' || pf_withheld "
        f"|| ', \"bases\": [' || {bases} || ']}}]' ELSE '[]' END"
    )
    ip = d.inet("'10.' || req_n || '.' || (i % 250) || '.' || (i % 7 + 1)")
    # Every piece interpolated below is built here from constants: no outside input.
    sql = f"""
    INSERT INTO {RECORD_TABLE} (
        id, at, agency_id, agency_ref, agency_kind, client, person, purpose, justification,
        flagged, method, path, query, status, outcome, ip, request_id,
        referrals, persons, disclosed, withheld, decisions, tried
    )
    WITH RECURSIVE {d.series(RECORDS)},
    draws AS {d.materialized}(
        SELECT i,
            {draw(1)} % 100 < 90 AS about_referral,
            {draw(2)} % {world.referrals} AS r,
            {draw(3)} % 100 AS who,
            {draw(4)} % 100 AS purpose_draw,
            {draw(5)} % 1000 AS outcome_draw,
            {draw(6)} % 100 AS staff_draw,
            {draw(7)} % {STAFF_PER_AGENCY} AS staff_n,
            {draw(8)} % 4 AS profile_n,
            {draw(10)} % {len(p[ANY_ROLE])} AS any_n,
            {draw(11)} % 2 AS client_n,
            {draw(12)} % 20 AS jitter
        FROM g
    ),
    requests AS {d.materialized}(
        SELECT draws.*,
            refr.n AS referrer_n, refr.ref AS referrer_ref,
            prov.ref AS prov_ref, vic.ref AS victim_ref,
            CASE WHEN NOT about_referral THEN anyone.n
                 WHEN who < 45 THEN prov.n WHEN who < 72 THEN refr.n
                 WHEN who < 88 THEN vic.n WHEN who < 98 THEN other.n
                 ELSE {operator} END AS req_n,
            CASE WHEN who < 45 THEN 0 WHEN who < 72 THEN 1 WHEN who < 88 THEN 2
                 ELSE 3 END AS req_role,
            about_referral AND outcome_draw < 970 AS served_referral
        FROM draws
        JOIN bench_party refr ON refr.role = 1 AND refr.k = r % {len(p[REFERRER_ROLE])}
        JOIN bench_party prov ON prov.role = 0 AND prov.k = (r / 13) % {len(p[PROVIDER_ROLE])}
        JOIN bench_party vic ON vic.role = 2 AND vic.k = (r / 7) % {len(p[VICTIM_ROLE])}
        JOIN bench_party other ON other.role = 3 AND other.k = any_n % {len(p[OTHER_ROLE])}
        JOIN bench_party anyone ON anyone.role = 4 AND anyone.k = any_n
    ),
    supplied AS (
        SELECT requests.*, pf.disclosed AS pf_disclosed, pf.withheld AS pf_withheld,
            {s1} AS s1, {s2} AS s2
        FROM requests
        JOIN bench_profile pf ON pf.role = req_role AND pf.k = profile_n
    )
    SELECT
        {d.uuid_column(d.uuid(RECORD, "i"))},
        {d.at(world.start, f"i * {SPAN_SECONDS} / {RECORDS} + jitter")},
        a.db_id, a.ref, a.kind,
        CASE WHEN client_n = 0 THEN a.client0 ELSE a.client1 END,
        CASE WHEN staff_draw < 40 THEN {staff} ELSE '' END,
        CASE WHEN purpose_draw < 35 THEN 'programme_delivery'
             WHEN purpose_draw < 60 THEN 'risk_management'
             WHEN purpose_draw < 75 THEN 'partner_safety'
             WHEN purpose_draw < 87 THEN 'court_compliance'
             WHEN purpose_draw < 95 THEN 'marac' ELSE 'audit' END,
        CASE WHEN outcome_draw >= 965 AND outcome_draw < 970
             THEN 'Emergency release: risk to life reported' ELSE '' END,
        outcome_draw >= 965 AND outcome_draw < 985,
        CASE WHEN purpose_draw % 10 = 0 THEN 'POST' ELSE 'GET' END,
        CASE WHEN about_referral THEN '/api/v1/referrals/' || {ref_uuid} || '/'
             ELSE '/api/v1/referrals/' END,
        '',
        CASE WHEN outcome_draw < 970 THEN 200 WHEN outcome_draw < 985 THEN 404
             WHEN outcome_draw < 995 THEN 422 ELSE 500 END,
        CASE WHEN outcome_draw < 970 THEN 'served' WHEN outcome_draw < 995 THEN 'refused'
             ELSE 'failed' END,
        {ip},
        'bench-' || i,
        {referrals}, {persons}, {disclosed}, {withheld}, {decisions}, ''
    FROM supplied
    JOIN bench_agency a ON a.n = req_n
    """  # noqa: S608
    return execute(sql)


def fill_index_entries(dialect: Dialect) -> int:
    """The entries audit.services.index_entries_of derives from each record, derived here in
    SQL from the same fields. Inserted in the records' order, as the hub writes them: each
    record's entries side by side, in time order."""
    insert = "INSERT INTO audit_accessindexentry (record_id, kind, value, at) "
    if dialect.pg:
        selects = [
            "SELECT r.id, 'referral', v, r.at FROM audit_accessrecord r, "
            "jsonb_array_elements_text(r.referrals) v",
            "SELECT r.id, 'person', v, r.at FROM audit_accessrecord r, "
            "jsonb_array_elements_text(r.persons) v",
            "SELECT id, 'person', person, at FROM audit_accessrecord WHERE person <> ''",
            "SELECT r.id, 'category', v, r.at FROM audit_accessrecord r, "
            "jsonb_array_elements_text(r.disclosed) v",
            "SELECT id, 'agency', agency_ref, at FROM audit_accessrecord WHERE agency_ref <> ''",
            "SELECT r.id, 'agency', b ->> 'supplier', r.at FROM audit_accessrecord r, "
            "jsonb_array_elements(r.decisions) d, jsonb_array_elements(d -> 'bases') b "
            "WHERE b ->> 'supplier' IS NOT NULL",
        ]
    else:
        selects = [
            "SELECT r.id, 'referral', v.value, r.at FROM audit_accessrecord r, "
            "json_each(r.referrals) v",
            "SELECT r.id, 'person', v.value, r.at FROM audit_accessrecord r, "
            "json_each(r.persons) v",
            "SELECT id, 'person', person, at FROM audit_accessrecord WHERE person <> ''",
            "SELECT r.id, 'category', v.value, r.at FROM audit_accessrecord r, "
            "json_each(r.disclosed) v",
            "SELECT id, 'agency', agency_ref, at FROM audit_accessrecord WHERE agency_ref <> ''",
            "SELECT r.id, 'agency', json_extract(b.value, '$.supplier'), r.at "
            "FROM audit_accessrecord r, json_each(r.decisions) d, "
            "json_each(d.value, '$.bases') b WHERE json_extract(b.value, '$.supplier') IS NOT NULL",
        ]
    return execute(insert + " UNION ALL ".join(selects) + " ORDER BY 4, 1")


def secondary_indexes() -> dict[str, str]:
    """Name -> CREATE statement of every index of the two tables that is neither a primary key
    nor unique."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "WHERE t.relname IN (%s, %s) AND NOT x.indisprimary AND NOT x.indisunique",
                [RECORD_TABLE, ENTRY_TABLE],
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name IN (%s, %s) AND sql IS NOT NULL "
                "AND upper(sql) NOT LIKE 'CREATE UNIQUE%%'",
                [RECORD_TABLE, ENTRY_TABLE],
            )
        return dict(cursor.fetchall())


def entry_unique_constraints() -> dict[str, str]:
    """PostgreSQL: name -> definition of the index entries' unique constraints."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'u'",
            [ENTRY_TABLE],
        )
        return dict(cursor.fetchall())


def drop_indexes(names: list[str]) -> None:
    for name in names:
        execute(f'DROP INDEX "{name}"')


def fill(dialect: Dialect, clock: Clock) -> World:
    indexes = secondary_indexes()
    missing = sorted(set(SEARCH_INDEXES) - set(indexes))
    if missing:
        raise SystemExit(f"The migrated database lacks the models' indexes {missing}.")
    # Loading into unindexed tables and indexing once is much faster than indexing row by row.
    drop_indexes(list(indexes))
    constraints = entry_unique_constraints() if dialect.pg else {}
    for constraint in constraints:
        execute(f'ALTER TABLE {ENTRY_TABLE} DROP CONSTRAINT "{constraint}"')
    if dialect.pg:
        execute("SET maintenance_work_mem = '512MB'")
        execute("SET work_mem = '256MB'")
        # The rows are derived from rows just written: checking each foreign key would only
        # double the work. Needs a superuser; without one the checks simply run.
        try:
            execute("SET session_replication_role = replica")
        except DatabaseError as error:
            print(f"  (foreign keys are checked during the fill: {error})")
    else:
        execute("PRAGMA foreign_keys = OFF")
        execute("PRAGMA synchronous = OFF")
        execute("PRAGMA cache_size = -1000000")
    world = clock.phase("agencies", lambda: create_agencies(dialect))
    records = clock.phase("records", lambda: fill_records(dialect, world))
    entries = clock.phase("index entries", lambda: fill_index_entries(dialect))
    rebuild = [
        *indexes.values(),
        *(f'ALTER TABLE {ENTRY_TABLE} ADD CONSTRAINT "{c}" {d}' for c, d in constraints.items()),
    ]
    clock.phase(f"{len(rebuild)} indexes", lambda: [execute(sql) for sql in rebuild])
    clock.phase("analyze", lambda: execute("ANALYZE"))
    if dialect.pg:
        execute("RESET ALL")
    else:
        execute("PRAGMA foreign_keys = ON")
    # A fresh connection: the search is timed with the database's ordinary settings.
    connection.close()
    print(f"  {records:,} access records, {entries:,} index entries")
    return world


def check_entries_match(sample: int = 300) -> None:
    """The generated index entries are the ones the hub itself would write for each record."""
    records = list(AccessRecord.objects.order_by("id")[:sample])
    stored: dict[str, set[tuple[str, str]]] = {str(r.id): set() for r in records}
    for record_id, kind, value in AccessIndexEntry.objects.filter(
        record_id__in=[r.id for r in records]
    ).values_list("record_id", "kind", "value"):
        stored[str(record_id)].add((kind, value))
    for record in records:
        expected = {(str(e.kind), e.value) for e in index_entries_of(record)}
        if stored[str(record.id)] != expected:
            raise SystemExit(
                f"Record {record.id}: generated entries {sorted(stored[str(record.id)])} "
                f"differ from index_entries_of: {sorted(expected)}"
            )
    print(f"  index entries of {len(records)} sampled records match index_entries_of")


def describe() -> None:
    """How the generated records spread, to judge whether they look like a year of use."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COUNT(DISTINCT agency_id), COUNT(DISTINCT client), "
            "SUM(CASE WHEN flagged THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN outcome = 'refused' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END), MIN(at), MAX(at) "
            "FROM audit_accessrecord"
        )
        total, agencies, clients, flagged, refused, failed, first, last = cursor.fetchone()
        cursor.execute(
            "SELECT kind, COUNT(*), COUNT(DISTINCT value) FROM audit_accessindexentry "
            "GROUP BY kind ORDER BY kind"
        )
        kinds = cursor.fetchall()
    print(
        f"  {agencies} agencies, {clients} clients; flagged {flagged / total:.1%}, "
        f"refused {refused / total:.1%}, failed {failed / total:.1%}; "
        f"from {str(first)[:10]} to {str(last)[:10]}"
    )
    print(
        "  index entries: "
        + ", ".join(f"{kind} {count:,} ({values:,} values)" for kind, count, values in kinds)
    )


# --- Timing the search -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    reader: str
    filters: dict[str, Any]


@dataclass
class Timing:
    rows: int
    ms: float
    runs: int
    timed_out: bool = False


def cases(world: World) -> tuple[dict[str, Reader], list[Case]]:
    operator = next(a for a in world.agencies if a.kind == AgencyKind.HUB_OPERATOR)
    reader_agency = next(a for a in world.agencies if a.kind == AgencyKind.PROBATION)
    k = world.parties[REFERRER_ROLE].index(reader_agency)
    step = len(world.parties[REFERRER_ROLE])
    # Referrals the non-operator reader made, so that its searches have something to find.
    referral, other = k, k + step
    provider = party_of(world, PROVIDER_ROLE, referral)
    children = next(a for a in world.agencies if a.kind == AgencyKind.CHILDREN_SERVICES)
    middle = world.start + timedelta(days=180)
    # A busy value and a quiet one where a filter has both: a quiet one is where an index
    # matters, a busy one shows that it does no harm.
    filters = [
        ("(none)", {}),
        ("agency=provider", {"agency": provider.id}),
        ("agency=children", {"agency": children.id}),
        ("client=provider", {"client": client_of(world, provider)}),
        ("client=children", {"client": client_of(world, children)}),
        ("person", {"person": UUID(fake_uuid(MAN, other))}),
        ("referral", {"referral": UUID(fake_uuid(REFERRAL, referral))}),
        ("category=risk", {"category": "risk"}),
        ("category=children", {"category": "children"}),
        ("purpose=delivery", {"purpose": "programme_delivery"}),
        ("purpose=audit", {"purpose": "audit"}),
        ("flagged", {"flagged": True}),
        ("outcome=refused", {"outcome": "refused"}),
        ("outcome=failed", {"outcome": "failed"}),
        ("from/to=1 week", {"from": middle, "to": middle + timedelta(days=7)}),
    ]
    readers = {
        "operator": Reader(agency=operator),
        reader_agency.kind: Reader(agency=reader_agency),
    }
    return readers, [Case(n, r, f) for n, f in filters for r in readers]


def client_of(world: World, agency: Agency) -> str:
    n = world.agencies.index(agency)
    return f"{h(2 * n, 5):010d}{agency.id.hex[:30]}"


def page(reader: Reader, filters: dict[str, Any]) -> Any:
    """The first page exactly as AuditEventsView reads it."""
    return record_search(reader, filters).order_by(*NEWEST_FIRST)[:PAGE]


def time_case(reader: Reader, filters: dict[str, Any]) -> Timing:
    def once() -> tuple[int, float]:
        start = time.perf_counter()
        rows = len(list(page(reader, filters)))
        return rows, (time.perf_counter() - start) * 1000

    rows, warm_up = once()
    runs = RUNS if warm_up < SLOW_WARM_UP_MS else max(1, min(RUNS, 3))
    times = [once()[1] for _ in range(runs)]
    return Timing(rows, statistics.median(times), runs)


def time_all(readers: dict[str, Reader], all_cases: list[Case], timeout: bool) -> list[Timing]:
    timings = []
    for case in all_cases:
        reader = readers[case.reader]
        if timeout and connection.vendor == "postgresql":
            execute(f"SET statement_timeout = '{BASELINE_TIMEOUT_S}s'")
        try:
            timings.append(time_case(reader, case.filters))
        except OperationalError as error:
            if "statement timeout" not in str(error):
                raise
            timings.append(Timing(0, BASELINE_TIMEOUT_S * 1000, 0, timed_out=True))
    if timeout and connection.vendor == "postgresql":
        execute("RESET statement_timeout")
    return timings


def plan_path(reader: Reader, filters: dict[str, Any]) -> str:
    """The plan's top node and the chain of first children below it, down to the scan that
    drives it (PostgreSQL), or SQLite's query plan lines."""
    if connection.vendor != "postgresql":
        lines = page(reader, filters).explain().splitlines()
        return " | ".join(line.split(" ", 3)[-1] for line in lines)
    node = json.loads(page(reader, filters).explain(format="json"))[0]["Plan"]
    chain = []
    while node:
        label = node["Node Type"]
        if node.get("Scan Direction") == "Backward":
            label += " Backward"
        if node.get("Index Name"):
            label += f" using {node['Index Name']}"
        if node.get("Relation Name"):
            label += f" on {node['Relation Name']}"
        chain.append(label)
        node = (node.get("Plans") or [None])[0]
    return " > ".join(chain)


def full_plan(reader: Reader, filters: dict[str, Any]) -> str:
    if connection.vendor == "postgresql":
        return page(reader, filters).explain(analyze=True, buffers=True)
    return page(reader, filters).explain()


def matching(reader: Reader, filters: dict[str, Any]) -> int:
    return record_search(reader, filters).count()


def print_table(
    all_cases: list[Case], matches: list[int], indexed: list[Timing], bare: list[Timing]
) -> None:
    print(
        f"\n{'filter':<18} {'reader':<10} {'matching':>9} {'rows':>4} "
        f"{'indexed ms':>11} {'no-index ms':>12} {'speed-up':>9}"
    )
    for case, count, with_, without in zip(all_cases, matches, indexed, bare, strict=True):
        rows = str(with_.rows)
        if not without.timed_out and without.rows != with_.rows:
            rows += f"/{without.rows}?"
        bare_ms = f">{without.ms:.0f}" if without.timed_out else f"{without.ms:.1f}"
        speed_up = without.ms / with_.ms if with_.ms else float("inf")
        print(
            f"{case.name:<18} {case.reader:<10} {count:>9,} {rows:>4} "
            f"{with_.ms:>11.1f} {bare_ms:>12} {speed_up:>8.1f}x"
        )
    print(
        f"(matching: records the filters match for that reader; rows: of the first page, "
        f"{PAGE} when it is full)"
    )


# --- The run ---------------------------------------------------------------------------------


def run(name: str) -> int:
    dialect = Dialect(connection.vendor)
    clock = Clock()
    print(f"Fill ({RECORDS:,} records):")
    world = fill(dialect, clock)
    check_on_bench_database(name)
    check_entries_match()
    describe()
    readers, all_cases = cases(world)

    print(
        f"\nWith the indexes: first page of {PAGE} rows, median of {RUNS} runs after a warm-up "
        f"(of 3 where the warm-up took over {SLOW_WARM_UP_MS} ms)"
    )
    indexed = clock.phase(
        "timing with indexes", lambda: time_all(readers, all_cases, timeout=False)
    )
    plans = [plan_path(readers[c.reader], c.filters) for c in all_cases]
    matches = [matching(readers[c.reader], c.filters) for c in all_cases]
    slow = [(c, t) for c, t in zip(all_cases, indexed, strict=True) if t.ms > MAX_MS]
    slow_plans = [full_plan(readers[c.reader], c.filters) for c, _ in slow]

    print(f"\nBaseline: the same queries without {', '.join(SEARCH_INDEXES)}")
    drop_indexes(SEARCH_INDEXES)
    bare = clock.phase("timing without", lambda: time_all(readers, all_cases, timeout=True))

    print_table(all_cases, matches, indexed, bare)
    print("\nPlans with the indexes:")
    for case, plan in zip(all_cases, plans, strict=True):
        print(f"  {case.name:<18} {case.reader:<10} {plan}")

    print(f"\n{connection.vendor}, {RECORDS:,} records; ", end="")
    print(", ".join(f"{phase} {took:.1f} s" for phase, took in clock.phases), end="; ")
    print(f"total {clock.total:.1f} s")
    if not slow:
        print(f"Every first page took under {MAX_MS:.0f} ms with the indexes.")
        return 0
    # SQLite's plans repeat from query to query: each is printed once, after the cases it serves.
    by_plan: dict[str, list[str]] = {}
    for (case, timing), plan in zip(slow, slow_plans, strict=True):
        by_plan.setdefault(plan, []).append(f"{case.name} as {case.reader}, {timing.ms:.1f} ms")
    for plan, slow_cases in by_plan.items():
        print("\nSLOW with the indexes: " + "; ".join(slow_cases))
        print(plan)
    print(f"\n{len(slow)} first page(s) slower than {MAX_MS:.0f} ms with the indexes.")
    return 1


@contextmanager
def throwaway_database() -> Iterator[str]:
    """The connection switched to a database of its own, created empty and migrated, never the
    configured one; destroyed at the end whatever happens (a SIGTERM too). Yields its name."""
    # A terminated run still destroys its database (finally: below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    real_name = connection.settings_dict["NAME"]
    name = bench_database_name(tmp)
    if name == real_name:
        raise SystemExit("The bench database would be the configured one: stopping.")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    if connection.vendor == "postgresql":
        # A pool opened before the switch would keep handing out connections to the real one.
        connection.close_pool()
    print(f"Throwaway {connection.vendor} database {name} (the configured one is not touched)")
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        check_on_bench_database(name)
        yield name
    finally:
        # Only ever destroy the bench database, never whatever the connection points at.
        if connection.settings_dict["NAME"] == name:
            connection.creation.destroy_test_db(real_name, verbosity=0)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    with throwaway_database() as name:
        return run(name)


if __name__ == "__main__":
    sys.exit(main())
