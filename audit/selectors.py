"""Reading access records: who may see which, and the DPO search's filters.

The hub operator's DPO sees every record. Any other agency's DPO sees the records of its own
requests and of the disclosures of data it supplied, limited to those categories (see
`record_seen`; `AccessRecordSerializer` renders what it decides); a victim service that is not
the reader is named only by its kind.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet

from agencies.models import Agency, AgencyKind, Client, StaffMembership
from audit.models import AccessIndexEntry, AccessRecord, IndexKind
from audit.serializers import AccessRecordSerializer, SeenBasis, SeenDecision, SeenRecord
from core.serializers import rendering
from core.vocabulary import Category
from referrals.models import Referral
from referrals.selectors import party_filter
from sharing_policies.naming import Naming
from sharing_policies.selectors import agencies_led_to, agency_kinds


@dataclass(frozen=True)
class Reader:
    """Whose DPO is reading, and whether it reads as the hub operator (everything)."""

    agency: Agency

    @property
    def sees_everything(self) -> bool:
        return self.agency.kind == AgencyKind.HUB_OPERATOR


def indexed(kind: IndexKind, *values: object) -> QuerySet[AccessIndexEntry]:
    """The ids of the records whose index holds one of these values of this kind."""
    return AccessIndexEntry.objects.filter(kind=kind, value__in=[str(v) for v in values]).values(
        "record_id"
    )


def records_visible_to(reader: Reader) -> QuerySet[AccessRecord]:
    records = AccessRecord.objects.select_related("review")
    if reader.sees_everything:
        return records
    return records.filter(id__in=indexed(IndexKind.AGENCY, reader.agency.id))


COLUMN_FILTERS = {
    "agency": "agency_id",
    "client": "client",
    "purpose": "purpose",
    "flagged": "flagged",
    "outcome": "outcome",
}
# Most selective first: the first that applies drives the search (see record_search).
ENTRY_FILTERS = (
    ("referral", IndexKind.REFERRAL),
    ("person", IndexKind.PERSON),
    ("category", IndexKind.CATEGORY),
)


def record_search(reader: Reader, filters: dict[str, Any]) -> QuerySet:
    """The DPO search's records, newest first, each filter served by an index.

    With no filter on the index entries (and the hub operator reading), the records table
    is read through its own (column, at) indexes. Otherwise the search is driven by the most
    selective entry filter, read in time order straight from the entries' (kind, value, at)
    index, and the items are index entries: `as_record` gives their records. (Asking for
    "records whose id is among these entries" instead makes the database gather every
    matching id and sort them all before it can return a page: measured with `make bench`.)
    """
    entries = [(kind, filters[name]) for name, kind in ENTRY_FILTERS if filters.get(name)]
    if not reader.sees_everything:
        entries.append((IndexKind.AGENCY, reader.agency.id))
    if entries:
        (kind, value), others = entries[0], entries[1:]
        items: QuerySet = AccessIndexEntry.objects.filter(kind=kind, value=str(value))
        items = items.select_related("record", "record__review")
        for kind, value in others:
            # Row by row through the (record, kind, value) unique index: the driver is the
            # selective one, so this looks up a page's worth of rows, not a list of them all.
            items = items.filter(
                Exists(
                    AccessIndexEntry.objects.filter(
                        record_id=OuterRef("record_id"), kind=kind, value=str(value)
                    )
                )
            )
        prefix = "record__"
    else:
        items, prefix = AccessRecord.objects.select_related("review"), ""
    for name, column in COLUMN_FILTERS.items():
        if filters.get(name) is not None:
            items = items.filter(**{prefix + column: filters[name]})
    # An entry's `at` is its record's.
    if filters.get("from") is not None:
        items = items.filter(at__gte=filters["from"])
    if filters.get("to") is not None:
        items = items.filter(at__lt=filters["to"])
    return items


def as_record(item: AccessRecord | AccessIndexEntry) -> AccessRecord:
    return item.record if isinstance(item, AccessIndexEntry) else item


def unknown_filter_ids(reader: Reader, filters: dict[str, Any]) -> dict[str, str]:
    """Filter ids that name nothing this DPO may know of, each with why. To any DPO but the
    hub operator's, a referral it is not party to is as unknown as one that does not exist."""
    agency = reader.agency
    everything = reader.sees_everything
    referrals = (
        Referral.objects.all() if everything else Referral.objects.filter(party_filter(agency.id))
    )
    checks = {
        # A victim service's records are shown to others by kind only: filtering by its id
        # would tell which one made them.
        # A victim service only where a record this DPO sees names it (the naming rule).
        "agency": lambda v: (
            Agency.objects.filter(id=v)
            .exclude(
                **({} if everything or v == agency.id else {"kind": AgencyKind.VICTIM_SERVICE})
            )
            .exists()
            or (not everything and shown_in_some_record(reader, "agency", v))
        ),
        "client": lambda v: Client.objects.filter(
            client_id=v, **({} if everything else {"agency": agency})
        ).exists(),
        # Also one it only tried to reach: its own refused attempt names it.
        "referral": lambda v: (
            referrals.filter(id=v).exists()
            or (not everything and shown_in_some_record(reader, "referral", v))
        ),
        "person": lambda v: (
            StaffMembership.objects.filter(
                user_id=v, **({} if everything else {"agency": agency})
            ).exists()
            or (
                Referral.objects.filter(Q(subject_id=v) | Q(partner_id=v)).exists()
                if everything
                else shown_in_some_record(reader, "person", v)
            )
        ),
    }
    return {
        name: f"No {name} with this id is known to you."
        for name, known in checks.items()
        if filters.get(name) is not None and not known(filters[name])
    }


def shown_in_some_record(reader: Reader, name: str, value: UUID) -> bool:
    """Whether some record this DPO may see shows it this id (a person, a referral) in its
    visible projection: the "unknown id" answer is computed over what the reader sees, never
    over the stored whole. (Whether a referral it is party to holds a person is not the
    question: the man's partner is held there, and her id is partner.identity.)"""
    candidates = record_search(reader, {name: value})
    for chunk in chunks(candidates.iterator(chunk_size=200), 200):
        if record_views([as_record(item) for item in chunk], reader, {name: value}):
            return True
    return False


def chunks(records: Iterable[Any], size: int = 500) -> Iterator[list[Any]]:
    """Lists of at most `size` items: never every record in memory."""
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def agencies_named_in(records: Iterable[AccessRecord]) -> set[str]:
    named = set()
    for record in records:
        named.add(record.agency_ref)
        for decision in record.decisions:
            named.update(b["supplier"] for b in decision.get("bases", ()) if b.get("supplier"))
    return named


def bases_refs(records: Iterable[AccessRecord]) -> tuple[set[UUID], set[UUID]]:
    """The agreement and consent ids that the records' bases name."""
    agreements, consents = set(), set()
    for record in records:
        for decision in record.decisions:
            for basis in decision.get("bases", ()):
                if basis.get("agreement"):
                    agreements.add(UUID(basis["agreement"]))
                if basis.get("consent"):
                    consents.add(UUID(basis["consent"]))
    return agreements, consents


@dataclass(frozen=True)
class PageFacts:
    """What rendering a page of records needs beyond the records: a few queries a page."""

    kinds: dict[str, str]  # agency id -> kind
    # referral id -> (the man's person id, the partner's person id or None)
    identities: dict[str, tuple[str, str | None]]
    # referral id -> its partner service, for the referrals the reader referred: a referrer
    # always sees the partner.identity it supplied (rule 0), so it may name that service.
    partner_services_known: dict[str, UUID]
    # The naming rule for this reader across records (no referral's partner.identity counts:
    # a victim service is named only to itself and to the hub operator).
    naming: Naming
    # agreement or consent id -> the agencies it leads to
    led: dict[UUID, frozenset[UUID]]


def page_facts(records: list[AccessRecord], reader: Reader) -> PageFacts:
    identities: dict[str, tuple[str, str | None]] = {}
    partner_services_known: dict[str, UUID] = {}
    if not reader.sees_everything:
        ids = {UUID(r) for record in records for r in record.referrals}
        rows = Referral.objects.filter(id__in=ids).values(
            "id", "subject_id", "partner_id", "referrer_id", "partner_service_id"
        )
        for r in rows:
            partner = str(r["partner_id"]) if r["partner_id"] else None
            identities[str(r["id"])] = (str(r["subject_id"]), partner)
            if r["referrer_id"] == reader.agency.id and r["partner_service_id"]:
                partner_services_known[str(r["id"])] = r["partner_service_id"]
    agreements, consents = bases_refs(records)
    led = agencies_led_to(agreements=agreements, consents=consents)
    kinds = agency_kinds(
        [*agencies_named_in(records), *(a for agencies in led.values() for a in agencies)]
    )
    return PageFacts(
        kinds={str(a): kind for a, kind in kinds.items()},
        identities=identities,
        partner_services_known=partner_services_known,
        naming=Naming.from_kinds(
            reader=reader.agency.id, kinds=kinds, everything=reader.sees_everything
        ),
        led=led,
    )


def record_views(
    records: list[AccessRecord], reader: Reader, filters: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The records as this DPO may see them, and of those only the ones whose visible
    projection matches the filters (the search's SQL gives a superset: see `visible_match`)."""
    return [view for _, view in visible_records(records, reader, filters)]


def visible_records(
    items: list[Any], reader: Reader, filters: dict[str, Any] | None = None
) -> list[tuple[Any, dict[str, Any]]]:
    """`(item, view)` for each search item (a record, or an index entry standing for one)
    whose record this DPO sees and whose visible projection matches the filters, in order."""
    records = [as_record(item) for item in items]
    facts = page_facts(records, reader)
    render = rendering(AccessRecordSerializer, kinds=facts.kinds)
    seen = (
        (item, record_seen(record, reader, facts))
        for item, record in zip(items, records, strict=True)
    )
    views = ((item, render(s)) for item, s in seen if s is not None)
    return [(i, v) for i, v in views if visible_match(v, filters or {})]


def visible_match(view: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Whether what the reader sees of a record matches every filter: a filter never matches
    a record through what the reader's view of it hides (DESIGN.md, *The disclosure decision*:
    every filter is computed over the caller's view). Each view value is the stored one or
    less, so the stored-value search is a superset and this keeps exactly the visible matches."""
    checks = {
        "agency": lambda v: view["agency"] == str(v),
        "client": lambda v: view["client"] == v,
        "person": lambda v: str(v) in view["persons"] or view["person"] == str(v),
        "referral": lambda v: str(v) in view["referrals"],
        "category": lambda v: str(v) in view["disclosed"],
        "purpose": lambda v: view["purpose"] == v,
        "flagged": lambda v: view["flagged"] == v,
        "outcome": lambda v: view["outcome"] == v,
    }
    return all(
        check(filters[name]) for name, check in checks.items() if filters.get(name) is not None
    )


def identified_persons(record: AccessRecord, facts: PageFacts) -> list[str]:
    """The persons whose identity the request disclosed: a request may touch the partner (her
    contact, the children) without saying who she is, and her id is partner.identity."""
    shown = set()
    for decision in record.decisions:
        subject, partner = facts.identities.get(decision["referral"], (None, None))
        if Category.SUBJECT_IDENTITY in decision["disclosed"] and subject:
            shown.add(subject)
        if Category.PARTNER_IDENTITY in decision["disclosed"] and partner:
            shown.add(partner)
    return [p for p in record.persons if p in shown]


def as_uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None


def record_seen(record: AccessRecord, reader: Reader, facts: PageFacts) -> SeenRecord | None:
    """What this DPO sees of a record, or None when it may not see it at all. The hub
    operator's sees all of it; another agency's sees its own requests (without the ids of
    persons it was not told who they are), and others' requests only as disclosures of the
    categories it supplied: no client, person, justification, address, query, method, path or
    status (a victim service's POST to a referral is a contact attempt: even that it happened
    is partner.disclosures). A request by a victim service it may not name is not shown at all:
    its time, purpose and categories alone could tell which service read (DESIGN.md, *Parties
    and suppliers*, by inference)."""
    everything = reader.sees_everything
    reader_id = str(reader.agency.id)
    own = everything or record.agency_ref == reader_id
    naming = facts.naming.knowing(
        facts.partner_services_known.get(d["referral"]) for d in record.decisions
    )
    requester = as_uuid(record.agency_ref)
    if not own and not naming.names(requester):
        return None

    def basis_seen(basis: dict[str, Any]) -> SeenBasis:
        # Not named where the supplier, or the agreement or consent, would lead back to a
        # victim service.
        refs = (as_uuid(basis.get("agreement")), as_uuid(basis.get("consent")))
        supplier = as_uuid(basis.get("supplier"))
        return SeenBasis(
            basis, named=naming.basis_named(supplier=supplier, refs=refs, led=facts.led)
        )

    decisions = []
    for decision in record.decisions:
        bases = [b for b in decision.get("bases", ()) if own or b.get("supplier") == reader_id]
        if not own and not bases:
            continue
        decisions.append(
            SeenDecision(
                referral=decision["referral"],
                disclosed=decision["disclosed"] if own else sorted({b["category"] for b in bases}),
                withheld=decision["withheld"] if own else [],
                bases=[basis_seen(b) for b in bases],
            )
        )
    return SeenRecord(
        record=record,
        in_full=own,
        agency_named=naming.names(requester),
        persons=record.persons if everything else identified_persons(record, facts) if own else [],
        decisions=decisions,
    )


def record_view(record: AccessRecord, reader: Reader, facts: PageFacts) -> dict[str, Any] | None:
    """A record as this DPO may see it (`record_seen`, rendered by `AccessRecordSerializer`),
    or None when it may not see it at all."""
    seen = record_seen(record, reader, facts)
    return None if seen is None else rendering(AccessRecordSerializer, kinds=facts.kinds)(seen)


def record_accessible(reader: Reader, record_id: UUID) -> AccessRecord | None:
    return records_visible_to(reader).filter(id=record_id).first()
