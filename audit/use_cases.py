"""The audit's operations, one function per operation, for every channel (issue 13).

Each use case takes the request's `RequestContext` (core.context), owns its transaction and
writes the served request's access record in it (`audit.services.record_served`): searching,
exporting and reviewing access records are themselves recorded. It returns what it served
(`Served`). A refused operation raises (a `core.exceptions` problem or a DRF `APIException`)
having written nothing; its channel records the refusal (`audit.bursts.record_refused`).

Who reads what (DESIGN.md, *Audit*): the hub operator's DPO every record; any other agency's
DPO the records of its own requests and of the disclosures of data it supplied
(`audit.selectors`); a referral's parties the accesses to it they may know of, the partner
service named only to who may know it (`sharing_policies.naming`).
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from audit.chain import Anchor, chain_verify
from audit.models import AccessRecord, FlagReview, IndexKind
from audit.report import subject_report
from audit.selectors import (
    Reader,
    as_record,
    chunks,
    indexed,
    record_accessible,
    record_search,
    record_views,
    unknown_filter_ids,
    visible_records,
)
from audit.serializers import (
    AccessSerializer,
    ReviewSerializer,
    SeenAccess,
    SubjectReportSerializer,
    VerifyQuerySerializer,
    VerifySerializer,
)
from audit.services import AccessDetails, served
from core.context import RequestContext, Served
from core.exceptions import Conflict, PolicyViolation, RoleNotPermitted
from core.pagination import PageRequest, page_body, visible_page
from core.serializers import rendering
from referrals.models import Person, Referral
from referrals.selectors import parties_of, referral_get_visible
from sharing_policies.naming import Naming, naming_in_referral
from sharing_policies.selectors import decision_inputs

NEWEST_FIRST = ("-at", "-id")


def reader_of(context: RequestContext) -> Reader:
    """Whose DPO reads: the caller's agency."""
    return Reader(agency=context.actor.agency)


def require_hub_operator(context: RequestContext, what: str) -> None:
    """403 (`RoleNotPermitted`) unless the caller reads as the hub operator: an agency may not
    close its own flags, verify the whole chain or report on a person (DESIGN.md, *Audit*)."""
    if not reader_of(context).sees_everything:
        raise RoleNotPermitted(f"Only the hub operator's data-protection officer {what}.")


def searched(reader: Reader, filters: dict[str, Any]) -> QuerySet:
    """The search's records (a superset of the visible matches: `record_views` with `filters`
    keeps exactly the records whose visible projection matches). 422 (`PolicyViolation`, on
    the filter's field) for an id filter naming what the reader may not know of."""
    unknown = unknown_filter_ids(reader, filters)
    if unknown:
        field, message = next(iter(unknown.items()))
        raise PolicyViolation(message, field=field)
    return record_search(reader, filters)


def recorded(context: RequestContext, body: Any, *, status: int = 200, **details: Any) -> Served:
    """Writes the served request's access record (inside the caller's transaction)."""
    return served(context, AccessDetails(**details), body, status=status, etag=False)


# --- The DPO search and its export --------------------------------------------------------------


def audit_search(context: RequestContext, filters: dict[str, Any], page: PageRequest) -> Served:
    """A page of the access records the caller's DPO sees matching `filters` (validated by
    `AuditFilterSerializer`), newest first: {"results": [record view...], "next": url|null}.
    Records the reader may not see are skipped without a trace (`core.pagination.visible_page`).
    """
    reader = reader_of(context)
    with transaction.atomic():
        kept, next_link = visible_page(
            searched(reader, filters),
            page,
            keep=lambda items: visible_records(items, reader, filters),
        )
        return recorded(context, page_body([view for _, view in kept], next_link))


RowSource = Callable[[QuerySet, Reader, dict[str, Any]], Iterator[dict[str, Any]]]


def export_rows(
    records: QuerySet,
    reader: Reader,
    filters: dict[str, Any],
    *,
    chunked: Callable[[Iterable[Any]], Iterator[list[Any]]] = chunks,
    views_of: Callable[..., list[dict[str, Any]]] = record_views,
) -> Iterator[dict[str, Any]]:
    """Record views, a chunk at a time (`chunked`, made into views by `views_of`): never every
    record in memory."""
    for chunk in chunked(records.iterator(chunk_size=500)):
        yield from views_of([as_record(item) for item in chunk], reader, filters)


def visible_count(
    records: QuerySet, reader: Reader, filters: dict[str, Any], at_most: int, rows: RowSource
) -> int:
    """How many records the export would hold, counting only what the reader sees (up to
    `at_most`): a count over the stored whole would tell, at the limit, that records hidden
    from the reader exist. The hub operator's DPO sees every record: a count in SQL."""
    if reader.sees_everything:
        return records[:at_most].count()
    seen = 0
    for _ in rows(records, reader, filters):
        seen += 1
        if seen >= at_most:
            break
    return seen


@dataclass(frozen=True)
class Export:
    """What an export streams, after the use case's transaction: the records, read a chunk at
    a time by a `RowSource` (`export_rows`) as this reader sees them under these filters."""

    records: QuerySet
    reader: Reader
    filters: dict[str, Any]


def audit_export(
    context: RequestContext, filters: dict[str, Any], *, rows: RowSource = export_rows
) -> Served:
    """The records the search would return for `filters` (validated by
    `ExportFilterSerializer`), newest first, as an `Export` for the channel to stream with
    `rows` (the count reads the same source). More than AUDIT_EXPORT_MAX_RECORDS visible records
    is a 422 (`PolicyViolation`: narrow the filters), and nothing is streamed."""
    limit = settings.AUDIT_EXPORT_MAX_RECORDS
    reader = reader_of(context)
    records = searched(reader, filters).order_by(*NEWEST_FIRST)
    with transaction.atomic():
        if visible_count(records, reader, filters, limit + 1, rows) > limit:
            raise PolicyViolation(
                f"The export would hold more than {limit} records: narrow the filters."
            )
        return recorded(context, Export(records, reader, filters))


# --- Flag reviews, the chain, the subject-access report -----------------------------------------


def audit_review(context: RequestContext, record_id: UUID, data: Any) -> Served:
    """The hub operator's DPO reviews a flagged record with a note (`data`, the request's body,
    checked by `ReviewSerializer` once the role is: anyone else hears 403 whatever it sent).
    201 with the review; 404 for a record the reader may not see, 422 for an unflagged one,
    409 for one reviewed already (also when reviewed at the same moment by someone else). The
    record itself never changes."""
    # One review, by the hub operator's DPO: an agency may not close its own flags.
    require_hub_operator(context, "reviews flagged records")
    body = ReviewSerializer(data=data)
    body.is_valid(raise_exception=True)
    actor = context.actor
    with transaction.atomic():
        record = record_accessible(reader_of(context), record_id)
        if record is None:
            raise NotFound("No access record with this id is visible to you.")
        if not record.flagged:
            raise PolicyViolation("Only flagged records are reviewed.")
        if hasattr(record, "review"):
            raise Conflict("This record has been reviewed already.")
        try:
            with transaction.atomic():
                review = FlagReview.objects.create(
                    record=record,
                    agency=actor.agency,
                    client=actor.client.client_id,
                    person=str(actor.person.id) if actor.person else "",
                    note=body.validated_data["note"],
                )
        except IntegrityError as exc:  # reviewed at the same moment by someone else
            raise Conflict("This record has been reviewed already.") from exc
        return recorded(context, rendering(ReviewSerializer)(review), status=201)


def audit_verify(context: RequestContext, query: dict[str, Any]) -> Served:
    """The hub operator's DPO checks the hash chain (`audit.chain.chain_verify`), from the
    anchor in `query` if given (checked by `VerifyQuerySerializer` once the role is). No
    personal data: no access record."""
    require_hub_operator(context, "verifies the whole chain")
    checked = VerifyQuerySerializer(data=query)
    checked.is_valid(raise_exception=True)
    given = checked.validated_data.get("anchor")
    report = chain_verify(anchor=Anchor.parse(given) if given else None)
    return Served(rendering(VerifySerializer)(report))


def subject_report_create(context: RequestContext, person_id: UUID) -> Served:
    """The hub operator's DPO drafts a person's subject-access report (`audit.report`, rendered
    by `SubjectReportSerializer`); 404 for no such person. Its access record names the person
    and every referral held."""
    require_hub_operator(context, "produces subject-access reports")
    with transaction.atomic():
        person = Person.objects.filter(id=person_id).first()
        if person is None:
            raise NotFound("No person with this id.")
        report = subject_report(person=person, now=context.now)
        return recorded(
            context,
            rendering(SubjectReportSerializer)(report),
            persons=[person.id],
            referrals=[held.referral.id for held in report.held],
        )


# --- A referral's accesses, for its parties ----------------------------------------------------


def referral_accesses(context: RequestContext, referral_id: UUID, page: PageRequest) -> Served:
    """A page of who accessed a referral the caller's agency is party to (404, 410 as
    `referral_get_visible`), newest first: its own accesses, and others' to the categories it
    supplied, each as `access_seen` decides. Accesses it may not see are skipped without a trace."""
    agency = context.actor.agency
    with transaction.atomic():
        referral = referral_get_visible(agency_id=agency.id, referral_id=referral_id)
        decision = decision_inputs(
            agency=agency, purpose=context.purpose, emergency=False, referral_ids=[referral.id]
        ).decide(referral)
        records = AccessRecord.objects.filter(
            id__in=indexed(IndexKind.REFERRAL, referral.id)
        ).filter(id__in=indexed(IndexKind.AGENCY, agency.id))
        naming = naming_in_referral(parties=parties_of(referral), decision=decision)
        kept, next_link = visible_page(
            records,
            page,
            keep=lambda items: access_views(items, referral, agency.id, naming),
        )
        return recorded(
            context,
            page_body([view for _, view in kept], next_link),
            referrals=[referral.id],
        )


def access_views(
    records: list[AccessRecord], referral: Referral, reader: UUID, naming: Naming
) -> list[tuple[AccessRecord, dict[str, Any]]]:
    """`(record, view)` for each access this party sees (`access_seen`), in order, rendered by
    `AccessSerializer`."""
    render = rendering(AccessSerializer, naming=naming)
    seen = ((record, access_seen(record, referral, reader, naming)) for record in records)
    return [(record, render(access)) for record, access in seen if access is not None]


def access_seen(
    record: AccessRecord, referral: Referral, reader: UUID, naming: Naming
) -> SeenAccess | None:
    """One access as this party sees it, or None when it does not see it: neither its own nor
    one to categories it supplied, or by a partner service it may not know of (even its time,
    purpose and categories could tell which service it is)."""
    categories = categories_for(record, str(referral.id), str(reader))
    requester = UUID(record.agency_ref) if record.agency_ref else None
    if categories is None or not naming.names(requester):
        return None
    return SeenAccess(
        record=record,
        requester=requester,
        categories=categories,
        own=record.agency_ref == str(reader),
    )


def categories_for(record: AccessRecord, referral: str, agency: str) -> list[str] | None:
    """What an access to this referral is shown to this agency as: all it disclosed when the
    access was the agency's own, else only the categories it supplied; None when neither."""
    decision = next((d for d in record.decisions if d["referral"] == referral), None)
    if record.agency_ref == agency:
        return decision["disclosed"] if decision else []
    if decision is None:
        return None
    supplied = sorted({b["category"] for b in decision["bases"] if b.get("supplier") == agency})
    return supplied or None
