"""A brand-new database migrated from zero ends where the models and audit.protection say.

Each engine gets an empty database, migrated by `manage.py migrate` in its own process as a
deployment would: every migration is applied, the models need no new one, and every audit table
has exactly the triggers the live `audit.protection` installs today (the migrations carry a
frozen copy of its SQL, so the two can drift: a change to that module needs a new migration).
Migrations never import the project's own modules, which change after the migration is written.
"""

import ast
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from audit import protection

ROOT = Path(__file__).resolve().parent.parent
PROJECT_APPS = ("hub", "agencies", "referrals", "consent", "sharing_policies", "audit")
MIGRATION_FILES = sorted(
    path
    for app in PROJECT_APPS
    for path in (ROOT / app / "migrations").glob("*.py")
    if path.name != "__init__.py"
)

# The triggers as the catalogue holds them, one engine each; the same queries read a database
# as migrated and as the live module leaves it.
SQLITE_CATALOGUE = [
    "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY tbl_name, name"
]
POSTGRESQL_CATALOGUE = [
    "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
    "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE NOT t.tgisinternal AND n.nspname = current_schema() ORDER BY c.relname, t.tgname",
    # The trigger function's body: its message is what a refused statement reports.
    "SELECT p.proname, p.prosrc, pg_get_function_result(p.oid) FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = current_schema() ORDER BY p.proname",
]

# Run by `manage.py shell` in the migrated database: which protecting triggers `missing()`
# reports, and the catalogue once the live module has dropped and installed them again (rolled
# back, so the database keeps what the migrations made).
LIVE_PROTECTION = """
import json
from django.db import connection, transaction
from audit import protection

def catalogue():
    rows = []
    with connection.cursor() as cursor:
        for query in QUERIES:
            cursor.execute(query)
            rows += [list(row) for row in cursor.fetchall()]
    return rows

with transaction.atomic():
    protection.remove(connection)
    protection.install(connection)
    installed = catalogue()
    transaction.set_rollback(True)
print(json.dumps({"missing": protection.missing(connection), "installed": installed}))
"""


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DATABASE_URL": database_url,
            "SECRET_KEY": "migrations-test",
            "DEBUG": "0",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def assert_migrated_from_zero(database_url: str, queries: list[str]) -> list[list]:
    """Migrate the empty database; check the plan, the models and the live protection. Returns
    the catalogue as the live module leaves it."""
    migrated = manage(database_url, "migrate", "--no-input", "-v0")
    assert migrated.returncode == 0, migrated.stderr

    plan = manage(database_url, "showmigrations", "--plan")
    assert plan.returncode == 0, plan.stderr
    steps = [re.match(r"\[(.)\]\s+(\S+)$", line.strip()) for line in plan.stdout.splitlines()]
    assert steps, plan.stdout
    assert all(steps), plan.stdout
    assert [step[2] for step in steps if step[1] != "X"] == []
    applied = {step[2] for step in steps}
    assert {f"{path.parent.parent.name}.{path.stem}" for path in MIGRATION_FILES} <= applied

    check = manage(database_url, "makemigrations", "--check", "--dry-run", "--no-input")
    assert check.returncode == 0, check.stdout + check.stderr

    live = manage(database_url, "shell", "-c", f"QUERIES = {queries!r}\n{LIVE_PROTECTION}")
    assert live.returncode == 0, live.stderr
    report = json.loads(live.stdout.splitlines()[-1])
    assert report["missing"] == []
    return report["installed"]


def assert_audit_tables_protected(tables: set[str], triggers: list[list]) -> None:
    """Every audit table of the database is one protection knows; each of the audit trail has
    triggers, and nothing else has any."""
    assert set(protection.AUDIT_TABLES) <= tables
    assert tables <= {*protection.AUDIT_TABLES, *protection.STAGING_TABLES}
    assert {table for table, *_ in triggers} == set(protection.AUDIT_TABLES)
    names = {table: {name for other, name, _ in triggers if other == table} for table in tables}
    # The same protection on each table of the trail, named after it or not.
    shapes = {
        frozenset(name.replace(table, "<table>") for name in names[table])
        for table in protection.AUDIT_TABLES
    }
    assert len(shapes) == 1
    assert len(next(iter(shapes))) >= 2


# --- SQLite -----------------------------------------------------------------------------------


def test_a_fresh_sqlite_database_migrates_from_zero_with_every_protection(tmp_path):
    database = tmp_path / "from-zero.sqlite3"
    installed = assert_migrated_from_zero(f"sqlite:///{database}", SQLITE_CATALOGUE)

    with sqlite3.connect(database) as raw:
        (query,) = SQLITE_CATALOGUE
        migrated = [list(row) for row in raw.execute(query)]
        tables = {
            name
            for (name,) in raw.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'audit\\_%' "
                "ESCAPE '\\'"
            )
        }
    raw.close()

    assert migrated == installed
    assert_audit_tables_protected(tables, migrated)


# --- PostgreSQL -------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def fresh_postgresql_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database on the server the tests use (the postgres
    user on 127.0.0.1:5432 unless DATABASE_URL says otherwise), dropped afterwards."""
    server = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    name = f"hub_from_zero_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_with_database(server, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(server, name)
    finally:
        with psycopg.connect(_with_database(server, "postgres"), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.mark.postgres_only
def test_a_fresh_postgresql_database_migrates_from_zero_with_every_protection(
    fresh_postgresql_database,
):
    installed = assert_migrated_from_zero(fresh_postgresql_database, POSTGRESQL_CATALOGUE)

    with psycopg.connect(fresh_postgresql_database, autocommit=True) as raw:
        migrated = [list(row) for query in POSTGRESQL_CATALOGUE for row in raw.execute(query)]
        tables = {
            name
            for (name,) in raw.execute(
                "SELECT tablename FROM pg_tables "
                "WHERE schemaname = current_schema() AND tablename LIKE 'audit\\_%'"
            )
        }
        # A statement trigger refuses TRUNCATE, even of an empty table.
        for table in protection.AUDIT_TABLES:
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                raw.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.Identifier(table)))

    assert migrated == installed
    triggers = [row for row in migrated if row[0] in tables]
    assert_audit_tables_protected(tables, triggers)


# --- migrations are frozen ------------------------------------------------------------------------


def project_imports(source: str) -> list[str]:
    """The imports of the project's own modules in a migration's source, as written."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: within the app itself
                found.append("." * node.level + (node.module or ""))
                continue
            modules = [node.module or ""]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            modules = [node.args[0].value]
        else:
            continue
        found += [module for module in modules if module.split(".")[0] in PROJECT_APPS]
    return found


def test_the_import_check_sees_every_form_of_project_import():
    source = (
        "import uuid\n"
        "import django.db.models.deletion\n"
        "from django.db import migrations\n"
        "from audit import protection\n"
        "import referrals.identifiers\n"
        "from .helpers import sql\n"
        "import importlib\n"
        "importlib.import_module('consent.models')\n"
        "def f():\n"
        "    from sharing_policies.vocabulary import Purpose\n"
    )

    assert project_imports(source) == [
        "audit",
        "referrals.identifiers",
        ".helpers",
        "consent.models",
        "sharing_policies.vocabulary",
    ]


def test_every_app_with_models_has_its_migrations_found():
    apps_with_migrations = {path.parent.parent.name for path in MIGRATION_FILES}

    assert {"agencies", "referrals", "consent", "sharing_policies", "audit"} <= apps_with_migrations


@pytest.mark.parametrize(
    "path", MIGRATION_FILES, ids=lambda path: f"{path.parent.parent.name}/{path.name}"
)
def test_no_migration_imports_a_project_module(path):
    # A migration means the same whatever the code later says: what it needs from the project
    # (SQL, a normalisation, a mapping) is written into it.
    assert project_imports(path.read_text()) == []
