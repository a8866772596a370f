"""The hash chain over access records: sealing and verifying.

Requests insert records freely, with no lock and no knowledge of the chain. A sealer (manage.py
audit_seal, run every minute) takes the committed records that have no seal yet, oldest first,
and seals them into consecutive batches. A batch's hash covers the previous batch's hash, its
number, and the digest of every member in position order; a record's digest covers every
field of the record. Editing, deleting, inserting or reordering a sealed record, or touching
its search index entries, therefore breaks the chain from that batch on.

A record whose request's transaction was still open when the sealer ran is simply sealed by
the next run. Its `at` may then lie before the end of the sealed range, but never by more
than AUDIT_SEAL_GRACE_SECONDS (the longest a request's transaction may stay open): a record
further back than that was not written by a request, and the verifier reports it as inserted.
So the sealer looks for unsealed records from the chain's head less that grace, never through
the sealed ones behind it; one further back stays unsealed, and reported.
"""

import gc
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, JSONField, Max, Min, QuerySet, Sum, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from audit.models import AccessIndexEntry, AccessRecord, FlagReview, SealBatch, SealedRecord
from audit.services import index_entries_of, index_values_of

GENESIS_HASH = "0" * 64

# Every concrete field of AccessRecord, by attname (the foreign key as its id). A test checks
# that this covers every field, so that a field added later cannot escape the hash. Adding one
# changes the digest of every record sealed before it, unless it is hashed only when it holds
# something other than its default: decide that when adding it, and keep this order.
SEALED_FIELDS = (
    "id",
    "at",
    "agency_id",
    "agency_ref",
    "agency_kind",
    "client",
    "person",
    "purpose",
    "justification",
    "flagged",
    "method",
    "path",
    "query",
    "status",
    "outcome",
    "ip",
    "request_id",
    "referrals",
    "persons",
    "disclosed",
    "withheld",
    "decisions",
)
# Fields added after records were first sealed, hashed only when they differ from their default
# (given here), so that every record sealed before them keeps its digest.
SEALED_WHEN_SET: dict[str, Any] = {"tried": "", "burst": None, "channel": None}

# Any 64-bit constant will do, as long as only the sealer takes it.
_SEALER_LOCK = 0x6175646974_5EA1  # "audit", seal

# The verifier reads the chain a page at a time, never whole: up to this many batches per query,
# and their records (with their index entries) up to this many per query, or one batch's.
_BATCHES_PER_PAGE = 1000
_RECORDS_PER_PAGE = 10_000
# Sealed records per worker process verifying, at least (chain_verify(workers=N)).
_RECORDS_PER_WORKER = 50_000


def _plain(value: Any) -> Any:
    """A field's value as JSON: datetimes as ISO strings exactly as read from the database."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    return value


def record_digest(record: AccessRecord) -> str:
    """sha256 of a canonical JSON of every field of the record (as read from the database)."""
    fields = {name: _plain(getattr(record, name)) for name in SEALED_FIELDS}
    for name, default in SEALED_WHEN_SET.items():
        value = getattr(record, name)
        if value != default:
            fields[name] = _plain(value)
    canonical = json.dumps(
        fields,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# A record read as a row rather than a model: every sealed field in this order, each JSON field
# as the text the database holds (record_row_columns). The sealer and the verifier read records
# this way, thousands at a time; row_digest(row) is record_digest(record) byte for byte
# (tests/test_audit_chain.py checks it over generated records).
RECORD_ROW = (*SEALED_FIELDS, *SEALED_WHEN_SET)
_JSON_FIELDS = {
    field.attname: field
    for field in AccessRecord._meta.concrete_fields
    if isinstance(field, JSONField)
}
_ID, _AT = RECORD_ROW.index("id"), RECORD_ROW.index("at")
_ALWAYS = object()
# record_digest's JSON in order: its keys sorted, the value's place in the row, the field's
# name if its value is JSON text, and the default that leaves a later field out.
_DIGEST_PLAN = tuple(
    (
        encode_basestring_ascii(name) + ":",
        RECORD_ROW.index(name),
        name if name in _JSON_FIELDS else None,
        SEALED_WHEN_SET.get(name, _ALWAYS),
    )
    for name in sorted(RECORD_ROW)
)
_ENCODE = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str
).encode


def record_row_columns(through: str = "") -> list[Any]:
    """values_list() arguments that read a record as a RECORD_ROW: on AccessRecord, or
    `through` a relation to it ("record__")."""
    return [
        Cast(through + name, TextField()) if name in _JSON_FIELDS else through + name
        for name in RECORD_ROW
    ]


def record_rows(values: QuerySet) -> list[tuple]:
    """The rows of a values_list() that starts with record_row_columns(): RECORD_ROWs, each
    followed by the list's other columns. On PostgreSQL they are fetched with psycopg's own
    loaders for times (in C: Django's is Python, and cost more than the rest of the row) and
    ids as text (how the digest writes them, the database's canonical form): on any other
    database, as Django reads them."""
    if connection.vendor != "postgresql":
        return list(values)
    from psycopg.types.datetime import TimestamptzLoader
    from psycopg.types.string import TextLoader

    sql, params = values.query.sql_with_params()
    with connection.cursor() as cursor:
        # This cursor's own loaders; the connection's are left as they were.
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.cursor.adapters.register_loader("uuid", TextLoader)
        cursor.execute(sql, params)
        return cursor.fetchall()


class JsonTexts:
    """JSON text already met, per field, with its value and its JSON: the same lists of
    categories, reasons and suppliers recur from record to record, and are decoded once."""

    def __init__(self, *, limit: int = 10_000) -> None:
        # Per field, then forgotten: with 50,000 a verifying process held 430 MB, with 10,000
        # 190 MB, at the same rate (over the bench's million records).
        self.limit = limit
        self.fields: dict[str, dict[str | None, tuple[Any, str]]] = {n: {} for n in _JSON_FIELDS}

    def get(self, name: str, text: str | None) -> tuple[Any, str]:
        known = self.fields[name]
        found = known.get(text)
        if found is None:
            if len(known) >= self.limit:
                known.clear()
            # Exactly what the model holds: JSONField's own conversion of the database's text.
            value = _JSON_FIELDS[name].from_db_value(text, None, connection)
            found = known[text] = (value, _encoded(value))
        return found


def _encoded(value: Any) -> str:
    """The value as record_digest's JSON writes it; the common types without the encoder's
    set-up, the same characters."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int:
        return int.__repr__(value)
    if kind is UUID:
        return encode_basestring_ascii(str(value))
    if kind is datetime:
        return encode_basestring_ascii(value.isoformat())
    return _ENCODE(_plain(value))


def row_digest(row: Sequence[Any], json_texts: JsonTexts | None = None) -> str:
    """record_digest of a record read as a RECORD_ROW, without building the model (JSON text
    met before is taken from `json_texts` rather than decoded again)."""
    texts = JsonTexts() if json_texts is None else json_texts
    parts = []
    for key, index, name, default in _DIGEST_PLAN:
        value = row[index]
        if name is None:
            encoded = None
        else:
            value, encoded = texts.get(name, value)
        if default is _ALWAYS or value != default:
            parts.append(key + (_encoded(value) if encoded is None else encoded))
    canonical = "{" + ",".join(parts) + "}"
    return hashlib.sha256(canonical.encode()).hexdigest()


def batch_hash(*, previous_hash: str, number: int, digests: Iterable[str]) -> str:
    """sha256 over the previous batch's hash, this batch's number and its members' digests."""
    return hashlib.sha256("\n".join([previous_hash, str(number), *digests]).encode()).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """A batch number and its hash, as recorded somewhere the database cannot rewrite."""

    batch: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> "Anchor":
        number, _, digest = text.partition(":")
        if not number.isdigit() or int(number) < 1 or len(digest) != 64:
            raise ValueError("An anchor is BATCH:HASH (a batch number and its 64-hex hash).")
        return cls(batch=int(number), hash=digest.lower())

    def as_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "hash": self.hash}


def chain_head() -> Anchor | None:
    last = SealBatch.objects.order_by("-number").first()
    return Anchor(batch=last.number, hash=last.hash) if last else None


@dataclass(frozen=True)
class SealResult:
    """What one run of the sealer did (`last_batch` is None when there was nothing to seal)."""

    sealed_batches: int
    sealed_records: int
    last_batch: int | None
    # The chain's head after the run. Kept outside the database (the timer's log, a ticket),
    # it anchors the chain: `audit_verify --anchor N:HASH` then also detects a cut-off end.
    head: Anchor | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sealed_batches": self.sealed_batches,
            "sealed_records": self.sealed_records,
            "last_batch": self.last_batch,
            "head": self.head.as_dict() if self.head else None,
        }


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Sealing and verifying decode and build millions of small lists, dicts and tuples, and
    keep none in a reference cycle: reference counting frees them all. The cycle collector
    would only scan them, and the pages and caches held meanwhile, over and over (measured:
    it tripled the cost of decoding a record's JSON). For the commands and worker processes
    only: the switch is process-wide, and a threaded app server's other requests need it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _take_sealer_lock() -> None:
    # Two sealers at once would both number a batch N+1. On PostgreSQL the second waits here
    # until the first commits, then reads what it sealed. SQLite needs nothing: the hub opens
    # IMMEDIATE transactions (hub/settings.py), which already serialise writers. (Were they
    # deferred, the second sealer would fail on the batch number's primary key: an error,
    # never a forked chain.)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEALER_LOCK])


class _Batch(NamedTuple):
    """A sealed batch as the sealer and the verifier read it: SealBatch's fields, no model."""

    number: int
    sealed_at: datetime
    size: int
    first_at: datetime
    last_at: datetime
    previous_hash: str
    hash: str


def _read_batches(batches: Any) -> list[_Batch]:
    return [_Batch._make(row) for row in batches.values_list(*_Batch._fields)]


def _unsealed_from(head: _Batch) -> datetime:
    """The earliest a record written by a request can be dated, if it is still unsealed once
    `head` is sealed: the sealer seeks from here instead of reading the whole table.

    A record committed before `head`'s run read the table, and left out of it, comes after
    `head`'s last record in (at, id) order. One committed after that read was dated, in its
    transaction, at most a grace before the read: at most a grace before `head`'s last record
    (or before `head` was sealed, if a record dated in the future was sealed, which
    audit_verify reports). Anything older that is still unsealed was not written by a
    request: it stays unsealed, and audit_verify reports it as inserted."""
    grace = timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS)
    return min(head.last_at, head.sealed_at) - grace


def _seal_one_batch(*, size: int, texts: JsonTexts) -> SealBatch | None:
    with transaction.atomic():
        _take_sealer_lock()
        heads = _read_batches(SealBatch.objects.order_by("-number")[:1])
        head = heads[0] if heads else None
        # Only committed records are visible here; one still in flight is the next run's.
        unsealed = AccessRecord.objects.filter(seal__isnull=True)
        if head is not None:
            unsealed = unsealed.filter(at__gte=_unsealed_from(head))
        rows = record_rows(unsealed.order_by("at", "id").values_list(*record_row_columns())[:size])
        if not rows:
            return None
        rows.sort(key=lambda row: (row[_AT], row[_ID]))
        number = head.number + 1 if head else 1
        previous_hash = head.hash if head else GENESIS_HASH
        batch = SealBatch.objects.create(
            number=number,
            size=len(rows),
            first_at=rows[0][_AT],
            last_at=rows[-1][_AT],
            previous_hash=previous_hash,
            hash=batch_hash(
                previous_hash=previous_hash,
                number=number,
                digests=[row_digest(row, texts) for row in rows],
            ),
        )
        SealedRecord.objects.bulk_create(
            SealedRecord(record_id=row[_ID], batch_id=number, position=position)
            for position, row in enumerate(rows)
        )
        return batch


def chain_seal(*, batch_size: int | None = None) -> SealResult:
    """Seal every committed record that has no seal yet: full batches of `batch_size`
    (default settings.AUDIT_SEAL_BATCH_SIZE), then a partial one. Each batch is its own
    transaction, so requests keep writing records while a long backlog is sealed."""
    size = settings.AUDIT_SEAL_BATCH_SIZE if batch_size is None else batch_size
    if size < 1:
        raise ValueError("batch_size must be positive")
    batches = records = 0
    last_number: int | None = None
    texts = JsonTexts()
    while (batch := _seal_one_batch(size=size, texts=texts)) is not None:
        batches += 1
        records += batch.size
        last_number = batch.number
    return SealResult(
        sealed_batches=batches,
        sealed_records=records,
        last_batch=last_number,
        head=chain_head(),
    )


@dataclass(frozen=True)
class VerifyReport:
    """The chain's state: the sealed range, the unsealed tail, and the first bad batch."""

    intact: bool
    sealed_batches: int
    sealed_records: int
    sealed_from: datetime | None
    sealed_to: datetime | None
    unsealed_records: int
    unsealed_from: datetime | None
    unsealed_to: datetime | None
    first_bad_batch: int | None = None
    problem: str | None = None
    head: Anchor | None = None


@dataclass(frozen=True)
class _Fault:
    batch: int
    what: str

    @property
    def problem(self) -> str:
        return f"batch {self.batch}: {self.what}"


class _PageOfBatches(NamedTuple):
    """Consecutive batches, and what the walk knows when it reaches the first of them."""

    batches: list[_Batch]
    previous: _Batch | None
    sealed_until: datetime | None


def _pages() -> Iterator[_PageOfBatches]:
    """The chain's batches in order, in runs of consecutive batches of _RECORDS_PER_PAGE
    records at most (or a single batch, however large)."""
    after = 0
    previous: _Batch | None = None
    sealed_until: datetime | None = None
    while True:
        batches = _read_batches(
            SealBatch.objects.filter(number__gt=after).order_by("number")[:_BATCHES_PER_PAGE]
        )
        pages: list[list[_Batch]] = []
        records = 0
        for batch in batches:
            if not pages or records + batch.size > _RECORDS_PER_PAGE:
                pages.append([])
                records = 0
            pages[-1].append(batch)
            records += batch.size
        for page in pages:
            yield _PageOfBatches(page, previous, sealed_until)
            previous = page[-1]
            for batch in page:
                sealed_until = _sealed_until(sealed_until, batch)
        if len(batches) < _BATCHES_PER_PAGE:
            return
        after = batches[-1].number


def _sealed_until(before: datetime | None, batch: _Batch) -> datetime:
    """The end of the sealed range once `batch` is walked."""
    return max(before, batch.last_at) if before else batch.last_at


def _index_fault(batch: _Batch, records: list[AccessRecord]) -> str | None:
    stored: dict[UUID, Counter] = {record.id: Counter() for record in records}
    for record_id, kind, value, at in AccessIndexEntry.objects.filter(
        record__seal__batch_id=batch.number
    ).values_list("record_id", "kind", "value", "at"):
        stored.setdefault(record_id, Counter())[(kind, value, at)] += 1
    for position, record in enumerate(records):
        implied = Counter((e.kind, e.value, e.at) for e in index_entries_of(record))
        if stored[record.id] != implied:
            return f"search index entries of the record at position {position} differ from it"
    return None


def _batch_fault(
    batch: _Batch, *, previous: _Batch | None, sealed_until: datetime | None
) -> str | None:
    """What is wrong with one batch, given the one before it (None: it is intact). Batch by
    batch, with models: the verifier's reference, and how a batch that Page does not find
    intact is judged (and named)."""
    n = batch.number
    previous_hash = previous.hash if previous else GENESIS_HASH
    if batch.previous_hash != previous_hash:
        before = f"batch {previous.number}" if previous else "the start of the chain"
        return f"does not link to {before} (its previous hash differs)"
    members = list(
        SealedRecord.objects.filter(batch_id=n).select_related("record").order_by("position")
    )
    if len(members) < batch.size:
        return f"holds {len(members)} of its {batch.size} sealed records (deleted)"
    if len(members) > batch.size:
        return f"holds {len(members)} records, {batch.size} were sealed (inserted)"
    if [m.position for m in members] != list(range(batch.size)):
        return f"positions are not 0 to {batch.size - 1} (renumbered)"
    records = [m.record for m in members]
    for position in range(1, len(records)):
        if (records[position - 1].at, records[position - 1].id) >= (
            records[position].at,
            records[position].id,
        ):
            return (
                f"records at positions {position - 1} and {position} are out of order (reordered)"
            )
    if (records[0].at, records[-1].at) != (batch.first_at, batch.last_at):
        return "time range differs from its records' (a record's time was changed)"
    expected = batch_hash(
        previous_hash=previous_hash, number=n, digests=(record_digest(r) for r in records)
    )
    if expected != batch.hash:
        return "hash mismatch (a sealed record was edited)"
    grace = timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS)
    if sealed_until is not None and batch.first_at < sealed_until - grace:
        # A request's record may be sealed a run late, never this late (see the module doc).
        return "holds a record dated before the batches sealed ahead of it (inserted)"
    if batch.last_at > batch.sealed_at + grace:
        # Only committed records are sealed; one dated after the seal was not a request's,
        # and would make every honest batch after it look late.
        return "holds a record dated after the batch was sealed (inserted)"
    return _index_fault(batch, records)


# What index_values_of reads of a record, and where a RECORD_ROW holds it.
_INDEXED = ("referrals", "persons", "person", "disclosed", "agency_ref", "decisions")
_INDEXED_AT = tuple(RECORD_ROW.index(name) for name in _INDEXED)
# Where a member row holds, after the record (a RECORD_ROW), its batch, its position and, on
# PostgreSQL, its stored index entries as _entry_lines writes them.
_BATCH_ID, _POSITION, _ENTRIES = range(len(RECORD_ROW), len(RECORD_ROW) + 3)


class _Indexed:
    """A record's indexed fields, as index_values_of reads them."""

    __slots__ = _INDEXED

    def __init__(self, values: Sequence[Any]) -> None:
        for name, value in zip(_INDEXED, values, strict=True):
            setattr(self, name, value)


def _entry_line(kind: Any, value: Any) -> str:
    # Each part prefixed with its length, so that no kind or value can pass for two entries
    # (a line that is not two strings matches none: every real one starts with a digit).
    if type(kind) is not str or type(value) is not str:
        return "?"
    return f"{len(kind)}:{kind}{len(value)}:{value}"


def _entry_lines(entries: Iterable[tuple[Any, Any, bool]]) -> str | None:
    """A record's index entries (kind, value, whether it holds the record's time) as one
    string: a line each, in code point order, a line whose time differs marked "!" (None: no
    entry). Equal strings, equal entries."""
    lines = sorted((_entry_line(kind, value), same_time) for kind, value, same_time in entries)
    return "\n".join(line + ("" if same else "!") for line, same in lines) if lines else None


# The same string, written by PostgreSQL for each member row (audit_accessrecord is the
# member's record in the query that reads them). "C": code point order, as Python's.
_PG_LINE = "length(e.kind) || ':' || e.kind || length(e.value) || ':' || e.value"
_PG_ENTRY_LINES = RawSQL(  # noqa: S611 (constants, no input)
    f"""(
        SELECT string_agg(
            coalesce({_PG_LINE}, '?')
                || CASE WHEN e.at = audit_accessrecord.at THEN '' ELSE '!' END,
            E'\\n' ORDER BY ({_PG_LINE}) COLLATE "C"
        )
        FROM audit_accessindexentry e WHERE e.record_id = audit_sealedrecord.record_id
    )""",  # noqa: S608
    [],
    output_field=TextField(),
)


def _stored_entry_lines(first: int, last: int) -> dict[Any, str]:
    """Elsewhere than on PostgreSQL (SQLite, whose group_concat() is not ordered before 3.44):
    _entry_lines of every record sealed in batches `first` to `last`, entry by entry."""
    entries: dict[Any, list[tuple[Any, Any, bool]]] = {}
    for record_id, kind, value, at, record_at in AccessIndexEntry.objects.filter(
        record__seal__batch_id__gte=first, record__seal__batch_id__lte=last
    ).values_list("record_id", "kind", "value", "at", "record__at"):
        entries.setdefault(record_id, []).append((kind, value, at == record_at))
    return {record_id: _entry_lines(them) for record_id, them in entries.items()}


class Page:
    """Consecutive batches, read in one query with their records and index entries, and
    judged from rows: the fast way through an intact chain. It only ever finds a batch intact
    when _batch_fault would; any other batch it leaves to _batch_fault, which names the
    fault."""

    def __init__(self, checker: "Checker", page: _PageOfBatches) -> None:
        self.checker = checker
        self.page = page
        first, last = page.batches[0].number, page.batches[-1].number
        columns = [*record_row_columns("record__"), "batch_id", "position"]
        on_postgresql = connection.vendor == "postgresql"
        if on_postgresql:
            columns.append(_PG_ENTRY_LINES)
        self.members: dict[int, list[tuple]] = {}
        for row in record_rows(
            SealedRecord.objects.filter(batch_id__gte=first, batch_id__lte=last)
            .order_by("batch_id", "position")
            .values_list(*columns)
        ):
            self.members.setdefault(row[_BATCH_ID], []).append(row)
        self.entries = None if on_postgresql else _stored_entry_lines(first, last)

    def intact_batches(self) -> set[int]:
        """The numbers of the page's batches found intact, each following the one before it
        as the walk does."""
        intact = set()
        previous, sealed_until = self.page.previous, self.page.sealed_until
        for batch in self.page.batches:
            if self.intact(batch, previous=previous, sealed_until=sealed_until):
                intact.add(batch.number)
            previous, sealed_until = batch, _sealed_until(sealed_until, batch)
        return intact

    def intact(
        self, batch: _Batch, *, previous: _Batch | None, sealed_until: datetime | None
    ) -> bool:
        rows = self.members.get(batch.number, [])
        previous_hash = previous.hash if previous else GENESIS_HASH
        grace = self.checker.grace
        if (
            batch.previous_hash != previous_hash
            or len(rows) != batch.size
            or not rows
            or (rows[0][_AT], rows[-1][_AT]) != (batch.first_at, batch.last_at)
            or (sealed_until is not None and batch.first_at < sealed_until - grace)
            or batch.last_at > batch.sealed_at + grace
        ):
            return False
        texts, implied, entries = self.checker.texts, self.checker.implied, self.entries
        digests = []
        before: tuple | None = None
        for position, row in enumerate(rows):
            key = (row[_AT], row[_ID])
            if row[_POSITION] != position or (before is not None and before >= key):
                return False
            before = key
            stored = row[_ENTRIES] if entries is None else entries.get(row[_ID])
            lines = implied(row)
            if lines is False or stored != lines:
                return False
            digests.append(row_digest(row, texts))
        expected = batch_hash(previous_hash=previous_hash, number=batch.number, digests=digests)
        return batch.hash == expected


class Checker:
    """What the walk keeps from page to page: JSON text and index entries already met."""

    def __init__(self) -> None:
        self.grace = timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS)
        self.texts = JsonTexts()
        self._implied: dict[tuple, str | bool | None] = {}

    def implied(self, row: Sequence[Any]) -> str | bool | None:
        """_entry_lines of the index entries the record implies (False: values that
        index_values_of does not make plain entries of; _batch_fault judges those)."""
        key = tuple(row[i] for i in _INDEXED_AT)
        found = self._implied.get(key, False)
        if found is not False or key in self._implied:
            return found
        if len(self._implied) >= self.texts.limit:
            self._implied.clear()
        values = [
            self.texts.get(name, value)[0] if name in _JSON_FIELDS else value
            for name, value in zip(_INDEXED, key, strict=True)
        ]
        try:
            pairs = index_values_of(_Indexed(values))
        except (TypeError, AttributeError, ValueError):
            found = False
        else:
            plain = all(type(value) is str for _, value in pairs)
            found = (
                _entry_lines((str(kind), value, True) for kind, value in pairs) if plain else False
            )
        self._implied[key] = found
        return found


def _judged_pages(*, workers: int) -> Iterator[tuple[_PageOfBatches, set[int]]]:
    """Each page of the chain in order, with the numbers of its batches found intact: by this
    process, or by `workers` processes reading the same snapshot (audit.chain_workers)."""
    if workers > 1:
        from audit.chain_workers import judged_in_workers

        yield from judged_in_workers(_pages(), workers=workers)
        return
    checker = Checker()
    for page in _pages():
        yield page, Page(checker, page).intact_batches()


def _walk(*, stop_before: int | None, workers: int = 1) -> _Fault | None:
    judged = _judged_pages(workers=workers)
    with closing(judged):  # stopping early stops the workers too
        return _walk_judged(judged, stop_before=stop_before)


def _walk_judged(
    judged: Iterator[tuple[_PageOfBatches, set[int]]], *, stop_before: int | None
) -> _Fault | None:
    previous: _Batch | None = None
    for page, intact in judged:
        sealed_until = page.sealed_until
        for batch in page.batches:
            expected_number = previous.number + 1 if previous else 1
            if stop_before is not None and expected_number >= stop_before:
                return None
            if batch.number != expected_number:
                return _Fault(expected_number, "missing (renumbered or deleted)")
            if batch.number not in intact:
                problem = _batch_fault(batch, previous=previous, sealed_until=sealed_until)
                if problem:
                    return _Fault(batch.number, problem)
            previous = batch
            sealed_until = _sealed_until(sealed_until, batch)
    return None


def _anchor_fault(anchor: Anchor) -> _Fault | None:
    """The end of a chain can be cut off with its records and leave nothing inside to
    contradict it; an anchor kept elsewhere does."""
    batch = SealBatch.objects.filter(number=anchor.batch).first()
    if batch is None:
        return _Fault(anchor.batch, "missing: the chain ends before this anchored batch")
    if batch.hash != anchor.hash:
        return _Fault(anchor.batch, "hash differs from the anchor")
    return None


def _review_without_its_request() -> str | None:
    """Reviews sit beside the chain, not in it: each must have been made by a request, whose
    own access record (in the chain once sealed) says so. One written straight into the table
    would close a flag without anyone having reviewed it."""
    window = timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS)
    for review in FlagReview.objects.order_by("at").iterator(chunk_size=500):
        made = AccessRecord.objects.filter(
            agency_id=review.agency_id,
            at__gte=review.at,
            at__lte=review.at + window,
            method="POST",
            path=f"/api/v1/audit/events/{review.record_id}/review/",
            status=201,
        )
        if not made.exists():
            return f"the review of record {review.record_id} was made by no request (inserted)"
    return None


def _report(anchor: Anchor | None = None, *, workers: int = 1) -> VerifyReport:
    sealed = SealBatch.objects.aggregate(
        batches=Count("number"), records=Sum("size"), start=Min("first_at"), end=Max("last_at")
    )
    unsealed = AccessRecord.objects.filter(seal__isnull=True).aggregate(
        records=Count("id"), start=Min("at"), end=Max("at")
    )
    # An unsealed record dated well inside the sealed range was not written by a request that
    # is merely slow to commit: it was inserted afterwards. Name the first batch it falls in.
    inserted: _Fault | None = None
    grace = timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS)
    if unsealed["start"] and sealed["end"] and unsealed["start"] < sealed["end"] - grace:
        covering = (
            SealBatch.objects.filter(last_at__gte=unsealed["start"]).order_by("number").first()
        )
        inserted = _Fault(
            covering.number, "an unsealed record is dated inside its range (inserted)"
        )
    # A worker costs a second or so to start: only a long chain is worth sharing out.
    workers = max(1, min(workers, (sealed["records"] or 0) // _RECORDS_PER_WORKER))
    fault = _walk(stop_before=inserted.batch if inserted else None, workers=workers)
    fault = fault or inserted
    anchored = _anchor_fault(anchor) if anchor else None
    if anchored and (fault is None or anchored.batch < fault.batch):
        fault = anchored
    unmade_review = None if fault else _review_without_its_request()
    return VerifyReport(
        intact=fault is None and unmade_review is None,
        sealed_batches=sealed["batches"],
        sealed_records=sealed["records"] or 0,
        sealed_from=sealed["start"],
        sealed_to=sealed["end"],
        unsealed_records=unsealed["records"],
        unsealed_from=unsealed["start"],
        unsealed_to=unsealed["end"],
        first_bad_batch=fault.batch if fault else None,
        problem=fault.problem if fault else unmade_review,
        head=chain_head(),
    )


# For the walk's transaction alone. Each page's query is planned as costly (a subquery per
# record), and PostgreSQL would compile it (JIT: about a second, for a query that takes a
# tenth of one), hand it to parallel workers whose start costs more than they save, or sort
# it on disk; it reads a page of records by their batch and position, which an index gives.
PG_WALK_SETTINGS = (
    "jit = off",
    "max_parallel_workers_per_gather = 0",
    "work_mem = '64MB'",
)


def chain_verify(*, anchor: Anchor | None = None, workers: int = 1) -> VerifyReport:
    """Walk the chain batch by batch (a page of batches per query) and report whether it is
    intact, what is sealed, what awaits sealing, and the first batch that fails and why. The
    problem names batches and positions only, never a record's contents.

    On PostgreSQL, `workers` processes may read and hash pages of a long chain at once, in the
    walk's snapshot (audit.chain_workers); the walk and its report are the same."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # One snapshot for the whole walk, so that a seal committing meanwhile cannot make
        # the totals and the walk disagree. (On SQLite a read transaction would be IMMEDIATE,
        # and hold every request's write for the length of the walk.)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                for setting in PG_WALK_SETTINGS:
                    cursor.execute(f"SET LOCAL {setting}")
            return _report(anchor, workers=workers)
    # Inside a caller's transaction (or on SQLite) the snapshot is not the walk's to share.
    return _report(anchor)
