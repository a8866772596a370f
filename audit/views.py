"""The audit endpoints: the DPO search and its export, flag reviews, the chain's verification,
the subject-access report, and a referral's accesses for its parties."""

import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import renderers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

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
    review_view,
    unknown_filter_ids,
    visible_records,
)
from audit.serializers import (
    AccessRecordSerializer,
    AccessSerializer,
    AuditFilterSerializer,
    ExportFilterSerializer,
    ReviewSerializer,
    SubjectReportSerializer,
    VerifyQuerySerializer,
    VerifySerializer,
)
from hub.api import HubViewMixin
from hub.exceptions import Conflict, PolicyViolation, RoleNotPermitted
from hub.pagination import visible_page
from hub.problems import ProblemJSONRenderer
from hub.serializers import timestamp
from referrals.models import Person
from referrals.selectors import referral_get_visible
from sharing_policies.naming import Naming, naming_in_referral
from sharing_policies.selectors import decision_inputs, parties_of
from sharing_policies.vocabulary import Purpose

NEWEST_FIRST = ("-at", "-id")


class AuditViewMixin(HubViewMixin):
    """audit:read; the purpose is `audit`; every search is itself recorded."""

    touches_personal_data = True
    purpose_implied = Purpose.AUDIT.value

    @property
    def reader(self) -> Reader:
        return Reader(agency=self.actor.agency)

    def require_hub_operator(self, what: str) -> None:
        if not self.reader.sees_everything:
            raise RoleNotPermitted(f"Only the hub operator's data-protection officer {what}.")

    def filtered(self, serializer_class: type[AuditFilterSerializer]) -> Any:
        """The search's records (a superset of the visible matches: `record_views` with
        `self.filters` keeps exactly the records whose visible projection matches)."""
        filters = serializer_class(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        self.filters = filters.validated_data
        unknown = unknown_filter_ids(self.reader, self.filters)
        if unknown:
            field, message = next(iter(unknown.items()))
            raise PolicyViolation(message, field=field)
        return record_search(self.reader, self.filters)


class AuditEventsView(AuditViewMixin, GenericAPIView):
    """The DPO search over access records, newest first. The hub operator's DPO sees every
    record; any other agency's DPO the records of its own requests, and of disclosures of the
    categories it supplied (limited to those categories)."""

    required_scopes = {"get": ["audit:read"]}
    serializer_class = AccessRecordSerializer
    cursor_ordering = NEWEST_FIRST
    problem_statuses = {"get": [422]}

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return AccessRecord.objects.none()
        return self.filtered(AuditFilterSerializer)

    @extend_schema(
        summary="Search access records",
        parameters=[AuditFilterSerializer],
        responses=AccessRecordSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        with transaction.atomic():
            page, next_link = visible_page(
                self.get_queryset(),
                request,
                keep=lambda items: visible_records(items, self.reader, self.filters),
            )
            self.record_access(status.HTTP_200_OK)
        return Response({"results": [view for _, view in page], "next": next_link})


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None):
        return data


CSV_COLUMNS = (
    "id",
    "at",
    "agency",
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
    "channel",
    "tried",
    "burst",
    "ip",
    "request_id",
    "referrals",
    "persons",
    "disclosed",
    "withheld",
    "reviewed_at",
)
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        value = " ".join(f"{key}={item}" for key, item in value.items())
    if isinstance(value, list):
        value = " ".join(
            f"{v['category']}:{v['reason']}" if isinstance(v, dict) else str(v) for v in value
        )
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_rows(records: Any, reader: Reader, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Record views, a chunk at a time: never every record in memory."""
    for chunk in chunks(records.iterator(chunk_size=500)):
        yield from record_views([as_record(item) for item in chunk], reader, filters)


def visible_count(records: Any, reader: Reader, filters: dict[str, Any], at_most: int) -> int:
    """How many records the export would hold, counting only what the reader sees (up to
    `at_most`): a count over the stored whole would tell, at the limit, that records hidden
    from the reader exist. The hub operator's DPO sees every record: a count in SQL."""
    if reader.sees_everything:
        return records[:at_most].count()
    seen = 0
    for _ in export_rows(records, reader, filters):
        seen += 1
        if seen >= at_most:
            break
    return seen


def csv_stream(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        row["reviewed_at"] = row["review"]["at"] if row["review"] else None
        writer.writerow([csv_cell(row[c]) for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def json_stream(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "["
    for index, row in enumerate(rows):
        yield ("," if index else "") + json.dumps(row, separators=(",", ":"))
    yield "]"


class AuditExportView(AuditViewMixin, GenericAPIView):
    """The filtered access records as one download, streamed: JSON (an array of the records
    the search returns) or CSV (`Accept: text/csv`). Larger than AUDIT_EXPORT_MAX_RECORDS is
    refused (422): narrow the filters."""

    required_scopes = {"get": ["audit:read"]}
    serializer_class = AccessRecordSerializer
    pagination_class = None
    renderer_classes = [renderers.JSONRenderer, CSVRenderer, ProblemJSONRenderer]
    problem_statuses = {"get": [422]}

    @extend_schema(
        summary="Export access records (JSON or CSV)",
        parameters=[ExportFilterSerializer],
        responses={
            (200, "application/json"): AccessRecordSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row a record."),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        limit = settings.AUDIT_EXPORT_MAX_RECORDS
        records = self.filtered(ExportFilterSerializer).order_by(*NEWEST_FIRST)
        with transaction.atomic():
            if visible_count(records, self.reader, self.filters, limit + 1) > limit:
                raise PolicyViolation(
                    f"The export would hold more than {limit} records: narrow the filters."
                )
            self.record_access(status.HTTP_200_OK)
        rows = export_rows(records, self.reader, self.filters)
        as_csv = request.accepted_renderer.format == "csv"
        response = StreamingHttpResponse(
            csv_stream(rows) if as_csv else json_stream(rows),
            content_type="text/csv; charset=utf-8" if as_csv else "application/json",
        )
        name = f"access-records-{timezone.now():%Y%m%dT%H%M%SZ}.{'csv' if as_csv else 'json'}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class AuditReviewView(AuditViewMixin, GenericAPIView):
    """The hub operator's DPO marks a flagged record (an emergency release, a denied attempt)
    reviewed, with a note. The review is kept beside the record; the record itself never
    changes. One review each."""

    required_scopes = {"post": ["audit:read"]}
    serializer_class = ReviewSerializer
    pagination_class = None
    problem_statuses = {"post": [404, 409, 422]}

    @extend_schema(summary="Review a flagged access record", responses={201: ReviewSerializer})
    def post(self, request: Request, record_id: UUID) -> Response:
        # One review, by the hub operator's DPO: an agency may not close its own flags.
        self.require_hub_operator("reviews flagged records")
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actor = self.actor
        with transaction.atomic():
            record = record_accessible(self.reader, record_id)
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
            self.record_access(status.HTTP_201_CREATED)
        return Response(review_view(review), status=status.HTTP_201_CREATED)


class AuditVerifyView(AuditViewMixin, GenericAPIView):
    """Check the access records' hash chain: the sealed range, the unsealed tail (sealed by
    `manage.py audit_seal`, run periodically), and the first batch that fails, if any."""

    required_scopes = {"get": ["audit:read"]}
    serializer_class = VerifySerializer
    pagination_class = None
    touches_personal_data = False

    @extend_schema(
        summary="Verify the audit chain",
        parameters=[VerifyQuerySerializer],
        responses=VerifySerializer,
    )
    def get(self, request: Request) -> Response:
        self.require_hub_operator("verifies the whole chain")
        query = VerifyQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        given = query.validated_data.get("anchor")
        return Response(chain_verify(anchor=Anchor.parse(given) if given else None).as_dict())


class SubjectReportRenderer(renderers.BaseRenderer):
    """The report as a document a person can read (HTML, no outside assets), downloaded."""

    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None):
        return render_to_string("audit/subject_report.html", {"report": data})


class SubjectReportView(AuditViewMixin, GenericAPIView):
    """What the hub holds in the categories whose data subject this person is, and every
    disclosure of it, as JSON or (`Accept: text/html`) as a document to download. A draft for
    the hub operator's DPO to review before release; producing it is itself recorded."""

    required_scopes = {"get": ["audit:read"]}
    serializer_class = SubjectReportSerializer
    pagination_class = None
    renderer_classes = [renderers.JSONRenderer, SubjectReportRenderer, ProblemJSONRenderer]

    @extend_schema(
        summary="Subject-access report",
        responses={
            (200, "application/json"): SubjectReportSerializer,
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="A document."),
        },
    )
    def get(self, request: Request, person_id: UUID) -> Response:
        self.require_hub_operator("produces subject-access reports")
        with transaction.atomic():
            person = Person.objects.filter(id=person_id).first()
            if person is None:
                raise NotFound("No person with this id.")
            report = subject_report(person=person, now=timezone.now())
            self.access.persons.append(person.id)
            self.access.referrals.extend(UUID(h["referral"]) for h in report["held"])
            self.record_access(status.HTTP_200_OK)
        response = Response(report)
        if request.accepted_renderer.format == "html":
            response["Content-Disposition"] = (
                f'attachment; filename="subject-access-report-{person.id}.html"'
            )
        return response


class ReferralAccessesView(HubViewMixin, GenericAPIView):
    """Who accessed this referral: your own agency's accesses, and other agencies' accesses to
    the categories you supplied (a supplier's right to know who used its data), newest first.
    Agency, when, purpose and categories; never a justification. Accesses you may not see are
    skipped without a trace: pages are full, and the cursor never points at one."""

    required_scopes = {"get": ["referrals:read"]}
    serializer_class = AccessSerializer
    cursor_ordering = NEWEST_FIRST
    touches_personal_data = True
    problem_statuses = {"get": [410]}

    @extend_schema(summary="Who accessed a referral", responses=AccessSerializer(many=True))
    def get(self, request: Request, referral_id: UUID) -> Response:
        agency = self.actor.agency
        with transaction.atomic():
            referral = referral_get_visible(agency_id=agency.id, referral_id=referral_id)
            decision = decision_inputs(
                agency=agency, purpose=self.purpose, emergency=False, referral_ids=[referral.id]
            ).decide(referral)
            records = AccessRecord.objects.filter(
                id__in=indexed(IndexKind.REFERRAL, referral.id)
            ).filter(id__in=indexed(IndexKind.AGENCY, agency.id))
            naming = naming_in_referral(parties=parties_of(referral), decision=decision)
            page, next_link = visible_page(
                records,
                request,
                keep=lambda page: [
                    (record, view)
                    for record in page
                    if (view := access_view(record, referral, agency.id, naming)) is not None
                ],
            )
            self.access.referrals.append(referral.id)
            self.record_access(status.HTTP_200_OK)
        return Response({"results": [view for _, view in page], "next": next_link})


def access_view(
    record: AccessRecord, referral: Any, reader: UUID, naming: Naming
) -> dict[str, Any] | None:
    """One access as this party sees it, or None when it does not see it: neither its own nor
    one to categories it supplied, or by a partner service it may not know of (even its time,
    purpose and categories could tell which service it is)."""
    categories = categories_for(record, str(referral.id), str(reader))
    requester = UUID(record.agency_ref) if record.agency_ref else None
    if categories is None or not naming.names(requester):
        return None
    return {
        "at": timestamp(record.at),
        "agency": naming.agency(requester),
        "agency_kind": record.agency_kind,
        "purpose": record.purpose or None,
        "categories": categories,
        "method": record.method if record.agency_ref == str(reader) else None,
        "outcome": record.outcome,
    }


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
