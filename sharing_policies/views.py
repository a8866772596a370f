"""Sharing agreements over HTTP, and `explain/`: why an agency sees what it sees.

Each handler parses, calls one use case (sharing_policies/use_cases.py) and responds with what it
served.
"""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.permissions import AnyOf
from core.pagination import PageRequest
from hub.api import HubViewMixin
from sharing_policies import use_cases
from sharing_policies.serializers import (
    AgreementCreateSerializer,
    AgreementFilterSerializer,
    AgreementPatchSerializer,
    AgreementSerializer,
    ExplainQuerySerializer,
    ExplanationSerializer,
)


class AgreementListView(HubViewMixin, GenericAPIView):
    """Sharing agreements your agency provides or receives (the hub operator: all of them)."""

    required_scopes = {"get": ["policies:read"], "post": ["policies:write"]}
    serializer_class = AgreementSerializer

    @extend_schema(
        summary="List sharing agreements",
        parameters=[AgreementFilterSerializer],
        responses=AgreementSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = AgreementFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        served = use_cases.agreement_list(
            self.context, filters.validated_data["review_overdue"], PageRequest.of(request)
        )
        return self.respond(served)

    @extend_schema(
        summary="Publish a sharing agreement over data your agency supplies",
        request=AgreementCreateSerializer,
        responses={201: AgreementSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = AgreementCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        served = use_cases.agreement_create(self.context, serializer.validated_data)
        return self.respond(served, location=f"{request.path}{served.body['id']}/")


class AgreementDetailView(HubViewMixin, GenericAPIView):
    """One sharing agreement (its latest version); a change makes a new version."""

    required_scopes = {"get": ["policies:read"], "patch": ["policies:write"]}
    serializer_class = AgreementSerializer

    @extend_schema(summary="Read a sharing agreement")
    def get(self, request: Request, agreement_id: UUID) -> Response:
        return self.respond(use_cases.agreement_read(self.context, agreement_id))

    @extend_schema(
        summary="Change a sharing agreement (a new version; If-Match required)",
        request=AgreementPatchSerializer,
        responses={200: AgreementSerializer},
    )
    def patch(self, request: Request, agreement_id: UUID) -> Response:
        serializer = AgreementPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        served = use_cases.agreement_change(
            self.context,
            agreement_id,
            serializer.validated_data,
            if_match=request.headers.get("If-Match"),
        )
        return self.respond(served)


class ExplainView(HubViewMixin, GenericAPIView):
    """Why an agency sees, or does not see, each category of a referral for a purpose.

    A party may ask about itself (`policies:read`); the hub operator about any agency
    (`audit:read`). It reveals decisions and the agreement and consent versions behind them,
    never the content withheld.
    """

    required_scopes = {"get": AnyOf(["policies:read"], ["audit:read"])}
    serializer_class = ExplanationSerializer
    touches_personal_data = True
    problem_statuses = {"get": [410]}

    @extend_schema(
        summary="Explain a disclosure decision",
        parameters=[ExplainQuerySerializer],
        responses={200: ExplanationSerializer},
    )
    def get(self, request: Request) -> Response:
        query = ExplainQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        served = use_cases.decision_explain(
            self.context,
            referral_id=params["referral"],
            agency_id=params["agency"],
            purpose=params["purpose"],
            emergency=params["emergency"],
        )
        return self.respond(served)
