"""The audit endpoints: the DPO search and its export, flag reviews, the chain's verification,
the subject-access report, and a referral's accesses for its parties."""

import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import renderers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from audit import use_cases
from audit.selectors import Reader, chunks, record_views
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
from core.pagination import PageRequest
from core.problems import ProblemJSONRenderer
from core.vocabulary import Purpose
from hub.api import HubViewMixin

NEWEST_FIRST = use_cases.NEWEST_FIRST


class AuditViewMixin(HubViewMixin):
    """audit:read; the purpose is `audit`; every search is itself recorded."""

    touches_personal_data = True
    purpose_implied = Purpose.AUDIT.value

    def filters(self, serializer_class: type[AuditFilterSerializer]) -> dict[str, Any]:
        """The search's filters from the query string (400 for a malformed one)."""
        filters = serializer_class(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return filters.validated_data


class AuditEventsView(AuditViewMixin, GenericAPIView):
    """The DPO search over access records, newest first. The hub operator's DPO sees every
    record; any other agency's DPO the records of its own requests, and of disclosures of the
    categories it supplied (limited to those categories)."""

    required_scopes = {"get": ["audit:read"]}
    serializer_class = AccessRecordSerializer
    cursor_ordering = NEWEST_FIRST
    problem_statuses = {"get": [422]}

    @extend_schema(
        summary="Search access records",
        parameters=[AuditFilterSerializer],
        responses=AccessRecordSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.filters(AuditFilterSerializer)
        served = use_cases.audit_search(self.context, filters, PageRequest.of(request))
        return self.respond(served)


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


def export_rows(
    records: QuerySet, reader: Reader, filters: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Record views, a chunk at a time (`use_cases.export_rows`, by this module's `chunks` and
    `record_views`, read when the export streams): never every record in memory."""
    return use_cases.export_rows(records, reader, filters, chunked=chunks, views_of=record_views)


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
        filters = self.filters(ExportFilterSerializer)
        served = use_cases.audit_export(self.context, filters, rows=export_rows)
        export = served.body
        rows = export_rows(export.records, export.reader, export.filters)
        as_csv = request.accepted_renderer.format == "csv"
        response = StreamingHttpResponse(
            csv_stream(rows) if as_csv else json_stream(rows),
            content_type="text/csv; charset=utf-8" if as_csv else "application/json",
        )
        name = f"access-records-{timezone.now():%Y%m%dT%H%M%SZ}.{'csv' if as_csv else 'json'}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        # `respond` builds a Response; a stream says itself that its request was recorded.
        response.access_recorded = served.recorded
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
        return self.respond(use_cases.audit_review(self.context, record_id, request.data))


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
        query = request.query_params.dict()
        return self.respond(use_cases.audit_verify(self.context, query))


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
        response = self.respond(use_cases.subject_report_create(self.context, person_id))
        if request.accepted_renderer.format == "html":
            response["Content-Disposition"] = (
                f'attachment; filename="subject-access-report-{person_id}.html"'
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
        served = use_cases.referral_accesses(self.context, referral_id, PageRequest.of(request))
        return self.respond(served)
