"""Reports back over HTTP."""

from uuid import UUID

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api import HubViewMixin
from referrals import use_cases
from referrals.representation import ReportListSerializer, ReportSerializer
from referrals.serializers import REPORT_SERIALIZERS


class ReportsView(HubViewMixin, GenericAPIView):
    """Reports back: the provider writes them; the others read them as the decision allows
    (they are the `programme.progress` category; the referrer always sees them)."""

    required_scopes = {"get": ["referrals:read"], "post": ["referrals:write"]}
    serializer_class = ReportSerializer
    pagination_class = None
    problem_statuses = {"get": [410], "post": [409, 410]}
    touches_personal_data = True

    @extend_schema(summary="A referral's reports", responses=ReportListSerializer)
    def get(self, request: Request, referral_id: UUID) -> Response:
        return self.respond(use_cases.reports_read(self.context, referral_id))

    @extend_schema(
        summary="Write a report back (the provider)",
        request=PolymorphicProxySerializer(
            component_name="ReportRequest",
            # The explicit mapping: a `kind` ChoiceField has no single value to read (null key).
            serializers=REPORT_SERIALIZERS,
            resource_type_field_name="kind",
        ),
        responses={201: ReportSerializer},
    )
    def post(self, request: Request, referral_id: UUID) -> Response:
        kind = request.data.get("kind") if isinstance(request.data, dict) else None
        if not isinstance(kind, str) or kind not in REPORT_SERIALIZERS:
            raise ValidationError({"kind": [f"Use one of: {', '.join(REPORT_SERIALIZERS)}."]})
        serializer = REPORT_SERIALIZERS[kind](data=request.data)
        serializer.is_valid(raise_exception=True)
        served = use_cases.report_create(self.context, referral_id, serializer.validated_data)
        return self.respond(served)
