"""Sharing agreements over HTTP, and `explain/`: why an agency sees what it sees."""

from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.models import Agency, AgencyKind
from agencies.permissions import AnyOf
from hub.api import HubViewMixin
from hub.conditional import check_if_match, etag_of
from hub.exceptions import NotAParty
from hub.serializers import timestamp
from referrals.models import Referral
from referrals.selectors import referral_get_visible, referral_queryset
from sharing_policies import services
from sharing_policies.decision import Decision
from sharing_policies.models import Agreement, AgreementVersion
from sharing_policies.naming import Naming, naming_in_referral
from sharing_policies.selectors import (
    agencies_led_to,
    agency_kinds,
    current_agreement_versions,
    decision_inputs,
    parties_of,
)
from sharing_policies.serializers import (
    AgreementCreateSerializer,
    AgreementFilterSerializer,
    AgreementPatchSerializer,
    AgreementSerializer,
    ExplainQuerySerializer,
    ExplanationSerializer,
)
from sharing_policies.vocabulary import Category


def agreements_visible_to(agency: Agency) -> QuerySet[AgreementVersion]:
    """Current versions the agency provides or receives; every one for the hub operator."""
    rows = current_agreement_versions().select_related("agreement")
    if agency.kind == AgencyKind.HUB_OPERATOR:
        return rows
    return rows.filter(
        Q(provider=agency)
        | Q(recipient=agency)
        | Q(recipient__isnull=True, recipient_kind=agency.kind)
    )


def agreements_naming(reader: Agency, rows: list[AgreementVersion]) -> Naming:
    """The naming rule for a list of agreements: outside any referral, a victim service is
    named only to itself and to the hub operator (an agreement with one would otherwise tell
    whoever sees a `victim_service` supplier which service it is)."""
    return Naming.from_kinds(
        reader=reader.id,
        kinds=agency_kinds(
            a for row in rows for a in (row.provider_id, row.recipient_id, row.created_by_id)
        ),
        everything=reader.kind == AgencyKind.HUB_OPERATOR,
    )


def render_agreement(row: AgreementVersion, naming: Naming) -> dict[str, Any]:
    """An agreement version; agency references by the naming rule (`victim_service` in place
    of an id the reader may not be told)."""
    return {
        "id": str(row.agreement_id),
        "version": row.version,
        "name": row.name,
        "provider": naming.agency(row.provider_id),
        "recipient": naming.agency(row.recipient_id),
        "recipient_kind": row.recipient_kind or None,
        "purposes": row.purposes,
        "grants": row.grants,
        "valid_from": row.valid_from.isoformat(),
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
        "review_date": row.review_date.isoformat() if row.review_date else None,
        "status": row.status,
        "review_overdue": services.review_overdue(row),
        "created_at": timestamp(row.created_at),
        "created_by": naming.agency(row.created_by_id),
    }


def render_agreements(reader: Agency, rows: list[AgreementVersion]) -> list[dict[str, Any]]:
    naming = agreements_naming(reader, rows)
    return [render_agreement(row, naming) for row in rows]


class AgreementListView(HubViewMixin, GenericAPIView):
    """Sharing agreements your agency provides or receives (the hub operator: all of them)."""

    required_scopes = {"get": ["policies:read"], "post": ["policies:write"]}
    serializer_class = AgreementSerializer
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return AgreementVersion.objects.none()
        rows = agreements_visible_to(self.actor.agency)
        filters = AgreementFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        overdue = filters.validated_data["review_overdue"]
        return rows if overdue is None else services.agreements_review_overdue(rows, overdue)

    @extend_schema(
        summary="List sharing agreements",
        parameters=[AgreementFilterSerializer],
        responses=AgreementSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(render_agreements(self.actor.agency, list(page)))

    @extend_schema(
        summary="Publish a sharing agreement over data your agency supplies",
        request=AgreementCreateSerializer,
        responses={201: AgreementSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = AgreementCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = services.agreement_create(actor=self.actor, data=serializer.validated_data)
        (view,) = render_agreements(self.actor.agency, [row])
        return Response(
            view,
            status=status.HTTP_201_CREATED,
            headers={"ETag": etag_of(view), "Location": f"{request.path}{row.agreement_id}/"},
        )


class AgreementDetailView(HubViewMixin, GenericAPIView):
    """One sharing agreement (its latest version); a change makes a new version."""

    required_scopes = {"get": ["policies:read"], "patch": ["policies:write"]}
    serializer_class = AgreementSerializer

    def current(self, agreement_id: UUID) -> AgreementVersion:
        row = agreements_visible_to(self.actor.agency).filter(agreement_id=agreement_id).first()
        if row is None:
            raise NotAParty("No agreement with this id is visible to your agency.")
        return row

    @extend_schema(summary="Read a sharing agreement")
    def get(self, request: Request, agreement_id: UUID) -> Response:
        (view,) = render_agreements(self.actor.agency, [self.current(agreement_id)])
        return Response(view, headers={"ETag": etag_of(view)})

    @extend_schema(
        summary="Change a sharing agreement (a new version; If-Match required)",
        request=AgreementPatchSerializer,
        responses={200: AgreementSerializer},
    )
    def patch(self, request: Request, agreement_id: UUID) -> Response:
        serializer = AgreementPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            self.current(agreement_id)  # 404 for an agreement not visible, before any lock
            # Lock, then compare: a writer holding the same ETag waits here until the first
            # commits, then compares with the version it made (412), never with the one before.
            Agreement.objects.select_for_update().filter(id=agreement_id).first()
            (before,) = render_agreements(self.actor.agency, [self.current(agreement_id)])
            check_if_match(request, etag_of(before))
            row = services.agreement_change(
                actor=self.actor, agreement_id=agreement_id, changes=serializer.validated_data
            )
        (view,) = render_agreements(self.actor.agency, [row])
        return Response(view, headers={"ETag": etag_of(view)})


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
        actor = self.actor
        operator = actor.agency.kind == AgencyKind.HUB_OPERATOR and "audit:read" in actor.scopes
        with transaction.atomic():
            if operator:
                referral = referral_queryset().filter(id=params["referral"]).first()
                target = Agency.objects.filter(id=params["agency"]).first()
            else:
                if params["agency"] != actor.agency.id:
                    raise NotAParty("Your agency may ask only about itself.")
                referral = referral_get_visible(
                    agency_id=actor.agency.id, referral_id=params["referral"]
                )
                target = actor.agency
            if referral is None or target is None:
                raise NotAParty("No such referral or agency.")
            inputs = decision_inputs(
                agency=target,
                purpose=params["purpose"],
                emergency=params["emergency"],
                referral_ids=[referral.id],
            )
            decision = inputs.decide(referral)
            self.access.referrals.append(referral.id)
            self.record_access(status.HTTP_200_OK)
        return Response(explanation(referral, target, params["purpose"], decision, operator))


def explanation(
    referral: Referral, agency: Agency, purpose: str, decision: Decision, operator: bool
) -> dict[str, Any]:
    """The decision, category by category, with what each disclosure rested on. Agencies,
    agreements and consents are named by the naming rule, for the agency asked about (the hub
    operator's DPO: everything)."""
    withheld = {w.category: w for w in decision.withheld}
    led = agencies_led_to(
        agreements={a for w in decision.withheld for a, _ in w.agreements}
        | {b.agreement for b in decision.bases if b.agreement},
        consents={b.consent for b in decision.bases if b.consent},
    )
    naming = naming_in_referral(
        parties=parties_of(referral), decision=decision, everything=operator
    ).knowing_kinds(agency_kinds(a for agencies in led.values() for a in agencies))

    def basis_view(basis: Any) -> dict[str, Any]:
        named = naming.basis_named(
            supplier=basis.supplier, refs=(basis.agreement, basis.consent), led=led
        )
        return {
            "supplier": naming.agency(basis.supplier),
            "lawful_basis": basis.lawful_basis,
            "agreement": str(basis.agreement) if named and basis.agreement else None,
            "agreement_version": basis.agreement_version if named else None,
            "consent": str(basis.consent) if named and basis.consent else None,
        }

    categories = []
    for category in Category if decision.is_party else ():
        bases = [b for b in decision.bases if b.category == category]
        reason = withheld.get(category)
        categories.append(
            {
                "category": str(category),
                "disclosed": decision.sees(category),
                "reason": str(reason.reason) if reason else None,
                "bases": [basis_view(b) for b in bases],
                "agreements": [
                    {"id": str(a), "version": v}
                    for a, v in (reason.agreements if reason else ())
                    if naming.reference(a, led.get(a)) is not None
                ],
            }
        )
    return {
        "referral": str(referral.id),
        "agency": str(agency.id),  # the caller named it in its question
        "purpose": purpose,
        "roles": sorted(str(r) for r in decision.roles),
        "categories": categories,
    }
