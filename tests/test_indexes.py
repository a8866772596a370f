"""No index of the hub's own tables is redundant (issue 15: the costs of a request's writes).

An index whose columns lead another index of the same table serves no lookup the other does
not, yet every row written pays for both: the access record's index entries (nine a request)
paid for a `record` index beside the unique (record, kind, value) one until it was dropped.
Django gives every foreign key an index of its own unless told `db_index=False`, so the kind
recurs wherever a foreign key leads a unique constraint or a composite index. Checked on the
migrated test database, SQLite and PostgreSQL alike.
"""

from typing import Any

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

HUB_APPS = ("agencies", "referrals", "consent", "sharing_policies", "audit")


def hub_tables() -> list[str]:
    """The tables of the hub's own models. Django's auto-created many-to-many tables are left
    out: their indexes are Django's, not declared by the hub."""
    return sorted(
        model._meta.db_table
        for name in HUB_APPS
        for model in apps.get_app_config(name).get_models(include_auto_created=False)
        if not model._meta.proxy
    )


def indexes_of(table: str) -> dict[str, dict[str, Any]]:
    """Name -> constraint, for the indexes of the table (unique ones and the primary key too).
    PostgreSQL's `_like` twins (pattern operators, for LIKE) are not lookups by value."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        name: c
        for name, c in constraints.items()
        if (c["index"] or c["unique"] or c["primary_key"]) and c["columns"]
        if not name.endswith("_like")
    }


def redundant_indexes(table: str) -> list[tuple[str, str]]:
    """(an index, the index that leads with its columns) for each plain index that another
    index of the table makes redundant."""
    indexes = indexes_of(table)
    found = []
    for name, index in indexes.items():
        if index["unique"] or index["primary_key"]:
            continue  # a unique index enforces something, whatever else it duplicates
        columns = index["columns"]
        for other_name, other in indexes.items():
            if other_name != name and other["columns"][: len(columns)] == columns:
                found.append((name, other_name))
                break
    return found


def test_no_index_of_the_hubs_tables_is_led_by_the_columns_of_another():
    found = {table: redundant_indexes(table) for table in hub_tables()}

    assert {table: pairs for table, pairs in found.items() if pairs} == {}


def test_an_index_led_by_anothers_columns_is_found():
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE INDEX "test_redundant_record" ON "audit_accessindexentry" ("record_id")'
        )

    assert redundant_indexes("audit_accessindexentry") == [
        ("test_redundant_record", "audit_idx_one_entry_per_value")
    ]
