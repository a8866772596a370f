"""Consents over HTTP. For anyone but the referrer and the partner service they do not exist."""

from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.models import Agency
from consent import services
from consent.models import Consent
from consent.serializers import ConsentCreateSerializer, ConsentSerializer, WithdrawalSerializer
from hub.api import HubViewMixin
from hub.conditional import etag_of
from hub.exceptions import NotAParty, PolicyViolation
from hub.serializers import timestamp
from referrals.models import Referral
from sharing_policies.naming import Naming
from sharing_policies.selectors import agency_kinds


def consents_visible_to(agency: Agency) -> QuerySet[Consent]:
    """Consents on referrals the agency made or supports the partner on."""
    return Consent.objects.select_related("referral").filter(
        Q(referral__referrer=agency) | Q(referral__partner_service=agency)
    )


def consent_status(consent: Consent) -> str:
    today = timezone.localdate()
    if consent.withdrawn_at is not None:
        return "withdrawn"
    if consent.valid_to is not None and consent.valid_to < today:
        return "expired"
    if consent.valid_from > today:
        return "pending"
    return "active"


def consents_naming(reader: Agency, consents: list[Consent]) -> Naming:
    """The naming rule for consents: their readers (the referrer and the partner service) may
    name the partner service of the consent's referral; any other victim service a provision
    names is given by its kind (`consent_naming` adds the referral's partner service)."""
    return Naming.from_kinds(
        reader=reader.id,
        kinds=agency_kinds(
            r for consent in consents for p in consent.provisions for r in p.get("recipients", ())
        ),
    )


def consent_naming(naming: Naming, consent: Consent) -> Naming:
    return naming.knowing([consent.referral.partner_service_id])


def render_consent(consent: Consent, naming: Naming) -> dict[str, Any]:
    provisions = [
        {**p, "recipients": [naming.agency(UUID(r)) for r in p["recipients"]]}
        if p.get("recipients")
        else p
        for p in consent.provisions
    ]
    return {
        "id": str(consent.id),
        "referral": str(consent.referral_id),
        "data_subject": consent.data_subject,
        "provisions": provisions,
        "valid_from": consent.valid_from.isoformat(),
        "valid_to": consent.valid_to.isoformat() if consent.valid_to else None,
        "evidence": consent.evidence,
        "recorded_at": timestamp(consent.recorded_at),
        "status": consent_status(consent),
        "withdrawn_at": timestamp(consent.withdrawn_at) if consent.withdrawn_at else None,
        "withdrawal_reason": consent.withdrawal_reason or None,
    }


class ConsentViewMixin(HubViewMixin):
    touches_personal_data = True

    def consent(self, consent_id: UUID) -> Consent:
        consent = consents_visible_to(self.actor.agency).filter(id=consent_id).first()
        if consent is None:
            raise NotAParty("No consent with this id is visible to your agency.")
        return consent

    def noted(self, consents: list[Consent]) -> list[dict[str, Any]]:
        """The consents as this agency may see them, noted for the access record."""
        naming = consents_naming(self.actor.agency, consents)
        for consent in consents:
            if consent.referral_id not in self.access.referrals:
                self.access.referrals.append(consent.referral_id)
        return [render_consent(c, consent_naming(naming, c)) for c in consents]


class ConsentListView(ConsentViewMixin, GenericAPIView):
    """Consents of the man or the partner, recorded on referrals your agency made or on which
    it supports the partner."""

    required_scopes = {"get": ["consent:read"], "post": ["consent:write"]}
    serializer_class = ConsentSerializer
    cursor_ordering = ("-recorded_at", "-id")

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Consent.objects.none()
        consents = consents_visible_to(self.actor.agency)
        referral = self.request.query_params.get("referral")
        if referral is not None:
            field = serializers.UUIDField()
            try:
                consents = consents.filter(referral_id=field.to_internal_value(referral))
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"referral": exc.detail}) from exc
        return consents

    @extend_schema(
        summary="List consents",
        parameters=[OpenApiParameter("referral", UUID, required=False)],
        responses=ConsentSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        with transaction.atomic():
            page = self.paginate_queryset(self.get_queryset())
            results = self.noted(list(page))
            self.record_access(status.HTTP_200_OK)
        return self.get_paginated_response(results)

    @extend_schema(
        summary="Record a consent",
        request=ConsentCreateSerializer,
        responses={201: ConsentSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = ConsentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agency = self.actor.agency
        with transaction.atomic():
            # Locked, so that a consent cannot land on a referral retention is erasing.
            referral = (
                Referral.objects.select_for_update()
                .filter(id=serializer.validated_data["referral"])
                .filter(Q(referrer=agency) | Q(partner_service=agency))
                .first()
            )
            if referral is None:
                raise NotAParty("No referral with this id is visible to your agency.")
            if referral.erased_at is not None:
                raise PolicyViolation(
                    "This referral's personal data was erased under the retention policy; "
                    "nothing more is recorded on it.",
                    field="referral",
                )
            consent = services.consent_record(
                actor=self.actor, referral=referral, data=serializer.validated_data
            )
            (view,) = self.noted([consent])
            self.record_access(status.HTTP_201_CREATED)
        return Response(
            view,
            status=status.HTTP_201_CREATED,
            headers={"ETag": etag_of(view), "Location": f"{request.path}{consent.id}/"},
        )


class ConsentDetailView(ConsentViewMixin, GenericAPIView):
    """One consent (its provisions never change: withdraw it instead)."""

    required_scopes = {"get": ["consent:read"]}
    serializer_class = ConsentSerializer

    @extend_schema(summary="Read a consent")
    def get(self, request: Request, consent_id: UUID) -> Response:
        with transaction.atomic():
            (view,) = self.noted([self.consent(consent_id)])
            self.record_access(status.HTTP_200_OK)
        return Response(view, headers={"ETag": etag_of(view)})


class ConsentWithdrawView(ConsentViewMixin, GenericAPIView):
    """Withdraw a consent: it stops counting on the very next request."""

    required_scopes = {"post": ["consent:write"]}
    serializer_class = WithdrawalSerializer
    problem_statuses = {"post": [409]}

    @extend_schema(
        summary="Withdraw a consent",
        request=WithdrawalSerializer,
        responses={200: ConsentSerializer},
    )
    def post(self, request: Request, consent_id: UUID) -> Response:
        serializer = WithdrawalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            consent = services.consent_withdraw(
                consent=self.consent(consent_id),
                reason=serializer.validated_data["reason"],
                actor=self.actor,
            )
            (view,) = self.noted([consent])
            self.record_access(status.HTTP_200_OK)
        return Response(view)
