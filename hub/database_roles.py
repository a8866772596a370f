"""Least privilege in PostgreSQL: what the application's database role may do, table by table.

Source of the rule: issue 12 item 6, and DESIGN.md *Audit* ("Append-only, enforced in the
database"). The append-only triggers (audit/protection.py) can be disabled or dropped by
whoever owns an audit table (ALTER TABLE ... DISABLE TRIGGER, DROP TRIGGER), or by whoever owns
its schema (DROP TABLE). So the role that owns the schema and runs `manage.py migrate` is not
the role the hub serves requests with. The application's role gets:

- on every audit table (audit.protection.AUDIT_TABLES): SELECT and INSERT, nothing else;
- on every other table of the schema: SELECT, INSERT, UPDATE, DELETE (never TRUNCATE,
  REFERENCES or TRIGGER);
- on every sequence of the schema: USAGE and SELECT (nextval, currval; never setval);
- on the schema: USAGE, never CREATE;
- ownership of nothing, and no membership of any owner.

No DEFAULT PRIVILEGES: a table created by a later migration, an audit table included, is
closed to the application until `manage.py grant_app_role` is run again after `migrate`
(deny by default).

Everything here is pure (names in, SQL text out), so that the statements can be reviewed with
`grant_app_role --dry-run` and tested without a database; hub/management/commands/
grant_app_role.py reads the catalogue, runs them and checks the outcome.
"""

from collections.abc import Iterable

AUDIT_TABLE_PRIVILEGES = ("SELECT", "INSERT")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT")
# What the application's role must never hold on an audit table, from any grant (its own,
# PUBLIC's or an inherited role's). Disabling or dropping a trigger needs ownership, which
# `owner_memberships` rules out separately.
FORBIDDEN_ON_AUDIT_TABLES = ("UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def quote_identifier(name: str) -> str:
    """`name` as a PostgreSQL quoted identifier (`"a""b"` for `a"b`), whatever it holds.

    Raises ValueError for an empty name or one holding a NUL byte, which PostgreSQL refuses.
    """
    if not name or "\x00" in name:
        raise ValueError(f"not a usable identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def grant_statements(
    *,
    role: str,
    schema: str,
    tables: Iterable[str],
    sequences: Iterable[str],
    audit_tables: Iterable[str],
) -> list[str]:
    """The SQL that gives `role` exactly the privileges above on `schema`'s `tables` and
    `sequences`, as a list of statements to run in one transaction.

    Each object is first stripped of whatever `role` held on it (REVOKE ALL, which also
    revokes column privileges), then granted its set: running them again changes nothing, and a
    privilege granted by hand earlier (say UPDATE on an audit table) is taken away. Grants to
    PUBLIC or to roles `role` belongs to are not touched; the command checks for them.

    `audit_tables` must all be among `tables` (ValueError otherwise: an audit table that is
    not there yet means `migrate` has not run, and granting the rest would hide that).
    """
    tables, audit = sorted(set(tables)), set(audit_tables)
    absent = sorted(audit - set(tables))
    if absent:
        raise ValueError(f"audit tables missing from schema {schema}: {', '.join(absent)}")
    grantee, namespace = quote_identifier(role), quote_identifier(schema)
    statements = [
        f"GRANT USAGE ON SCHEMA {namespace} TO {grantee}",
        f"REVOKE CREATE ON SCHEMA {namespace} FROM {grantee}",
    ]
    for table in tables:
        name = f"{namespace}.{quote_identifier(table)}"
        privileges = AUDIT_TABLE_PRIVILEGES if table in audit else TABLE_PRIVILEGES
        statements += [
            f"REVOKE ALL ON TABLE {name} FROM {grantee}",
            f"GRANT {', '.join(privileges)} ON TABLE {name} TO {grantee}",
        ]
    for sequence in sorted(set(sequences)):
        name = f"{namespace}.{quote_identifier(sequence)}"
        statements += [
            f"REVOKE ALL ON SEQUENCE {name} FROM {grantee}",
            f"GRANT {', '.join(SEQUENCE_PRIVILEGES)} ON SEQUENCE {name} TO {grantee}",
        ]
    return statements


# --- catalogue queries (parameters: role name, schema name) --------------------------------------

# Tables (ordinary and partitioned), views and sequences of a schema: (name, relkind).
RELATIONS_SQL = (
    "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY c.relname"
)

# The owners (of the schema, or of any relation or function in it) that `role` is, belongs to
# or may SET ROLE to: any of them could disable or drop the audit triggers, or drop the tables.
OWNER_MEMBERSHIPS_SQL = """
    SELECT DISTINCT pg_get_userbyid(owner) FROM (
        SELECT nspowner AS owner FROM pg_namespace WHERE nspname = %(schema)s
        UNION SELECT c.relowner FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s
        UNION SELECT p.proowner FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(schema)s
    ) owners
    WHERE pg_has_role(%(role)s, owner, 'MEMBER')
    ORDER BY 1
"""

# The (table, privilege) pairs among FORBIDDEN_ON_AUDIT_TABLES that `role` holds on an audit
# table from any source (its own grants, PUBLIC's, its roles'), column grants included.
FORBIDDEN_HELD_SQL = """
    SELECT c.relname, p.privilege FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN unnest(%(privileges)s::text[]) AS p(privilege)
    WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s)
        AND CASE WHEN p.privilege IN ('UPDATE', 'REFERENCES')
            THEN has_any_column_privilege(%(role)s, c.oid, p.privilege)
            ELSE has_table_privilege(%(role)s, c.oid, p.privilege) END
    ORDER BY 1, 2
"""
