"""Reads of referrals, always scoped to what the calling agency is party to."""

from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet

from hub.exceptions import Gone, NotAParty
from hub.serializers import timestamp
from referrals.models import Programme, Referral


def referral_queryset() -> QuerySet[Referral]:
    """Everything a referral's view needs, in a fixed number of queries for any page size."""
    return Referral.objects.select_related("programme").prefetch_related(
        "observers", "disclosures", "reports"
    )


def party_filter(agency_id: UUID) -> Q:
    """Referrals the agency is party to: referrer, provider, partner service or observer."""
    observed = Referral.observers.through.objects.filter(agency_id=agency_id).values("referral_id")
    return (
        Q(referrer_id=agency_id)
        | Q(provider_id=agency_id)
        | Q(partner_service_id=agency_id)
        | Q(id__in=observed)
    )


def referrals_visible_to(*, agency_id: UUID) -> QuerySet[Referral]:
    """The referrals an agency is party to; nobody else can see that a referral exists.
    Erased referrals (retention's tombstones) hold nothing to show, so lists leave them out."""
    return referral_queryset().filter(party_filter(agency_id), erased_at__isnull=True)


# List filter -> ORM lookup.
FILTER_LOOKUPS = {
    "status": "status",
    "programme": "programme_id",
    "created_after": "created_at__gte",
    "created_before": "created_at__lt",
    "updated_since": "updated_at__gte",
}


def referral_filters(params: dict[str, Any]) -> dict[str, Any]:
    return {FILTER_LOOKUPS[name]: value for name, value in params.items() if name in FILTER_LOOKUPS}


def check_not_erased(referral: Referral) -> Referral:
    """A party asking for an erased referral is told it is gone (410), not that it never
    existed: it knew the referral, and a 404 would read as an error on its side."""
    if referral.erased_at is not None:
        exc = Gone("This referral's personal data was erased under the retention policy.")
        exc.extra = {"erased_at": timestamp(referral.erased_at)}
        raise exc
    return referral


def referral_get_visible(*, agency_id: UUID, referral_id: UUID) -> Referral:
    """The referral if the agency is party to it: 404 for anyone else, 410 once erased."""
    referral = referral_queryset().filter(party_filter(agency_id), id=referral_id).first()
    if referral is None:
        raise NotAParty("No referral with this id is visible to your agency.")
    return check_not_erased(referral)


def referral_lock_visible(*, agency_id: UUID, referral_id: UUID) -> Referral:
    """The referral, row-locked until the transaction ends, if the agency is party to it:
    changes to one referral queue instead of racing."""
    referral = (
        Referral.objects.select_for_update()
        .filter(party_filter(agency_id), id=referral_id)
        .prefetch_related("observers", "disclosures")
        .first()
    )
    if referral is None:
        raise NotAParty("No referral with this id is visible to your agency.")
    return check_not_erased(referral)


def programme_list() -> QuerySet[Programme]:
    return Programme.objects.all()
