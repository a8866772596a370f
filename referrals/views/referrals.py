"""Referrals over HTTP: list, refer, read, amend."""

import re
from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.pagination import PageRequest
from hub.api import EMERGENCY_HEADER, MIN_JUSTIFICATION_LENGTH, HubViewMixin
from referrals import use_cases
from referrals.representation import ReferralSerializer
from referrals.serializers import (
    ReferralAmendSerializer,
    ReferralCreateSerializer,
    ReferralFilterSerializer,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
SAFE_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not SAFE_KEY.match(key):
        raise ValidationError({IDEMPOTENCY_HEADER: ["Use 1 to 255 visible ASCII characters."]})
    return key


def referral_filters(request: Request) -> dict[str, Any]:
    """The list's filters from the query string (400 for a malformed one)."""
    filters = ReferralFilterSerializer(data=request.query_params.dict())
    filters.is_valid(raise_exception=True)
    return filters.validated_data


class ReferralListView(HubViewMixin, GenericAPIView):
    """Referrals: create one (the token's agency refers), or list those your agency is party to.
    Each listed referral's `updated_at` is when your view of it last changed, and
    `updated_since` keeps those whose view did: a change to data withheld from you moves
    neither. Referrals changed only in what you may not see are skipped without a trace:
    pages are full, and the cursor never points at one."""

    required_scopes = {"get": ["referrals:read"], "post": ["referrals:write"]}
    # 409: a second open referral of the same man to the same programme (names the first).
    problem_statuses = {"post": [409]}
    serializer_class = ReferralSerializer
    touches_personal_data = True

    @extend_schema(
        summary="List the referrals your agency is party to",
        parameters=[ReferralFilterSerializer],
        responses=ReferralSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = referral_filters(request)
        served = use_cases.referral_list(self.context, filters, PageRequest.of(request))
        return self.respond(served)

    @extend_schema(
        summary="Refer a man into a programme",
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                location=OpenApiParameter.HEADER,
                required=False,
                description="Retry safely: the same key and body within 24 hours return the "
                "first result; the same key with another body is a 422. Scoped to your client.",
            )
        ],
        request=ReferralCreateSerializer,
        responses={201: ReferralSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = ReferralCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        served = use_cases.referral_create(
            self.context,
            serializer.validated_data,
            idempotency_key=idempotency_key(request),
            raw_body=request.data,
        )
        return self.respond(served, location=f"{request.path}{served.body['id']}/")


class ReferralDetailView(HubViewMixin, GenericAPIView):
    """One referral, minimised to what your agency may see for its purpose."""

    required_scopes = {"get": ["referrals:read"], "patch": ["referrals:write"]}
    problem_statuses = {"get": [410], "patch": [409, 410]}
    serializer_class = ReferralSerializer
    touches_personal_data = True
    honours_emergency_justification = frozenset({"GET"})

    @extend_schema(
        summary="Read a referral",
        parameters=[
            OpenApiParameter(
                EMERGENCY_HEADER,
                type={"type": "string", "minLength": MIN_JUSTIFICATION_LENGTH},
                location=OpenApiParameter.HEADER,
                required=False,
                description="Emergency release (at least 10 characters): releases categories "
                "granted on `vital_interests`; audited, flagged for DPO review, and reported "
                "to the data's supplier.",
            )
        ],
        responses={
            200: OpenApiResponse(ReferralSerializer, description="The minimised referral."),
        },
    )
    def get(self, request: Request, referral_id: UUID) -> Response:
        return self.respond(use_cases.referral_read(self.context, referral_id))

    @extend_schema(
        summary="Amend a referral (the referrer; If-Match required)",
        request=ReferralAmendSerializer,
        responses={200: ReferralSerializer},
    )
    def patch(self, request: Request, referral_id: UUID) -> Response:
        serializer = ReferralAmendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        served = use_cases.referral_amend(
            self.context,
            referral_id,
            changes,
            reason=changes.pop("amendment_reason", ""),
            if_match=request.headers.get("If-Match"),
        )
        return self.respond(served)
