"""Append-only audit tables, enforced by the database itself.

Triggers refuse every UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) on the audit tables,
so that neither a bug, nor a shell, nor a script with the application's credentials can change
or remove an access record, its index entries, its review or its seal: the hash chain
(audit/chain.py) detects a change, these triggers prevent the easy ones. An operator who owns
the schema can still drop a trigger; the chain is what catches that.

There is no switch to turn the triggers off in production code. `protections_lifted` exists
for the test suite (which flushes its database between transactional tests, and tampers with
records on purpose to prove the chain catches it) and for reversing the migration.

SQLite rebuilds a table for most schema changes (create, copy, drop, rename), and its triggers
go with the old table: a later migration that alters an audit table must create them again
(tests/test_audit_chain.py checks the triggers exist once every migration has run).

Migrations never import this module: audit/migrations/0003_append_only.py and
0004_refusal_bursts.py carry a frozen copy of the SQL below, so that a database migrated from
zero gets what was protected at each step whatever this module says later. A change to the
tables protected here or to their SQL (names, messages, conditions) needs a new migration that
carries the new SQL written out in it, not an import of this module; so does the re-creation on
SQLite above. tests/test_migrations_from_zero.py checks that a database migrated from zero has
exactly the triggers this module installs, on both engines.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# Literal names, not models' _meta: migrations call these with the schema as it was then.
AUDIT_TABLES = (
    "audit_accessrecord",
    "audit_accessindexentry",
    "audit_flagreview",
    "audit_sealbatch",
    "audit_sealedrecord",
)
# Tables of the audit app that are not the audit trail: refusal bursts are counted in place
# before they are written to it as one record (audit.bursts).
STAGING_TABLES = ("audit_refusalburst",)

MESSAGE = "audit tables are append-only"

_PG_FUNCTION = "audit_refuse_change"
_PG_ROW_TRIGGER = "audit_append_only"
_PG_TRUNCATE_TRIGGER = "audit_no_truncate"


def _postgresql_install() -> list[str]:
    statements = [
        f"""
        CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME;
        END;
        $$
        """
    ]
    for table in AUDIT_TABLES:
        statements += [
            f"DROP TRIGGER IF EXISTS {_PG_ROW_TRIGGER} ON {table}",
            f"CREATE TRIGGER {_PG_ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()",
            # Row triggers do not fire on TRUNCATE, which empties a table in one statement.
            f"DROP TRIGGER IF EXISTS {_PG_TRUNCATE_TRIGGER} ON {table}",
            f"CREATE TRIGGER {_PG_TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()",
        ]
    return statements


def _postgresql_remove() -> list[str]:
    statements = []
    for table in AUDIT_TABLES:
        statements += [
            f"DROP TRIGGER IF EXISTS {_PG_ROW_TRIGGER} ON {table}",
            f"DROP TRIGGER IF EXISTS {_PG_TRUNCATE_TRIGGER} ON {table}",
        ]
    return [*statements, f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()"]


# Each table's unique keys. SQLite's INSERT OR REPLACE resolves a conflict on one by deleting
# the old row without firing DELETE triggers (unless a connection turned recursive_triggers
# on): an insert that would collide with an existing row is refused instead.
_SQLITE_UNIQUE_KEYS = {
    "audit_accessrecord": (("id",),),
    "audit_accessindexentry": (("id",), ("record_id", "kind", "value")),
    "audit_flagreview": (("id",), ("record_id",)),
    "audit_sealbatch": (("number",),),
    "audit_sealedrecord": (("record_id",), ("batch_id", "position")),
}
_SQLITE_OPERATIONS = ("UPDATE", "DELETE", "REPLACE")


def _sqlite_trigger(table: str, operation: str) -> str:
    return f"{table}_no_{operation.lower()}"


def _sqlite_refusal(table: str, operation: str) -> str:
    refuse = f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {operation} on {table} refused'); END"
    if operation != "REPLACE":
        return f"BEFORE {operation} ON {table} {refuse}"
    # Table and column names are this module's constants, never input.
    collides = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE "  # noqa: S608
        + " AND ".join(f"{column} = NEW.{column}" for column in key)
        + ")"
        for key in _SQLITE_UNIQUE_KEYS[table]
    )
    return f"BEFORE INSERT ON {table} WHEN {collides} {refuse}"


def _sqlite_install() -> list[str]:
    # SQLite has no TRUNCATE: its "truncate optimisation" of DELETE without WHERE is disabled
    # whenever the table has a trigger, so the DELETE trigger covers it.
    return [
        f"CREATE TRIGGER IF NOT EXISTS {_sqlite_trigger(table, operation)} "
        + _sqlite_refusal(table, operation)
        for table in AUDIT_TABLES
        for operation in _SQLITE_OPERATIONS
    ]


def _sqlite_remove() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {_sqlite_trigger(table, operation)}"
        for table in AUDIT_TABLES
        for operation in _SQLITE_OPERATIONS
    ]


def _statements(connection: BaseDatabaseWrapper, *, installing: bool) -> list[str]:
    if connection.vendor == "postgresql":
        return _postgresql_install() if installing else _postgresql_remove()
    if connection.vendor == "sqlite":
        return _sqlite_install() if installing else _sqlite_remove()
    # Deny by default: an unknown database would otherwise run with unprotected records.
    raise NotImplementedError(f"no append-only protection for {connection.vendor}")


def _execute(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers that refuse UPDATE, DELETE and TRUNCATE on every audit table
    (idempotent)."""
    _execute(connection, _statements(connection, installing=True))


def remove(connection: BaseDatabaseWrapper) -> None:
    """Drop those triggers (idempotent)."""
    _execute(connection, _statements(connection, installing=False))


def missing(connection: BaseDatabaseWrapper) -> list[str]:
    """The protecting triggers that do not exist, as `table:trigger` (empty when all do)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND c.relname = ANY(%s)",
                [list(AUDIT_TABLES)],
            )
            expected = {
                (table, name)
                for table in AUDIT_TABLES
                for name in (_PG_ROW_TRIGGER, _PG_TRUNCATE_TRIGGER)
            }
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
            expected = {
                (table, _sqlite_trigger(table, operation))
                for table in AUDIT_TABLES
                for operation in _SQLITE_OPERATIONS
            }
        present = set(cursor.fetchall())
    return sorted(f"{table}:{name}" for table, name in expected - present)


@contextmanager
def protections_lifted(connection: BaseDatabaseWrapper | None = None) -> Iterator[None]:
    """Drop the triggers for the duration of the block, then recreate them.

    For the test suite and the migration's reverse only. It all runs in one transaction (a
    savepoint inside an outer one): both databases have transactional DDL, so if the block
    fails, the rollback restores the triggers with everything else, and no other connection
    ever sees the tables unprotected.
    """
    connection = connection or default_connection
    with transaction.atomic(using=connection.alias):
        remove(connection)
        yield
        install(connection)
