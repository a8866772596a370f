"""Least privilege in PostgreSQL (issue 12 item 6; DESIGN.md *Audit*: "Append-only, enforced
in the database").

The schema's owner runs `migrate` and `grant_app_role ROLE`; the hub runs as ROLE. Here a
throwaway LOGIN role (unique name: roles are cluster-wide) is granted by the command, then used
over its own connection to the test database: it may read and insert access records, and change
ordinary tables, but every way of getting past the append-only triggers is refused by
PostgreSQL's privileges before a trigger fires. The hub's real commands and request path, run
as that role in their own processes, work. The role is dropped after each test, pass or fail.
"""

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from audit import protection
from audit.models import AccessRecord
from audit.protection import AUDIT_TABLES
from hub.database_roles import (
    AUDIT_TABLE_PRIVILEGES,
    FORBIDDEN_ON_AUDIT_TABLES,
    SEQUENCE_PRIVILEGES,
    TABLE_PRIVILEGES,
    grant_statements,
    quote_identifier,
)
from tests import factories

ROOT = Path(__file__).resolve().parent.parent

# --- the statements, without a database ---------------------------------------------------------


def test_identifiers_are_quoted_whatever_they_hold():
    assert quote_identifier("hub_app") == '"hub_app"'
    assert quote_identifier('a"; DROP TABLE x; --') == '"a""; DROP TABLE x; --"'
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError):
            quote_identifier(bad)


def test_audit_tables_get_select_and_insert_and_nothing_else():
    statements = grant_statements(
        role="app",
        schema="public",
        tables=["referrals_referral", *AUDIT_TABLES],
        sequences=["some_seq"],
        audit_tables=AUDIT_TABLES,
    )

    grants = [s for s in statements if s.startswith("GRANT ")]
    for table in AUDIT_TABLES:
        (grant,) = [s for s in grants if f'"{table}"' in s]
        assert grant == f'GRANT SELECT, INSERT ON TABLE "public"."{table}" TO "app"'
        # Whatever was granted before is revoked first, so a re-run corrects a hand-made grant.
        assert statements.index(f'REVOKE ALL ON TABLE "public"."{table}" FROM "app"') < (
            statements.index(grant)
        )
    assert (
        'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "public"."referrals_referral" TO "app"'
        in (grants)
    )
    assert 'GRANT USAGE, SELECT ON SEQUENCE "public"."some_seq" TO "app"' in grants
    assert 'REVOKE CREATE ON SCHEMA "public" FROM "app"' in statements
    assert not any(word in s for s in grants for word in ("TRUNCATE", "TRIGGER", "REFERENCES"))
    assert not any("ALL" in s or "OWNER" in s or "DEFAULT" in s for s in grants)
    assert set(AUDIT_TABLE_PRIVILEGES) & set(FORBIDDEN_ON_AUDIT_TABLES) == set()
    assert (set(TABLE_PRIVILEGES), set(SEQUENCE_PRIVILEGES)) == (
        {"SELECT", "INSERT", "UPDATE", "DELETE"},
        {"USAGE", "SELECT"},
    )


def test_an_audit_table_that_is_not_there_yet_is_an_error_not_a_partial_grant():
    with pytest.raises(ValueError, match="audit_sealbatch"):
        grant_statements(
            role="app",
            schema="public",
            tables=[t for t in AUDIT_TABLES if t != "audit_sealbatch"],
            sequences=[],
            audit_tables=AUDIT_TABLES,
        )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite refusal")
def test_the_command_refuses_on_sqlite_where_there_are_no_roles():
    with pytest.raises(CommandError, match=r"sqlite.*nothing to do"):
        call_command("grant_app_role", "hub_app")


# --- PostgreSQL: a throwaway application role -----------------------------------------------------


def _execute(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _grant(role: str) -> dict:
    out = StringIO()
    call_command("grant_app_role", role, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def role_name() -> Iterator[str]:
    """A fresh LOGIN role with no privileges, dropped afterwards (with anything granted to it
    in the test database) even if the test fails."""
    name = f"hub_test_app_{uuid.uuid4().hex[:12]}"
    _execute(f"CREATE ROLE {quote_identifier(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
    try:
        yield name
    finally:
        _execute(f"DROP OWNED BY {quote_identifier(name)}")
        _execute(f"DROP ROLE {quote_identifier(name)}")


@pytest.fixture
def app_role(role_name: str) -> str:
    """The role, granted by `grant_app_role` as the test database's owner would."""
    printed = _grant(role_name)
    assert printed["role"] == role_name
    assert printed["audit_tables"] == sorted(AUDIT_TABLES)
    return role_name


@pytest.fixture
def as_app(app_role: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the test database as the application's role."""
    settings = connection.settings_dict
    conn = psycopg.connect(
        dbname=settings["NAME"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=app_role,
        autocommit=True,
    )
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def a_record(db: None) -> AccessRecord:
    return AccessRecord.objects.create(
        method="GET", path="/api/v1/referrals/", status=200, outcome="served", request_id="r1"
    )


def _refusal(conn: psycopg.Connection, sql: str) -> str | None:
    """The SQLSTATE name of the error `sql` fails with, or None if it succeeds."""
    try:
        conn.execute(sql)
    except psycopg.Error as error:
        return type(error).__name__
    return None


def _pk_column(table: str) -> str:
    (model,) = [m for m in apps.get_models() if m._meta.db_table == table]
    return model._meta.pk.column


@pytest.mark.parametrize("table", AUDIT_TABLES)
@pytest.mark.usefixtures("a_record")
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_app_role_cannot_alter_disable_drop_truncate_or_change_an_audit_table(as_app, table):
    pk = quote_identifier(_pk_column(table))
    # Table and column names are the app's own constants, never input.
    attempts = [
        f"ALTER TABLE {table} DISABLE TRIGGER ALL",
        f"ALTER TABLE {table} DISABLE TRIGGER audit_append_only",
        f"ALTER TABLE {table} DISABLE TRIGGER audit_no_truncate",
        f"DROP TRIGGER audit_append_only ON {table}",
        f"CREATE TRIGGER sneak BEFORE INSERT ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()",
        f"ALTER TABLE {table} OWNER TO CURRENT_USER",
        f"TRUNCATE {table}",
        f"TRUNCATE {table} CASCADE",
        f"UPDATE {table} SET {pk} = {pk}",  # noqa: S608
        f"DELETE FROM {table}",  # noqa: S608
        f"DROP TABLE {table} CASCADE",
    ]

    outcomes = {sql: _refusal(as_app, sql) for sql in attempts}

    # Refused for want of privilege (SQLSTATE 42501), before any trigger is reached.
    assert outcomes == dict.fromkeys(attempts, "InsufficientPrivilege")
    # Granting itself more gives nothing (PostgreSQL only warns), and it holds none of them.
    as_app.execute(f"GRANT UPDATE, DELETE, TRUNCATE ON {table} TO CURRENT_USER")
    held = {
        privilege: as_app.execute(
            "SELECT has_table_privilege(%s, %s)", [table, privilege]
        ).fetchone()[0]
        for privilege in ("SELECT", "INSERT", *FORBIDDEN_ON_AUDIT_TABLES)
    }
    assert held == {"SELECT": True, "INSERT": True} | dict.fromkeys(
        FORBIDDEN_ON_AUDIT_TABLES, False
    )
    assert protection.missing(connection) == []


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_app_role_cannot_skip_triggers_for_its_session(as_app):
    assert _refusal(as_app, "SET session_replication_role = replica") == "InsufficientPrivilege"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_app_role_inserts_and_reads_access_records_but_cannot_change_them(as_app, a_record):
    columns = [f.column for f in AccessRecord._meta.concrete_fields if f.column != "id"]
    listed = ", ".join(quote_identifier(c) for c in columns)

    inserted = as_app.execute(
        f"INSERT INTO audit_accessrecord (id, {listed}) "  # noqa: S608
        f"SELECT gen_random_uuid(), {listed} FROM audit_accessrecord WHERE id = %s RETURNING id",
        [a_record.id],
    ).fetchone()
    count = as_app.execute("SELECT COUNT(*) FROM audit_accessrecord").fetchone()

    assert inserted is not None
    assert count == (2,)
    assert AccessRecord.objects.count() == 2
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_app.execute("UPDATE audit_accessrecord SET status = 299 WHERE id = %s", [a_record.id])
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_app.execute("DELETE FROM audit_accessrecord WHERE id = %s", [a_record.id])
    assert AccessRecord.objects.get(id=a_record.id).status == 200


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_app_role_changes_ordinary_tables_but_cannot_truncate_them_or_create_any(as_app):
    agency = factories.AgencyFactory(name="Before")

    updated = as_app.execute(
        "UPDATE agencies_agency SET name = 'After' WHERE id = %s", [agency.id]
    ).rowcount
    as_app.execute("UPDATE referrals_referral SET id = id WHERE false")
    as_app.execute("DELETE FROM referrals_idempotencykey WHERE false")

    assert updated == 1
    agency.refresh_from_db()
    assert agency.name == "After"
    assert _refusal(as_app, "TRUNCATE referrals_idempotencykey") == "InsufficientPrivilege"
    assert _refusal(as_app, "CREATE TABLE sneak (id int)") == "InsufficientPrivilege"
    assert _refusal(as_app, "ALTER TABLE agencies_agency DISABLE TRIGGER ALL") == (
        "InsufficientPrivilege"
    )


# --- the command's own guarantees -----------------------------------------------------------------


def _privileges(role: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s",
            [role],
        )
        return set(cursor.fetchall())


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_granting_again_changes_nothing_and_takes_back_a_privilege_granted_by_hand(app_role):
    granted = _privileges(app_role)
    assert {(t, p) for t, p in granted if t in AUDIT_TABLES} == {
        (t, p) for t in AUDIT_TABLES for p in ("SELECT", "INSERT")
    }
    assert ("referrals_referral", "UPDATE") in granted
    assert not {p for _, p in granted} - {"SELECT", "INSERT", "UPDATE", "DELETE"}

    _execute(f"GRANT UPDATE, TRUNCATE ON audit_accessrecord TO {quote_identifier(app_role)}")
    _grant(app_role)

    assert _privileges(app_role) == granted


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_command_refuses_a_role_that_could_act_as_an_owner(role_name):
    owner = f"{role_name}_owner"
    owner_q, role_q = quote_identifier(owner), quote_identifier(role_name)
    _execute(f"CREATE ROLE {owner_q} NOLOGIN")
    try:
        _execute("CREATE FUNCTION helper12_owned() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        _execute(f"ALTER FUNCTION helper12_owned() OWNER TO {owner_q}")
        _execute(f"GRANT {owner_q} TO {role_q}")

        with pytest.raises(CommandError, match=f"member of, {owner}, which owns"):
            call_command("grant_app_role", role_name)
        assert _privileges(role_name) == set()
    finally:
        _execute("DROP FUNCTION IF EXISTS helper12_owned()")
        _execute(f"DROP ROLE {owner_q}")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_command_refuses_a_role_that_owns_the_database(role_name):
    # The usual slip: CREATE DATABASE hub OWNER hub_app. The database's owner owns the public
    # schema (pg_database_owner), and a schema's owner may drop any table in it.
    database = quote_identifier(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current,) = cursor.fetchone()
    _execute(f"ALTER DATABASE {database} OWNER TO {quote_identifier(role_name)}")
    try:
        with pytest.raises(CommandError, match="could disable or drop the audit triggers"):
            call_command("grant_app_role", role_name)
        assert _privileges(role_name) == set()
    finally:
        _execute(f"ALTER DATABASE {database} OWNER TO {quote_identifier(current)}")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_command_refuses_when_public_could_update_an_audit_table(role_name):
    _execute("GRANT UPDATE ON audit_sealbatch TO PUBLIC")
    try:
        with pytest.raises(CommandError, match=r"UPDATE on audit_sealbatch.*nothing was granted"):
            call_command("grant_app_role", role_name)
        assert _privileges(role_name) == set()  # rolled back, deny by default
    finally:
        _execute("REVOKE UPDATE ON audit_sealbatch FROM PUBLIC")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_command_refuses_an_unknown_role_the_connected_one_and_a_superuser():
    with pytest.raises(CommandError, match="does not exist"):
        call_command("grant_app_role", f"hub_test_nobody_{uuid.uuid4().hex[:12]}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        current, superuser = cursor.fetchone()
    with pytest.raises(CommandError, match="superuser" if superuser else "running this command"):
        call_command("grant_app_role", current)


# --- the hub itself, run as the application's role ------------------------------------------------


def _manage_as(role: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    settings = connection.settings_dict
    url = f"postgres://{role}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DATABASE_URL": url + settings["NAME"],
            "SECRET_KEY": "roles-test",
            "DEBUG": "1",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


# Tokens and referrals through the real request path (middleware, OAuth, views, access records).
REQUESTS = """
import base64, json, os
from django.test import Client
client = Client(HTTP_HOST="localhost")
token = client.post(
    "/o/token/", {"grant_type": "client_credentials"},
    HTTP_AUTHORIZATION="Basic " + os.environ["HUB_BASIC"],
)
assert token.status_code == 200, token.content
bearer = "Bearer " + token.json()["access_token"]
listed = client.get("/api/v1/referrals/", HTTP_AUTHORIZATION=bearer)
first = listed.json()["results"][0]["id"]
one = client.get(f"/api/v1/referrals/{first}/", HTTP_AUTHORIZATION=bearer)
refused = client.get("/api/v1/referrals/", HTTP_AUTHORIZATION="Bearer wrong")
print(json.dumps([listed.status_code, one.status_code, refused.status_code]))
"""


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_hub_works_as_the_app_role(app_role):
    seeded = _manage_as(app_role, "seed_demo")
    assert seeded.returncode == 0, seeded.stderr
    lines = [json.loads(line) for line in seeded.stdout.splitlines()]
    clients = [line for line in lines if "client_id" in line]
    probation = next(c for c in clients if c["kind"] == "probation")
    basic = base64.b64encode(f"{probation['client_id']}:{probation['client_secret']}".encode())

    served = _manage_as(app_role, "shell", "-c", REQUESTS, HUB_BASIC=basic.decode())
    assert served.returncode == 0, served.stderr
    assert json.loads(served.stdout.splitlines()[-1]) == [200, 200, 401]
    records = AccessRecord.objects.count()
    assert records >= 3

    sealed = _manage_as(app_role, "audit_seal", "--batch-size", "2")
    verified = _manage_as(app_role, "audit_verify")
    retention = _manage_as(app_role, "apply_retention")

    assert sealed.returncode == 0, sealed.stderr
    assert json.loads(sealed.stdout)["sealed_records"] == records
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["intact"] is True
    assert retention.returncode == 0, retention.stderr
    assert protection.missing(connection) == []
