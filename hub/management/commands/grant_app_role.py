"""`manage.py grant_app_role ROLE`: give the application's PostgreSQL role least privilege.

Run as the role that owns the schema and ran `migrate` (DATABASE_URL pointing at it), after
every `migrate`; then serve the hub with DATABASE_URL pointing at ROLE. ROLE may read and
insert into the audit tables but not update, delete or truncate their rows, nor alter, disable
or drop their triggers (issue 12 item 6; DESIGN.md *Audit*: "Append-only, enforced in the
database"). What ROLE gets is set out in hub/database_roles.py.

Prints one JSON line: {"role", "schema", "tables", "audit_tables", "sequences"} (counts, and
the audit tables' names). `--dry-run` prints the SQL instead and changes nothing.

Refuses (CommandError, nothing changed) on SQLite, where there are no roles; for a ROLE that
does not exist, is a superuser, is the connected role, or is (or may become) the owner of the
schema or of anything in it; before `migrate` has created every audit table; and if, once
granted, ROLE would still hold UPDATE, DELETE, TRUNCATE, REFERENCES or TRIGGER on an audit table
through PUBLIC or another role, or may SET session_replication_role (which skips triggers).
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from audit.protection import AUDIT_TABLES
from hub.database_roles import (
    FORBIDDEN_HELD_SQL,
    FORBIDDEN_ON_AUDIT_TABLES,
    OWNER_MEMBERSHIPS_SQL,
    RELATIONS_SQL,
    grant_statements,
)


class Command(BaseCommand):
    help = (
        "Grants ROLE what the hub needs on PostgreSQL and no more: SELECT and INSERT on the "
        "audit tables, SELECT, INSERT, UPDATE and DELETE on the others, USAGE on sequences. "
        "Run as the schema's owner after every migrate (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="The application's role (must exist, LOGIN).")
        parser.add_argument(
            "--schema", help="The schema holding the hub's tables (default: current_schema())."
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the SQL, one statement a line."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            raise CommandError(
                f"grant_app_role is for PostgreSQL; this database is {connection.vendor}, "
                "which has no roles: nothing to do (the append-only triggers still apply)."
            )
        role = options["role"]
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_schema()")
            current_user, current_schema = cursor.fetchone()
            schema = options["schema"] or current_schema
            self.check_role(cursor, role=role, current_user=current_user, schema=schema)
            cursor.execute(RELATIONS_SQL, [schema])
            relations = cursor.fetchall()
            tables = [name for name, kind in relations if kind != "S"]
            sequences = [name for name, kind in relations if kind == "S"]
            try:
                statements = grant_statements(
                    role=role,
                    schema=schema,
                    tables=tables,
                    sequences=sequences,
                    audit_tables=AUDIT_TABLES,
                )
            except ValueError as error:
                raise CommandError(f"{error}: run `manage.py migrate` first.") from error
            if options["dry_run"]:
                for statement in statements:
                    self.stdout.write(statement + ";")
                return
            for statement in statements:
                cursor.execute(statement)
            # Raising here rolls every grant back: deny by default.
            self.check_outcome(cursor, role=role, schema=schema)
        self.stdout.write(
            json.dumps(
                {
                    "role": role,
                    "schema": schema,
                    "tables": len(tables),
                    "audit_tables": sorted(AUDIT_TABLES),
                    "sequences": len(sequences),
                }
            )
        )

    def check_role(self, cursor: Any, *, role: str, current_user: str, schema: str) -> None:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        row = cursor.fetchone()
        if row is None:
            raise CommandError(
                f"role {role!r} does not exist: create it first (CREATE ROLE ... LOGIN)."
            )
        if row[0]:
            raise CommandError(f"role {role!r} is a superuser: it bypasses every privilege.")
        if role == current_user:
            raise CommandError(
                f"role {role!r} is the role running this command: run it as the schema's "
                "owner, naming the application's own role."
            )
        cursor.execute(OWNER_MEMBERSHIPS_SQL, {"role": role, "schema": schema})
        owners = [name for (name,) in cursor.fetchall()]
        if owners:
            raise CommandError(
                f"role {role!r} is, or is a member of, {', '.join(owners)}, which owns schema "
                f"{schema} or objects in it: as an owner it could disable or drop the audit "
                "triggers. Revoke that membership (or give the database to the owner role)."
            )

    def check_outcome(self, cursor: Any, *, role: str, schema: str) -> None:
        cursor.execute(
            FORBIDDEN_HELD_SQL,
            {
                "privileges": list(FORBIDDEN_ON_AUDIT_TABLES),
                "schema": schema,
                "tables": list(AUDIT_TABLES),
                "role": role,
            },
        )
        held = [f"{privilege} on {table}" for table, privilege in cursor.fetchall()]
        if held:
            raise CommandError(
                f"role {role!r} would still hold {', '.join(held)} through PUBLIC or another "
                "role it belongs to: revoke those grants; nothing was granted."
            )
        if cursor.connection.info.server_version < 150000:
            return  # before 15, only a superuser (refused above) may set it
        cursor.execute(
            "SELECT has_parameter_privilege(%s, 'session_replication_role', 'SET')", [role]
        )
        if cursor.fetchone()[0]:
            raise CommandError(
                f"role {role!r} may SET session_replication_role, which skips triggers: "
                "REVOKE SET ON PARAMETER session_replication_role; nothing was granted."
            )
