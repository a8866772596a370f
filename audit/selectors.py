"""Reading access records: who may see which, and the DPO search's filters.

The hub operator's DPO sees every record. Any other agency's DPO sees the records of its own
requests and of the disclosures of data it supplied, limited to those categories (see
`record_view`); a victim service that is not the reader is named only by its kind.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet

from agencies.models import Agency, AgencyKind, Client, StaffMembership
from audit.models import AccessIndexEntry, AccessRecord, IndexKind
from hub.serializers import timestamp
from referrals.models import Referral
from referrals.selectors import party_filter
from sharing_policies.vocabulary import Category

VICTIM_SERVICE = AgencyKind.VICTIM_SERVICE


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
        "agency": lambda v: (
            Agency.objects.filter(id=v)
            .exclude(
                **({} if everything or v == agency.id else {"kind": AgencyKind.VICTIM_SERVICE})
            )
            .exists()
        ),
        "client": lambda v: Client.objects.filter(
            client_id=v, **({} if everything else {"agency": agency})
        ).exists(),
        "referral": lambda v: referrals.filter(id=v).exists(),
        "person": lambda v: (
            referrals.filter(Q(subject_id=v) | Q(partner_id=v)).exists()
            or StaffMembership.objects.filter(
                user_id=v, **({} if everything else {"agency": agency})
            ).exists()
        ),
    }
    return {
        name: f"No {name} with this id is known to you."
        for name, known in checks.items()
        if filters.get(name) is not None and not known(filters[name])
    }


def kinds_of(agency_ids: Iterable[str]) -> dict[str, str]:
    """One query for the kind of every agency a page names."""
    ids = {UUID(a) for a in agency_ids if a}
    return {str(a.id): a.kind for a in Agency.objects.filter(id__in=ids)}


def agencies_named_in(records: Iterable[AccessRecord]) -> set[str]:
    named = set()
    for record in records:
        named.add(record.agency_ref)
        for decision in record.decisions:
            named.update(b["supplier"] for b in decision.get("bases", ()) if b.get("supplier"))
    return named


@dataclass(frozen=True)
class PageFacts:
    """What rendering a page of records needs beyond the records: one query each."""

    kinds: dict[str, str]  # agency id -> kind
    # referral id -> (the man's person id, the partner's person id or None)
    identities: dict[str, tuple[str, str | None]]


def page_facts(records: list[AccessRecord], reader: Reader) -> PageFacts:
    identities: dict[str, tuple[str, str | None]] = {}
    if not reader.sees_everything:
        ids = {UUID(r) for record in records for r in record.referrals}
        identities = {
            str(r["id"]): (str(r["subject_id"]), str(r["partner_id"]) if r["partner_id"] else None)
            for r in Referral.objects.filter(id__in=ids).values("id", "subject_id", "partner_id")
        }
    return PageFacts(kinds=kinds_of(agencies_named_in(records)), identities=identities)


def record_views(records: list[AccessRecord], reader: Reader) -> list[dict[str, Any]]:
    facts = page_facts(records, reader)
    return [record_view(record, reader, facts) for record in records]


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


def record_view(record: AccessRecord, reader: Reader, facts: PageFacts) -> dict[str, Any]:
    """A record as this DPO may see it. The hub operator's sees all of it; another agency's
    sees its own requests (without the ids of persons it was not told who they are), and
    others' requests only as disclosures of the categories it supplied: no client, person,
    justification, address, query, method, path or status (a victim service's POST to a
    referral is a contact attempt: even that it happened is partner.disclosures)."""
    everything = reader.sees_everything
    reader_id = str(reader.agency.id)
    own = everything or record.agency_ref == reader_id
    kinds = facts.kinds

    def hidden(agency_id: str | None) -> bool:
        # A victim service could be located through its name: others learn only its kind.
        return bool(
            agency_id
            and not everything
            and agency_id != reader_id
            and kinds.get(agency_id) == VICTIM_SERVICE
        )

    def basis_view(basis: dict[str, Any]) -> dict[str, Any]:
        supplier = basis.get("supplier")
        view = {**basis, "supplier": supplier, "supplier_kind": kinds.get(supplier or "")}
        if hidden(supplier):
            # The agreement or consent would lead back to who published or recorded it.
            view.update(supplier=None, agreement=None, agreement_version=None, consent=None)
        return view

    decisions = []
    for decision in record.decisions:
        bases = [b for b in decision.get("bases", ()) if own or b.get("supplier") == reader_id]
        if not own and not bases:
            continue
        decisions.append(
            {
                "referral": decision["referral"],
                "disclosed": decision["disclosed"]
                if own
                else sorted({b["category"] for b in bases}),
                "withheld": decision["withheld"] if own else [],
                "bases": [basis_view(b) for b in bases],
            }
        )
    review = getattr(record, "review", None) if own else None
    return {
        "id": str(record.id),
        "at": timestamp(record.at),
        "agency": None if hidden(record.agency_ref) else record.agency_ref or None,
        "agency_kind": record.agency_kind or None,
        "client": (record.client or None) if own else None,
        "person": (record.person or None) if own else None,
        "purpose": record.purpose or None,
        "justification": (record.justification or None) if own else None,
        "flagged": record.flagged,
        "method": record.method if own else None,
        "path": record.path if own else None,
        "query": record.query if own else None,
        "status": record.status if own else None,
        "outcome": record.outcome,
        "ip": record.ip if own else None,
        "request_id": record.request_id if own else None,
        "referrals": record.referrals if own else [d["referral"] for d in decisions],
        "persons": record.persons
        if everything
        else identified_persons(record, facts)
        if own
        else [],
        "disclosed": record.disclosed
        if own
        else sorted({c for d in decisions for c in d["disclosed"]}),
        "withheld": record.withheld if own else [],
        "decisions": decisions,
        "review": review_view(review) if review else None,
    }


def review_view(review: Any) -> dict[str, Any]:
    return {
        "at": timestamp(review.at),
        "agency": str(review.agency_id),
        "client": review.client,
        "person": review.person or None,
        "note": review.note,
    }


def record_accessible(reader: Reader, record_id: UUID) -> AccessRecord | None:
    return records_visible_to(reader).filter(id=record_id).first()
