"""Access records are append-only in the database and hash-chained in sealed batches.

The records here are written by real API requests. Tampering goes through raw SQL inside
`protections_lifted()`, as someone who owns the schema could; the verifier must name the first
batch it breaks, and say what happened without giving away any record's contents.
"""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies.models import AgencyKind
from audit import chain, protection
from audit.chain import (
    SEALED_FIELDS,
    SEALED_WHEN_SET,
    Anchor,
    batch_hash,
    chain_seal,
    chain_verify,
    record_digest,
    record_row_columns,
    record_rows,
    row_digest,
)
from audit.models import AccessIndexEntry, AccessRecord, FlagReview, SealBatch, SealedRecord
from audit.protection import AUDIT_TABLES, protections_lifted
from audit.serializers import VerifySerializer
from audit.services import access_record_write, index_entries_of
from core.context import Channel, Origin
from core.serializers import rendering
from tests.conftest import referral_body

# The verification report's body, as the API serves it and audit_verify prints it.
VERIFY_BODY = rendering(VerifySerializer)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def referrer(api_client_for, world):
    return api_client_for(world[AgencyKind.PROBATION])


@pytest.fixture
def referral(referrer, world):
    response = referrer.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def read(client, referral) -> None:
    assert client.get(f"/api/v1/referrals/{referral['id']}/").status_code == 200


@pytest.fixture
def seven_records(referrer, referral):
    """Seven access records of real requests: the create and six reads."""
    for _ in range(6):
        read(referrer, referral)
    assert AccessRecord.objects.count() == 7
    assert AccessIndexEntry.objects.exists()


@pytest.fixture
def three_batches(seven_records):
    """Batches of 3, 3 and 1 records."""
    result = chain_seal(batch_size=3)
    assert (result.sealed_batches, result.sealed_records) == (3, 7)


def members(number: int) -> list[AccessRecord]:
    return [
        m.record
        for m in SealedRecord.objects.filter(batch_id=number)
        .select_related("record")
        .order_by("position")
    ]


def db(model: Any, field: str, value: Any) -> Any:
    """A value as the database stores it, for raw SQL (SQLite keeps UUIDs as hex text)."""
    return model._meta.get_field(field).get_db_prep_value(value, connection)


def tamper(*statements: tuple[str, list[Any]]) -> None:
    with protections_lifted(), connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def refused(sql: str, params: list[Any] | None = None) -> None:
    """The statement fails on the append-only triggers (in a savepoint, so the test goes on)."""
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def insert_copy(record: AccessRecord, *, at: datetime) -> uuid.UUID:
    """A new record inserted with raw SQL, copying `record` but for its id and time, and
    the search index entries that go with it."""
    new_id = uuid.uuid4()
    columns = [f.column for f in AccessRecord._meta.concrete_fields]
    values = [
        "%s" if column in ("id", "at") else connection.ops.quote_name(column) for column in columns
    ]
    # Column names from the model, not input: nothing to inject.
    into = f"INSERT INTO audit_accessrecord ({', '.join(map(connection.ops.quote_name, columns))})"
    sql = f"{into} SELECT {', '.join(values)} FROM audit_accessrecord WHERE id = %s"  # noqa: S608
    params = [db(AccessRecord, "id", new_id), db(AccessRecord, "at", at)]
    if columns.index("at") < columns.index("id"):
        params.reverse()
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, db(AccessRecord, "id", record.id)])
    AccessIndexEntry.objects.bulk_create(index_entries_of(AccessRecord.objects.get(id=new_id)))
    return new_id


def verify() -> dict[str, Any]:
    return VERIFY_BODY(chain_verify())


def write_records(count: int) -> None:
    """Access records as a request writes them (index entries included), minimal."""
    for n in range(count):
        record = AccessRecord.objects.create(
            method="GET",
            path=f"/api/v1/referrals/?n={n}",
            status=200,
            outcome="served",
            request_id=f"r{n}",
            agency_ref=str(uuid.uuid4()),
        )
        AccessIndexEntry.objects.bulk_create(index_entries_of(record))


def forbidden(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("judged batch by batch: the page's rows should have sufficed")


def assert_broken_at(report: dict[str, Any], batch: int, word: str) -> None:
    assert report["intact"] is False
    assert report["first_bad_batch"] == batch
    assert f"batch {batch}" in report["problem"]
    assert word in report["problem"]


def run_command(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, stdout=out)
    (line,) = out.getvalue().splitlines()
    return json.loads(line)


# --- where new records go ------------------------------------------------------------------------


def stored_before(count: int) -> None:
    """Records with random (version 4) ids, as every store written before ids were time-ordered
    holds them, and their index entries."""
    records = AccessRecord.objects.bulk_create(
        AccessRecord(
            id=uuid.uuid4(),
            method="GET",
            path="/api/v1/referrals/",
            status=200,
            outcome="served",
            request_id=f"stored-{n}",
            referrals=[str(uuid.uuid4())],
        )
        for n in range(count)
    )
    AccessIndexEntry.objects.bulk_create(e for r in records for e in index_entries_of(r))


def test_records_written_one_after_another_take_adjacent_keys_whatever_is_stored(
    referrer, referral
):
    # A record's id leads the records' primary key and its index entries' (record, kind,
    # value) index. Keys scattered among the stored ones put each write in leaves of its own,
    # so the pages a request dirties grew with the records stored (measured: 0.5 full-page
    # images per request at 100,000 records, 2.1 at a million); adjacent keys share the
    # indexes' right-hand edge (audit.services.time_ordered_uuid).
    stored_before(500)
    stored = set(AccessRecord.objects.values_list("id", flat=True))

    for _ in range(20):
        read(referrer, referral)

    new = sorted(set(AccessRecord.objects.values_list("id", flat=True)) - stored)
    assert len(new) == 20
    assert AccessRecord.objects.filter(id__gte=new[0], id__lte=new[-1]).count() == 20
    entries_in_their_range = AccessIndexEntry.objects.filter(
        record_id__gte=new[0], record_id__lte=new[-1]
    )
    assert set(entries_in_their_range.values_list("record_id", flat=True)) == set(new)


# --- append-only in the database ----------------------------------------------------------------


def test_every_audit_table_has_its_protecting_triggers_once_every_migration_ran():
    audit_tables = {model._meta.db_table for model in apps.get_app_config("audit").get_models()}

    assert audit_tables <= {*AUDIT_TABLES, *protection.STAGING_TABLES}
    assert protection.missing(connection) == []


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_accessrecord SET status = 200, justification = '' WHERE id = %s",
        "DELETE FROM audit_accessrecord WHERE id = %s",
    ],
)
def test_raw_sql_update_or_delete_of_an_access_record_is_refused(seven_records, sql):
    record = AccessRecord.objects.first()

    refused(sql, [db(AccessRecord, "id", record.id)])

    assert AccessRecord.objects.get(id=record.id).status == record.status


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_an_insert_that_would_replace_a_row_is_refused(a_row_in_every_audit_table, table):
    if connection.vendor != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's (PostgreSQL's upsert fires the UPDATE trigger)")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} LIMIT 1")  # noqa: S608
        row = cursor.fetchone()
        columns = [c[0] for c in cursor.description]
    marks = ", ".join(["%s"] * len(columns))

    # The very same row again: REPLACE would delete the old one without a DELETE trigger.
    insert = f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    refused(insert, list(row))


@pytest.fixture
def a_row_in_every_audit_table(three_batches, world):
    record = AccessRecord.objects.first()
    FlagReview.objects.create(
        record=record, agency=world[AgencyKind.HUB_OPERATOR], client="dpo", note="Reviewed."
    )


# A column of each table to "update" to its own value: even a no-op write is refused.
SOME_COLUMN = {
    "audit_accessrecord": "status",
    "audit_accessindexentry": "value",
    "audit_flagreview": "note",
    "audit_sealbatch": "hash",
    "audit_sealedrecord": "position",
}


@pytest.mark.parametrize("table", AUDIT_TABLES)
@pytest.mark.parametrize("operation", ["update", "delete"])
def test_raw_sql_update_or_delete_on_every_audit_table_is_refused(
    a_row_in_every_audit_table, table, operation
):
    column = SOME_COLUMN[table]
    # Table and column names are this module's constants.
    sql = (
        f"UPDATE {table} SET {column} = {column}"  # noqa: S608
        if operation == "update"
        else f"DELETE FROM {table}"  # noqa: S608
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
        (before,) = cursor.fetchone()

    refused(sql)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
        assert cursor.fetchone() == (before,)
    assert before > 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)  # committed rows: TRUNCATE waits for no deferred check
@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_truncate_of_an_audit_table_is_refused(a_row_in_every_audit_table, table):
    refused(f"TRUNCATE {table} CASCADE")

    assert AccessRecord.objects.count() == 7


def test_protections_lifted_restores_the_triggers_and_a_failed_block_changes_nothing(
    seven_records,
):
    record = AccessRecord.objects.first()

    with pytest.raises(RuntimeError), protections_lifted():
        assert protection.missing(connection)
        AccessRecord.objects.filter(id=record.id).update(status=299)
        raise RuntimeError("the block fails")

    assert protection.missing(connection) == []
    assert AccessRecord.objects.get(id=record.id).status == record.status


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_commits_access_records_and_is_still_flushed_afterwards(
    referrer, referral
):
    # Committed for real: pytest-django's flush after this test must get past the triggers
    # (tests/audit_protection.py), or the test errors at teardown.
    read(referrer, referral)
    assert chain_seal().sealed_records == AccessRecord.objects.count() == 2
    assert protection.missing(connection) == []


# --- sealing and verifying ----------------------------------------------------------------------


def test_an_empty_chain_is_intact():
    assert verify() == {
        "intact": True,
        "sealed": {"batches": 0, "records": 0, "from": None, "to": None},
        "unsealed": {"records": 0, "from": None, "to": None},
        "first_bad_batch": None,
        "problem": None,
        "head": None,
    }


def test_sealing_then_verifying_reports_an_intact_chain(three_batches):
    records = list(AccessRecord.objects.order_by("at", "id"))

    report = verify()

    assert report == {
        "intact": True,
        "sealed": {
            "batches": 3,
            "records": 7,
            "from": records[0].at.isoformat().replace("+00:00", "Z"),
            "to": records[-1].at.isoformat().replace("+00:00", "Z"),
        },
        "unsealed": {"records": 0, "from": None, "to": None},
        "first_bad_batch": None,
        "problem": None,
        "head": {"batch": 3, "hash": SealBatch.objects.get(number=3).hash},
    }
    assert [m.id for n in (1, 2, 3) for m in members(n)] == [r.id for r in records]


def test_batches_are_numbered_from_one_and_each_links_to_the_one_before(three_batches):
    batches = list(SealBatch.objects.order_by("number"))

    assert [b.number for b in batches] == [1, 2, 3]
    assert batches[0].previous_hash == "0" * 64
    assert [b.previous_hash for b in batches[1:]] == [b.hash for b in batches[:-1]]


def test_a_partial_last_batch_is_sealed(seven_records):
    result = chain_seal(batch_size=5)

    assert result.as_dict() == {
        "sealed_batches": 2,
        "sealed_records": 7,
        "last_batch": 2,
        "head": {"batch": 2, "hash": SealBatch.objects.get(number=2).hash},
    }
    assert list(SealBatch.objects.values_list("number", "size")) == [(1, 5), (2, 2)]
    assert verify()["intact"] is True


def test_the_batch_size_defaults_to_the_setting(seven_records, settings):
    settings.AUDIT_SEAL_BATCH_SIZE = 4

    chain_seal()

    assert list(SealBatch.objects.values_list("size", flat=True)) == [4, 3]


def test_sealing_again_with_nothing_new_seals_nothing(three_batches):
    head = {"batch": 3, "hash": SealBatch.objects.get(number=3).hash}
    assert chain_seal().as_dict() == {
        "sealed_batches": 0,
        "sealed_records": 0,
        "last_batch": None,
        "head": head,
    }
    assert SealBatch.objects.count() == 3


def test_a_record_written_after_sealing_is_the_unsealed_tail_until_the_next_run(
    three_batches, referrer, referral
):
    read(referrer, referral)
    late = AccessRecord.objects.filter(seal__isnull=True).get()

    report = verify()

    assert report["intact"] is True
    assert report["sealed"]["records"] == 7
    moment = late.at.isoformat().replace("+00:00", "Z")
    assert report["unsealed"] == {"records": 1, "from": moment, "to": moment}

    assert chain_seal(batch_size=3).as_dict() == {
        "sealed_batches": 1,
        "sealed_records": 1,
        "last_batch": 4,
        "head": {"batch": 4, "hash": SealBatch.objects.get(number=4).hash},
    }
    report = verify()
    assert report["intact"] is True
    assert report["sealed"]["records"] == 8
    assert report["unsealed"] == {"records": 0, "from": None, "to": None}


def test_a_record_sealed_a_run_late_within_the_grace_keeps_the_chain_intact(three_batches):
    # As if its request's transaction had stayed open over a seal: dated before the end of
    # the sealed range, by less than AUDIT_SEAL_GRACE_SECONDS.
    last = SealBatch.objects.get(number=3)
    insert_copy(members(1)[0], at=last.last_at - timedelta(seconds=5))

    assert verify()["intact"] is True
    assert chain_seal().sealed_records == 1
    report = verify()
    assert report["intact"] is True
    assert report["sealed"]["batches"] == 4


def sealer_reaches_back_to() -> datetime:
    head = SealBatch.objects.get(number=3)
    return min(head.last_at, head.sealed_at) - timedelta(seconds=60)


def test_a_record_dated_a_whole_grace_before_the_head_is_still_sealed(three_batches, settings):
    settings.AUDIT_SEAL_GRACE_SECONDS = 60
    late = insert_copy(members(1)[0], at=sealer_reaches_back_to())

    assert chain_seal().sealed_records == 1

    assert SealedRecord.objects.get(record_id=late).batch_id == 4
    assert verify()["intact"] is True


def test_a_record_dated_just_beyond_the_grace_is_left_unsealed_and_reported(
    three_batches, settings
):
    settings.AUDIT_SEAL_GRACE_SECONDS = 60
    beyond = insert_copy(members(1)[0], at=sealer_reaches_back_to() - timedelta(microseconds=1))

    assert chain_seal().sealed_records == 0

    assert not SealedRecord.objects.filter(record_id=beyond).exists()
    report = verify()
    assert_broken_at(report, 1, "inserted")
    assert report["unsealed"]["records"] == 1


def test_the_sealer_runs_the_same_queries_per_batch_however_long_the_chain():
    def two_batches() -> list[str]:
        write_records(4)
        with CaptureQueriesContext(connection) as queries:
            assert chain_seal(batch_size=2).sealed_batches == 2
        return [q["sql"] for q in queries.captured_queries]

    write_records(3)
    chain_seal()
    short = two_batches()
    write_records(60)
    chain_seal(batch_size=2)
    long = two_batches()

    assert SealBatch.objects.count() == 35
    assert len(long) == len(short)
    # A batch: its transaction (and lock), the head, the records, the batch, its members; then
    # the same up to the records, which are none, and the head to print.
    assert len(long) <= 3 * 7 + 1
    # The records are sought from the head, never found by reading every sealed one.
    unsealed = [sql for sql in long if "audit_accessrecord" in sql and "LIMIT" in sql]
    assert unsealed
    assert all('"audit_accessrecord"."at" >=' in sql for sql in unsealed)


# --- tampering ------------------------------------------------------------------------------------


def test_an_edited_record_is_detected_in_its_batch(three_batches):
    record = members(2)[1]

    tamper(
        (
            "UPDATE audit_accessrecord SET purpose = %s WHERE id = %s",
            ["court_compliance", db(AccessRecord, "id", record.id)],
        )
    )

    report = verify()
    assert_broken_at(report, 2, "edited")
    assert str(record.id) not in report["problem"]


def test_a_deleted_record_is_detected_in_its_batch(three_batches):
    record_id = db(AccessRecord, "id", members(2)[1].id)

    tamper(
        ("DELETE FROM audit_accessindexentry WHERE record_id = %s", [record_id]),
        ("DELETE FROM audit_sealedrecord WHERE record_id = %s", [record_id]),
        ("DELETE FROM audit_accessrecord WHERE id = %s", [record_id]),
    )

    assert_broken_at(verify(), 2, "deleted")


def test_a_record_inserted_into_a_sealed_batch_is_detected(three_batches):
    batch = SealBatch.objects.get(number=2)
    new_id = insert_copy(members(2)[0], at=batch.last_at)

    tamper(
        (
            "INSERT INTO audit_sealedrecord (record_id, batch_id, position) VALUES (%s, %s, %s)",
            [db(AccessRecord, "id", new_id), 2, 3],
        )
    )

    assert_broken_at(verify(), 2, "inserted")


def test_an_unsealed_record_dated_inside_the_sealed_range_is_detected_naming_its_batch(
    three_batches, settings
):
    settings.AUDIT_SEAL_GRACE_SECONDS = 0
    first, second = SealBatch.objects.filter(number__in=(1, 2)).order_by("number")
    # After batch 1's last record, before batch 2's: batch 2's range covers it.
    at = first.last_at + (second.last_at - first.last_at) / 2
    insert_copy(members(1)[0], at=at)

    report = verify()

    assert_broken_at(report, 2, "inserted")
    assert report["unsealed"]["records"] == 1


def test_an_unsealed_record_dated_before_the_whole_chain_names_the_first_batch(three_batches):
    first = SealBatch.objects.get(number=1)
    insert_copy(members(2)[0], at=first.first_at - timedelta(days=30))

    assert_broken_at(verify(), 1, "inserted")


def test_a_backdated_record_is_left_unsealed_by_the_next_run_and_still_reported(
    three_batches, referrer, referral
):
    # The sealer seeks from the chain's head less the grace: a record dated further back was
    # not written by a request, and stays where the verifier reports it.
    first = SealBatch.objects.get(number=1)
    backdated = insert_copy(members(2)[0], at=first.first_at - timedelta(days=30))
    read(referrer, referral)

    result = chain_seal()

    assert result.sealed_records == 1
    assert not SealedRecord.objects.filter(record_id=backdated).exists()
    report = verify()
    assert_broken_at(report, 1, "inserted")
    assert report["unsealed"]["records"] == 1


def test_a_record_dated_in_the_future_is_detected_once_sealed(three_batches):
    insert_copy(members(2)[0], at=SealBatch.objects.get(number=3).sealed_at + timedelta(days=1))

    chain_seal()

    assert_broken_at(verify(), 4, "inserted")


def test_swapped_positions_are_detected_as_reordering(three_batches):
    a, b = (db(AccessRecord, "id", r.id) for r in members(2)[:2])

    tamper(
        ("UPDATE audit_sealedrecord SET position = 99 WHERE record_id = %s", [a]),
        ("UPDATE audit_sealedrecord SET position = 0 WHERE record_id = %s", [b]),
        ("UPDATE audit_sealedrecord SET position = 1 WHERE record_id = %s", [a]),
    )

    assert_broken_at(verify(), 2, "reordered")


def test_swapped_times_are_detected_as_reordering(three_batches):
    a, b = members(2)[:2]

    tamper(
        *(
            (
                "UPDATE audit_accessrecord SET at = %s WHERE id = %s",
                [db(AccessRecord, "at", x.at), db(AccessRecord, "id", y.id)],
            )
            for x, y in ((a, b), (b, a))
        )
    )

    assert_broken_at(verify(), 2, "reordered")


def test_a_batch_that_does_not_link_to_the_one_before_is_detected(three_batches):
    tamper(("UPDATE audit_sealbatch SET previous_hash = %s WHERE number = 3", ["f" * 64]))

    assert_broken_at(verify(), 3, "link")


def test_an_edited_batch_hash_is_detected_in_that_batch(three_batches):
    tamper(("UPDATE audit_sealbatch SET hash = %s WHERE number = 2", ["e" * 64]))

    assert_broken_at(verify(), 2, "edited")


def test_an_edited_record_whose_batch_was_rehashed_breaks_the_link_of_the_next(three_batches):
    # Someone who edits a record and recomputes its batch's hash still breaks the chain.
    record = members(2)[0]
    tamper(
        (
            "UPDATE audit_accessrecord SET status = 418 WHERE id = %s",
            [db(AccessRecord, "id", record.id)],
        )
    )
    batch = SealBatch.objects.get(number=2)
    rehashed = batch_hash(
        previous_hash=batch.previous_hash,
        number=2,
        digests=[record_digest(r) for r in members(2)],
    )
    tamper(("UPDATE audit_sealbatch SET hash = %s WHERE number = 2", [rehashed]))

    assert_broken_at(verify(), 3, "link")


def test_a_missing_batch_is_detected(three_batches):
    tamper(
        ("DELETE FROM audit_sealedrecord WHERE batch_id = %s", [2]),
        ("DELETE FROM audit_sealbatch WHERE number = %s", [2]),
    )

    assert_broken_at(verify(), 2, "missing")


def test_a_renumbered_batch_is_detected(three_batches):
    tamper(
        ("UPDATE audit_sealbatch SET number = 7 WHERE number = 3", []),
        ("UPDATE audit_sealedrecord SET batch_id = 7 WHERE batch_id = 3", []),
    )

    assert_broken_at(verify(), 3, "missing")


@pytest.mark.parametrize("change", ["edited", "added", "removed", "redated"])
def test_a_changed_search_index_entry_of_a_sealed_record_is_detected(three_batches, change):
    record = members(2)[2]
    entry = AccessIndexEntry.objects.filter(record=record).first()
    statement = {
        "edited": ("UPDATE audit_accessindexentry SET value = %s WHERE id = %s", ["x", entry.id]),
        "added": (
            "INSERT INTO audit_accessindexentry (record_id, kind, value, at) "
            "VALUES (%s, %s, %s, %s)",
            [
                db(AccessRecord, "id", record.id),
                "referral",
                str(uuid.uuid4()),
                db(AccessIndexEntry, "at", record.at),
            ],
        ),
        "removed": ("DELETE FROM audit_accessindexentry WHERE id = %s", [entry.id]),
        "redated": (
            "UPDATE audit_accessindexentry SET at = %s WHERE id = %s",
            [db(AccessIndexEntry, "at", record.at + timedelta(seconds=1)), entry.id],
        ),
    }[change]

    tamper(statement)

    assert_broken_at(verify(), 2, "search index")


def test_the_first_bad_batch_is_named_when_several_are_broken(three_batches):
    tamper(
        ("UPDATE audit_sealbatch SET previous_hash = %s WHERE number = 3", ["f" * 64]),
        (
            "UPDATE audit_accessrecord SET status = 418 WHERE id = %s",
            [db(AccessRecord, "id", members(2)[0].id)],
        ),
    )

    assert_broken_at(verify(), 2, "edited")


# --- the digest ---------------------------------------------------------------------------------


def test_the_digest_covers_every_access_record_field():
    sealed = [*SEALED_FIELDS, *SEALED_WHEN_SET]
    assert sorted(sealed) == sorted(f.attname for f in AccessRecord._meta.concrete_fields), (
        "a field of AccessRecord is missing from audit.chain.SEALED_FIELDS (or gone from it)"
    )


def test_a_field_added_later_leaves_the_digest_of_a_record_without_it_unchanged(seven_records):
    record = AccessRecord.objects.first()
    for name, default in SEALED_WHEN_SET.items():
        setattr(record, name, default)  # as a record written before the field existed
    before = record_digest(record)
    holding = {"tried": "tried-client", "burst": {"count": 2}, "channel": "web"}

    assert set(holding) == set(SEALED_WHEN_SET)
    for name, default in SEALED_WHEN_SET.items():
        setattr(record, name, holding[name])
        assert record_digest(record) != before, name
        setattr(record, name, default)
        assert record_digest(record) == before, name


def changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, uuid.UUID | type(None)):
        return uuid.uuid4()
    if isinstance(value, list):
        return [*value, "x"]
    raise AssertionError(f"no change for {value!r}")


def test_changing_any_field_changes_the_record_digest(seven_records):
    record = AccessRecord.objects.exclude(ip=None).first()
    digest = record_digest(record)

    for name in SEALED_FIELDS:
        copy = AccessRecord.objects.get(id=record.id)
        setattr(copy, name, changed(getattr(copy, name)))
        assert record_digest(copy) != digest, name
        assert record_digest(AccessRecord.objects.get(id=record.id)) == digest


# Text a database column holds: any character but NUL (which PostgreSQL refuses) and lone
# surrogates (which no encoding has).
TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(TEXT, max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


def words(max_size: int) -> st.SearchStrategy[str]:
    return st.text(TEXT, max_size=max_size)


# Decisions as the hub writes them: per referral, bases naming their supplier (or none).
DECISIONS = st.lists(
    st.fixed_dictionaries(
        {
            "referral": st.text(TEXT, max_size=36),
            "disclosed": st.lists(st.text(TEXT, max_size=20), max_size=2),
            "bases": st.lists(
                st.fixed_dictionaries(
                    {
                        "supplier": st.none() | st.text(TEXT, max_size=36),
                        "agreement_version": st.integers(),
                    }
                ),
                max_size=2,
            ),
        }
    ),
    max_size=2,
)


@st.composite
def access_records(draw: st.DrawFn, decisions: st.SearchStrategy = JSON_VALUES) -> dict[str, Any]:
    """Every field of an access record, unusual values included, and each later field either
    at its default or set."""
    return {
        "agency_ref": draw(words(36)),
        "agency_kind": draw(words(32)),
        "client": draw(words(100)),
        "person": draw(words(36)),
        "purpose": draw(words(32)),
        "justification": draw(words(60)),
        "flagged": draw(st.booleans()),
        "method": draw(words(10)),
        "path": draw(words(80)),
        "query": draw(words(80)),
        "status": draw(st.integers(min_value=0, max_value=32767)),
        "outcome": draw(st.sampled_from(["served", "refused", "failed"])),
        "ip": draw(st.sampled_from([None, "10.1.2.3", "::1", "2001:db8::7"])),
        "request_id": draw(words(128)),
        "referrals": draw(st.lists(words(36), max_size=3)),
        "persons": draw(st.lists(words(36), max_size=3)),
        "disclosed": draw(st.lists(words(20), max_size=3, unique=True)),
        "withheld": draw(st.lists(JSON_VALUES, max_size=2)),
        "decisions": draw(decisions),
        "tried": draw(st.sampled_from(["", "a-client", "é"]) | words(150)),
        "burst": draw(st.none() | JSON_VALUES),
        "channel": draw(st.sampled_from([None, "api", "web"]) | words(8)),
    }


PROPERTY_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(PROPERTY_SETTINGS, max_examples=60)
@given(
    # Any JSON but null, which Django writes as SQL NULL, refused by a field without null=True.
    fields=access_records(decisions=JSON_VALUES.filter(lambda value: value is not None)),
    with_agency=st.booleans(),
)
def test_a_record_read_as_a_row_has_the_digest_of_its_model(world, fields, with_agency):
    agency = world[AgencyKind.POLICE] if with_agency else None
    created = AccessRecord.objects.create(agency=agency, **fields)

    (row,) = record_rows(
        AccessRecord.objects.filter(id=created.id).values_list(*record_row_columns())
    )

    assert row_digest(row) == record_digest(AccessRecord.objects.get(id=created.id))


@settings(PROPERTY_SETTINGS, max_examples=15)
@given(records=st.lists(access_records(decisions=DECISIONS), min_size=1, max_size=12))
def test_records_of_every_shape_sealed_from_rows_verify_from_rows_and_from_models(world, records):
    for fields in records:
        record = AccessRecord.objects.create(agency=world[AgencyKind.COURT], **fields)
        AccessIndexEntry.objects.bulk_create(index_entries_of(record))
    chain_seal(batch_size=5)

    assert verify()["intact"] is True  # the sealer's rows, read again page by page
    previous = None
    for batch in SealBatch.objects.order_by("number"):  # and each batch against its models
        assert chain._batch_fault(batch, previous=previous, sealed_until=None) is None
        previous = batch


def test_an_intact_chain_is_judged_from_its_pages_rows_never_batch_by_batch(
    three_batches, referrer, referral, monkeypatch
):
    insert_copy(members(1)[0], at=SealBatch.objects.get(number=3).last_at - timedelta(seconds=1))
    read(referrer, referral)
    chain_seal(batch_size=3)
    monkeypatch.setattr(chain, "_batch_fault", forbidden)

    assert verify()["intact"] is True


def test_the_verifier_reads_a_page_of_batches_with_the_same_queries_however_many(
    seven_records, monkeypatch
):
    chain_seal(batch_size=1)
    with CaptureQueriesContext(connection) as seven:
        assert verify()["intact"] is True
    write_records(40)
    chain_seal(batch_size=1)

    with CaptureQueriesContext(connection) as forty_seven:
        assert verify()["sealed"]["batches"] == 47

    assert len(forty_seven) == len(seven)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_workers_judge_the_pages_of_a_long_chain_and_report_the_same(monkeypatch, caplog):
    # Committed records: the workers read them in the verifier's snapshot, from processes of
    # their own. Pages of 3 records here, and a worker for every record.
    write_records(20)
    chain_seal(batch_size=2)
    monkeypatch.setattr(chain, "_RECORDS_PER_PAGE", 3)
    monkeypatch.setattr(chain, "_RECORDS_PER_WORKER", 1)
    alone = VERIFY_BODY(chain_verify())
    # From here on, no page may be judged in this process: only in the workers.
    monkeypatch.setattr(chain.Page, "intact_batches", forbidden)
    monkeypatch.setattr(chain, "_batch_fault", forbidden)

    shared = VERIFY_BODY(chain_verify(workers=2))

    assert shared == alone
    assert shared["intact"] is True
    assert "worker failed" not in caplog.text


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_workers_leave_a_broken_batch_to_the_walk_which_names_it(monkeypatch):
    write_records(20)
    chain_seal(batch_size=2)
    monkeypatch.setattr(chain, "_RECORDS_PER_PAGE", 3)
    monkeypatch.setattr(chain, "_RECORDS_PER_WORKER", 1)
    tamper(
        (
            "UPDATE audit_accessrecord SET status = 418 WHERE id = %s",
            [db(AccessRecord, "id", members(6)[1].id)],
        )
    )

    report = VERIFY_BODY(chain_verify(workers=2))

    assert report == VERIFY_BODY(chain_verify())
    assert_broken_at(report, 6, "edited")


# --- commands -------------------------------------------------------------------------------------


def test_audit_seal_prints_what_it_sealed(seven_records, settings):
    settings.AUDIT_SEAL_BATCH_SIZE = 3

    first = run_command("audit_seal")
    head = {"batch": 3, "hash": SealBatch.objects.get(number=3).hash}
    assert first == {"sealed_batches": 3, "sealed_records": 7, "last_batch": 3, "head": head}
    assert run_command("audit_seal") == {
        "sealed_batches": 0,
        "sealed_records": 0,
        "last_batch": None,
        "head": head,
    }


def test_audit_verify_refuses_fewer_than_one_worker():
    with pytest.raises(CommandError):
        run_command("audit_verify", "--workers", "0")


def test_audit_seal_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError):
        run_command("audit_seal", "--batch-size", "0")


def test_audit_verify_prints_the_report_when_intact(three_batches):
    report = run_command("audit_verify")

    assert report == verify()
    assert report["intact"] is True


def test_audit_verify_fails_naming_the_first_bad_batch_and_still_prints_the_report(
    three_batches,
):
    tamper(
        (
            "UPDATE audit_accessrecord SET status = 418 WHERE id = %s",
            [db(AccessRecord, "id", members(3)[0].id)],
        )
    )
    out = StringIO()

    with pytest.raises(CommandError, match="batch 3"):
        call_command("audit_verify", stdout=out)

    (line,) = out.getvalue().splitlines()
    assert json.loads(line)["first_bad_batch"] == 3
    assert json.loads(line)["intact"] is False


def test_the_commands_exit_codes_on_a_migrated_database_file(tmp_path):
    # The real commands in their own processes, against a database file migrated from
    # scratch: the triggers are there, and a record changed behind them is caught.
    database = tmp_path / "hub.sqlite3"
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "chain-test",
        "DEBUG": "0",
    }

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert manage("migrate", "-v0").returncode == 0
    created = manage(
        "shell",
        "-c",
        "from audit.models import AccessRecord\n"
        "for n in range(3):\n"
        "    AccessRecord.objects.create(method='GET', path=f'/p/{n}', status=200,"
        " outcome='served', request_id=str(n))",
    )
    assert created.returncode == 0, created.stderr

    sealed = manage("audit_seal", "--batch-size", "2")
    assert sealed.returncode == 0, sealed.stderr
    printed = json.loads(sealed.stdout)
    assert (printed["sealed_batches"], printed["sealed_records"], printed["last_batch"]) == (
        2,
        3,
        2,
    )
    assert printed["head"]["batch"] == 2
    verified = manage("audit_verify")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["intact"] is True

    with sqlite3.connect(database) as raw:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("UPDATE audit_accessrecord SET status = 500")
        raw.execute("DROP TRIGGER audit_accessrecord_no_update")
        raw.execute("UPDATE audit_accessrecord SET status = 500 WHERE path = '/p/2'")
    raw.close()

    broken = manage("audit_verify")
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert (report["intact"], report["first_bad_batch"]) == (False, 2)
    assert "batch 2" in broken.stderr


# --- concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_record_committed_after_a_seal_its_transaction_predates_is_sealed_by_the_next_run(
    referrer, referral
):
    inserted, commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_request() -> None:
        try:
            with transaction.atomic():
                access_record_write(
                    origin=Origin.of(RequestFactory().get("/api/v1/referrals/"), Channel.API),
                    actor=None,
                    status=401,
                )
                inserted.set()
                assert commit.wait(timeout=30)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            inserted.set()
        finally:
            connection.close()

    thread = threading.Thread(target=slow_request)
    thread.start()
    assert inserted.wait(timeout=30)
    read(referrer, referral)  # dated after the slow request's record, committed before it

    first = chain_seal()
    before_commit = verify()
    commit.set()
    thread.join(timeout=30)

    assert not errors
    assert first.sealed_records == 2
    assert before_commit["intact"] is True
    assert before_commit["unsealed"]["records"] == 0
    late = AccessRecord.objects.get(seal__isnull=True)
    assert late.at < SealBatch.objects.get(number=first.last_batch).last_at
    after_commit = verify()
    assert after_commit["intact"] is True
    assert after_commit["unsealed"]["records"] == 1

    second = chain_seal()

    assert (second.sealed_records, second.last_batch) == (1, first.last_batch + 1)
    assert SealedRecord.objects.get(record=late).batch_id == second.last_batch
    assert verify()["intact"] is True


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_sealers_at_once_seal_each_record_exactly_once(referrer, referral):
    for _ in range(9):
        read(referrer, referral)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def seal() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(chain_seal(batch_size=2))
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=seal) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert sum(r.sealed_records for r in results) == AccessRecord.objects.count() == 10
    assert list(SealBatch.objects.values_list("number", flat=True)) == [1, 2, 3, 4, 5]
    assert verify()["intact"] is True


# --- anchoring the head ---------------------------------------------------------------------------


def test_a_cut_off_end_of_the_chain_is_detected_against_a_kept_anchor(three_batches):
    anchor = run_command("audit_seal")["head"]
    assert anchor["batch"] == 3
    last = list(members(3))
    with protections_lifted(), connection.cursor() as cursor:
        # Remove the last batch and its records entirely: nothing left inside contradicts it.
        for member in last:
            record_id = db(AccessRecord, "id", member.id)
            cursor.execute("DELETE FROM audit_sealedrecord WHERE record_id = %s", [record_id])
            cursor.execute("DELETE FROM audit_accessindexentry WHERE record_id = %s", [record_id])
            cursor.execute("DELETE FROM audit_accessrecord WHERE id = %s", [record_id])
        cursor.execute("DELETE FROM audit_sealbatch WHERE number = 3")

    assert verify()["intact"] is True  # without the anchor, a shorter chain looks whole
    with pytest.raises(CommandError):
        run_command("audit_verify", "--anchor", f"{anchor['batch']}:{anchor['hash']}")
    report = VERIFY_BODY(chain_verify(anchor=Anchor.parse(f"3:{anchor['hash']}")))
    assert (report["intact"], report["first_bad_batch"]) == (False, 3)
    assert "anchored" in report["problem"]


def test_an_anchor_that_still_holds_keeps_the_chain_intact(three_batches):
    head = SealBatch.objects.get(number=2)

    report = VERIFY_BODY(chain_verify(anchor=Anchor(batch=2, hash=head.hash)))
    wrong = VERIFY_BODY(chain_verify(anchor=Anchor(batch=2, hash="f" * 64)))

    assert report["intact"] is True
    assert (wrong["intact"], wrong["first_bad_batch"]) == (False, 2)


@pytest.mark.parametrize("text", ["3", "0:" + "a" * 64, "2:abc", "x:" + "a" * 64])
def test_a_malformed_anchor_is_refused(text):
    with pytest.raises(ValueError):
        Anchor.parse(text)
