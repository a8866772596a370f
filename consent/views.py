"""Consents over HTTP. For anyone but the referrer and the partner service they do not exist.

Each handler parses, calls one use case (consent/use_cases.py) and responds with what it served.
"""

from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from consent import use_cases
from consent.serializers import ConsentCreateSerializer, ConsentSerializer, WithdrawalSerializer
from core.pagination import PageRequest
from hub.api import HubViewMixin


def referral_filter(request: Request) -> UUID | None:
    """The list's `referral` filter from the query string (400, `referral`, if not a UUID)."""
    referral = request.query_params.get("referral")
    if referral is None:
        return None
    try:
        return serializers.UUIDField().to_internal_value(referral)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"referral": exc.detail}) from exc


class ConsentListView(HubViewMixin, GenericAPIView):
    """Consents of the man or the partner, recorded on referrals your agency made or on which
    it supports the partner."""

    required_scopes = {"get": ["consent:read"], "post": ["consent:write"]}
    serializer_class = ConsentSerializer
    touches_personal_data = True

    @extend_schema(
        summary="List consents",
        parameters=[OpenApiParameter("referral", UUID, required=False)],
        responses=ConsentSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        served = use_cases.consent_list(
            self.context, referral_filter(request), PageRequest.of(request)
        )
        return self.respond(served)

    @extend_schema(
        summary="Record a consent",
        request=ConsentCreateSerializer,
        responses={201: ConsentSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = ConsentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        served = use_cases.consent_record(self.context, serializer.validated_data)
        return self.respond(served, location=f"{request.path}{served.body['id']}/")


class ConsentDetailView(HubViewMixin, GenericAPIView):
    """One consent (its provisions never change: withdraw it instead)."""

    required_scopes = {"get": ["consent:read"]}
    serializer_class = ConsentSerializer
    touches_personal_data = True

    @extend_schema(summary="Read a consent")
    def get(self, request: Request, consent_id: UUID) -> Response:
        return self.respond(use_cases.consent_read(self.context, consent_id))


class ConsentWithdrawView(HubViewMixin, GenericAPIView):
    """Withdraw a consent: it stops counting on the very next request."""

    required_scopes = {"post": ["consent:write"]}
    serializer_class = WithdrawalSerializer
    problem_statuses = {"post": [409]}
    touches_personal_data = True

    @extend_schema(
        summary="Withdraw a consent",
        request=WithdrawalSerializer,
        responses={200: ConsentSerializer},
    )
    def post(self, request: Request, consent_id: UUID) -> Response:
        serializer = WithdrawalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        served = use_cases.consent_withdraw(
            self.context, consent_id, reason=serializer.validated_data["reason"]
        )
        return self.respond(served)
