"""Recording and withdrawing consent. Only the referrer and the partner service do either."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from agencies.actors import Actor
from agencies.models import Agency, AgencyKind
from consent.models import Consent
from core.exceptions import Conflict, PolicyViolation, UnknownReference
from core.vocabulary import VICTIM_CONFIDENTIAL
from referrals.models import Referral


def check_provisions(provisions: list[dict[str, Any]]) -> None:
    """Named agencies exist; no permit hands a programme provider what concerns the partner."""
    named = {r for p in provisions for r in p.get("recipients", [])}
    agencies = {a.id: a for a in Agency.objects.filter(id__in=named)}
    for index, provision in enumerate(provisions):
        for position, recipient in enumerate(provision.get("recipients", [])):
            if recipient not in agencies:
                raise UnknownReference(
                    "No agency has this id.", field=f"provisions.{index}.recipients.{position}"
                )
        if provision["type"] != "permit":
            continue
        confidential = set(provision["categories"]) & VICTIM_CONFIDENTIAL
        to_provider = AgencyKind.PROGRAMME_PROVIDER in provision.get("recipient_kinds", []) or any(
            agencies[r].kind == AgencyKind.PROGRAMME_PROVIDER
            for r in provision.get("recipients", [])
        )
        if confidential and to_provider:
            raise PolicyViolation(
                "What concerns the partner and the children never reaches a programme "
                "provider, whatever a consent says.",
                field=f"provisions.{index}",
            )


def as_stored(provisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "type": p["type"],
            "categories": sorted(set(p["categories"])),
            "recipients": sorted({str(r) for r in p.get("recipients", [])}),
            "recipient_kinds": sorted(set(p.get("recipient_kinds", []))),
            "purposes": sorted(set(p.get("purposes", []))),
        }
        for p in provisions
    ]


@transaction.atomic
def consent_record(*, actor: Actor, referral: Referral, data: dict[str, Any]) -> Consent:
    check_provisions(data["provisions"])
    return Consent.objects.create(
        referral=referral,
        data_subject=data["data_subject"],
        provisions=as_stored(data["provisions"]),
        valid_from=data["valid_from"],
        valid_to=data.get("valid_to"),
        evidence={**data["evidence"], "recorded_by": str(actor.agency.id)},
        recorded_by=actor.agency,
        recorded_by_client=actor.client_id,
    )


@transaction.atomic
def consent_withdraw(*, consent: Consent, reason: str, actor: Actor) -> Consent:
    """Effective on the very next request: the decision reads consents afresh each time."""
    consent = Consent.objects.select_for_update().get(id=consent.id)
    if consent.withdrawn_at is not None:
        raise Conflict("This consent is already withdrawn.")
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = actor.agency
    consent.withdrawal_reason = reason
    consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    return consent
