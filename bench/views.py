"""The baseline: bare Django views doing the same database reads and writes as the hub's
endpoints, with no OAuth, no disclosure decision, no minimisation and no audit record.

They exist only for the benchmark (bench.settings routes to them) and trust their caller
entirely: the acting agency is a query parameter. Never serve them anywhere else.
"""

import base64
import json
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import get_access_token_model

from agencies.models import Agency, Client
from audit.selectors import Reader, as_record, record_search
from consent.models import Consent
from referrals.models import (
    Amendment,
    Event,
    FeedCounter,
    PartnerDisclosure,
    Person,
    PersonIdentifier,
    Programme,
    Referral,
)
from referrals.selectors import party_filter
from sharing_policies.models import AgreementVersion

CATEGORY_FIELDS = (
    "subject_identity",
    "subject_contact",
    "offence",
    "risk",
    "partner_identity",
    "partner_contact",
    "children",
)


def _referrals(agency_id: Any) -> Any:
    return (
        Referral.objects.select_related("programme")
        .prefetch_related("observers", "disclosures", "reports")
        .filter(party_filter(agency_id), erased_at__isnull=True)
    )


def _related(agency_id: Any, ids: list[UUID]) -> tuple[list[dict], list[dict]]:
    """The consents of these referrals and the agreements towards the agency: the inputs the
    hub's decision reads."""
    consents = list(
        Consent.objects.filter(referral_id__in=ids).values(
            "id", "referral_id", "data_subject", "provisions", "valid_from", "withdrawn_at"
        )
    )
    agreements = list(
        AgreementVersion.objects.filter(recipient_id=agency_id).values(
            "agreement_id", "version", "provider_id", "purposes", "grants", "status"
        )
    )
    return consents, agreements


def _as_json(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.id,
        "status": referral.status,
        "referrer": referral.referrer_id,
        "provider": referral.provider_id,
        "programme": {"id": referral.programme.id, "name": referral.programme.name},
        "partner_service": referral.partner_service_id,
        "observers": [a.id for a in referral.observers.all()],
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        **{field: getattr(referral, field) for field in CATEGORY_FIELDS},
        "disclosures": [
            {"id": d.id, "summary": d.summary, "recorded_at": d.recorded_at}
            for d in referral.disclosures.all()
        ],
        "reports": [
            {"id": r.id, "kind": r.kind, "content": r.content, "written_at": r.written_at}
            for r in referral.reports.all()
        ],
    }


def _raise_events(referral: Referral, recipients: list[Any], kind: str, about: dict) -> None:
    for agency_id in dict.fromkeys(r for r in recipients if r):
        counter, _ = FeedCounter.objects.select_for_update().get_or_create(agency_id=agency_id)
        counter.last_position += 1
        counter.save(update_fields=["last_position"])
        Event.objects.create(
            recipient_id=agency_id,
            position=counter.last_position,
            referral=referral,
            type=kind,
            about=about,
        )


@csrf_exempt
def referral_read_or_amend(request: HttpRequest, referral_id: UUID) -> JsonResponse:
    agency_id = request.GET["agency"]
    if request.method == "PATCH":
        changes = json.loads(request.body)
        with transaction.atomic():
            referral = _referrals(agency_id).select_for_update(of=("self",)).get(id=referral_id)
            old = referral.risk
            referral.risk = {**(old or {}), **changes["risk"]}
            referral.save(update_fields=["risk", "updated_at"])
            amendment = Amendment.objects.create(
                referral=referral,
                by_id=agency_id,
                by_client="bench",
                reason=changes.get("amendment_reason", ""),
                changes={"risk": {"old": old, "new": referral.risk}},
            )
            _raise_events(
                referral,
                [referral.provider_id, referral.partner_service_id],
                "amendment",
                {"amendment": str(amendment.id)},
            )
            body = _as_json(referral)
        return JsonResponse(body)
    with transaction.atomic():
        referral = _referrals(agency_id).get(id=referral_id)
        consents, agreements = _related(agency_id, [referral.id])
    return JsonResponse({**_as_json(referral), "consents": consents, "agreements": agreements})


@csrf_exempt
def referral_list_or_create(request: HttpRequest) -> JsonResponse:
    agency_id = request.GET["agency"]
    if request.method == "POST":
        return _create(agency_id, json.loads(request.body))
    size = int(request.GET.get("page_size", 50))
    with transaction.atomic():
        page = list(_referrals(agency_id).order_by("-created_at", "-id")[:size])
        consents, agreements = _related(agency_id, [r.id for r in page])
    results = [_as_json(r) for r in page]
    return JsonResponse({"results": results, "consents": consents, "agreements": agreements})


def _create(agency_id: str, data: dict[str, Any]) -> JsonResponse:
    """The rows a referral create writes: the man and his identifiers, the partner, the
    referral, her disclosures and the parties' events."""
    subject, partner = data["subject"], data.get("partner") or {}
    with transaction.atomic():
        programme_provider = (
            Programme.objects.filter(id=data["programme"])
            .values_list("provider_id", flat=True)
            .get()
        )
        man = Person.objects.create()
        for identifier in subject["identity"].get("identifiers", []):
            PersonIdentifier.objects.create(person=man, **identifier)
        woman = Person.objects.create() if partner.get("identity") else None
        referral = Referral.objects.create(
            referrer_id=agency_id,
            provider_id=programme_provider,
            programme_id=data["programme"],
            created_by_client="bench",
            partner_service_id=data.get("partner_service"),
            partner=woman,
            partner_identity=partner.get("identity"),
            subject=man,
            subject_identity=subject["identity"],
            subject_contact=subject.get("contact"),
            offence=data.get("offence"),
            risk=data.get("risk"),
            partner_contact=partner.get("contact"),
            children=data.get("children"),
        )
        for disclosure in partner.get("disclosures", []):
            PartnerDisclosure.objects.create(
                referral=referral, supplier_id=agency_id, summary=disclosure["summary"]
            )
        _raise_events(referral, [referral.provider_id, referral.partner_service_id], "created", {})
    return JsonResponse({"id": referral.id}, status=201)


@csrf_exempt
def consent_withdraw(request: HttpRequest, consent_id: UUID) -> JsonResponse:
    agency_id = request.GET["agency"]
    with transaction.atomic():
        consent = Consent.objects.select_for_update().get(id=consent_id)
        if consent.withdrawn_at is not None:
            return JsonResponse({"detail": "already withdrawn"}, status=409)
        consent.withdrawn_at = timezone.now()
        consent.withdrawn_by_id = agency_id
        consent.withdrawal_reason = json.loads(request.body).get("reason", "")
        consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    return JsonResponse({"id": consent.id, "withdrawn_at": consent.withdrawn_at})


def event_feed(request: HttpRequest) -> JsonResponse:
    agency_id = request.GET["agency"]
    after = int(request.GET.get("after", 0))
    size = int(request.GET.get("page_size", 100))
    events = list(
        Event.objects.filter(recipient_id=agency_id, position__gt=after)
        .order_by("position")
        .values("id", "position", "type", "referral_id", "at", "about")[:size]
    )
    return JsonResponse({"results": events})


@csrf_exempt
def token(request: HttpRequest) -> JsonResponse:
    """The client's lookup, its secret's check and a new token row: what any token endpoint
    must do (no scope, purpose or rate-limit logic)."""
    client_id, secret = (
        base64.b64decode(request.headers["Authorization"].split()[1]).decode().split(":", 1)
    )
    client = Client.objects.get(client_id=client_id)
    if not check_password(secret, client.client_secret):
        return JsonResponse({"error": "invalid_client"}, status=401)
    issued = get_access_token_model().objects.create(
        token=secrets.token_urlsafe(30),
        application=client,
        expires=timezone.now() + timedelta(hours=1),
        scope=client.scopes,
    )
    return JsonResponse(
        {"access_token": issued.token, "token_type": "Bearer", "expires_in": 3600},
    )


def audit_search(request: HttpRequest) -> JsonResponse:
    """The DPO search's first page, the query alone (no scope, purpose or audit record)."""
    reader = Reader(agency=Agency.objects.get(id=request.GET["agency_reader"]))
    filters: dict[str, Any] = {}
    for name in ("person", "agency"):
        if name in request.GET:
            filters[name] = UUID(request.GET[name])
    for name in ("from", "to"):
        if name in request.GET:
            filters[name] = datetime.fromisoformat(request.GET[name])
    items = list(record_search(reader, filters).order_by("-at", "-id")[:51])
    rows = [
        {
            "id": r.id,
            "at": r.at,
            "agency": r.agency_ref,
            "method": r.method,
            "path": r.path,
            "status": r.status,
            "outcome": r.outcome,
            "referrals": r.referrals,
            "disclosed": r.disclosed,
        }
        for r in map(as_record, items)
    ]
    return JsonResponse({"results": rows[:50], "more": len(rows) > 50})
