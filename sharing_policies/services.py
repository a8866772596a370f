"""Publishing and changing sharing agreements: each change is a new version of the same id."""

import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from agencies.actors import Actor
from agencies.models import Agency, AgencyKind
from core.exceptions import PolicyViolation, RoleNotPermitted, UnknownReference
from core.vocabulary import VICTIM_CONFIDENTIAL
from sharing_policies.models import Agreement, AgreementStatus, AgreementVersion

VERSIONED_FIELDS = (
    "name",
    "purposes",
    "grants",
    "valid_from",
    "valid_to",
    "review_date",
    "status",
)


def may_publish_for(actor: Actor, provider_id: Any) -> bool:
    """An agency publishes agreements over the data it supplies; the hub operator over any."""
    return actor.agency.kind == AgencyKind.HUB_OPERATOR or actor.agency.id == provider_id


def check_terms(*, terms: dict[str, Any], recipient: Agency | None, recipient_kind: str) -> None:
    """Rule 5 at save time: no victim-confidential category for a programme provider."""
    kind = recipient.kind if recipient else recipient_kind
    granted = {g["category"] for g in terms["grants"]}
    if kind == AgencyKind.PROGRAMME_PROVIDER and granted & VICTIM_CONFIDENTIAL:
        names = ", ".join(sorted(granted & VICTIM_CONFIDENTIAL))
        raise PolicyViolation(
            f"What concerns the partner and the children ({names}) never reaches a programme "
            "provider.",
            field="grants",
        )
    if terms.get("valid_to") and terms["valid_to"] < terms["valid_from"]:
        raise PolicyViolation("valid_to is before valid_from.", field="valid_to")
    review = terms.get("review_date")
    if review and (
        review < terms["valid_from"] or (terms.get("valid_to") and review > terms["valid_to"])
    ):
        raise PolicyViolation(
            "review_date must lie within valid_from..valid_to: a review after the agreement "
            "ends reviews nothing.",
            field="review_date",
        )


# An agreement still in use (or about to be) whose review date has passed; an expired one
# needs no review.
def review_overdue(row: AgreementVersion, today: datetime.date | None = None) -> bool:
    today = today or timezone.localdate()
    return bool(
        row.review_date and row.review_date < today and row.status != AgreementStatus.EXPIRED
    )


def agreements_review_overdue(
    rows: QuerySet[AgreementVersion], overdue: bool, today: datetime.date | None = None
) -> QuerySet[AgreementVersion]:
    """The versions whose review is overdue (or, with `overdue=False`, those whose is not)."""
    today = today or timezone.localdate()
    condition = Q(review_date__lt=today) & ~Q(status=AgreementStatus.EXPIRED)
    return rows.filter(condition) if overdue else rows.exclude(condition)


@transaction.atomic
def agreement_create(*, actor: Actor, data: dict[str, Any]) -> AgreementVersion:
    provider = Agency.objects.filter(id=data["provider"]).first()
    if provider is None:
        raise UnknownReference("No agency has this id.", field="provider")
    if not may_publish_for(actor, provider.id):
        raise PolicyViolation(
            "Your agency publishes agreements only over the data it supplies.", field="provider"
        )
    recipient = None
    if data.get("recipient"):
        recipient = Agency.objects.filter(id=data["recipient"]).first()
        if recipient is None:
            raise UnknownReference("No agency has this id.", field="recipient")
        if recipient.id == provider.id:
            raise PolicyViolation("An agency needs no agreement with itself.", field="recipient")
    recipient_kind = data.get("recipient_kind") or ""
    terms = {name: data.get(name) for name in VERSIONED_FIELDS}
    check_terms(terms=terms, recipient=recipient, recipient_kind=recipient_kind)
    agreement = Agreement.objects.create(provider=provider)
    return AgreementVersion.objects.create(
        agreement=agreement,
        version=1,
        provider=provider,
        recipient=recipient,
        recipient_kind=recipient_kind,
        created_by=actor.agency,
        created_by_client=actor.client_id,
        **terms,
    )


@transaction.atomic
def agreement_change(
    *, actor: Actor, agreement_id: Any, changes: dict[str, Any]
) -> AgreementVersion:
    """A new version with `changes` applied; the old one stays, so that audit records can
    always name the exact version a disclosure rested on."""
    agreement = Agreement.objects.select_for_update().get(id=agreement_id)
    current = AgreementVersion.objects.select_related("recipient").get(
        agreement=agreement, version=agreement.current_version
    )
    if not may_publish_for(actor, agreement.provider_id):
        raise RoleNotPermitted("Only the agreement's provider or the hub operator changes it.")
    terms = {name: getattr(current, name) for name in VERSIONED_FIELDS}
    terms.update(changes)
    check_terms(terms=terms, recipient=current.recipient, recipient_kind=current.recipient_kind)
    agreement.current_version += 1
    agreement.save(update_fields=["current_version"])
    return AgreementVersion.objects.create(
        agreement=agreement,
        version=agreement.current_version,
        provider_id=current.provider_id,
        recipient=current.recipient,
        recipient_kind=current.recipient_kind,
        created_by=actor.agency,
        created_by_client=actor.client_id,
        **terms,
    )
