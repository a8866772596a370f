"""Reads of referrals, always scoped to what the calling agency is party to."""

from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from core.exceptions import Gone, NotAParty
from core.serializers import timestamp
from core.vocabulary import Category
from referrals.models import Amendment, PartnerDisclosure, Programme, Referral, Report
from sharing_policies.decision import Decision, ReferralParties

# Category -> the annotation of referral_queryset() that says when an amendment last changed it.
AMENDED_AT = {
    category: f"{category.value.replace('.', '_')}_amended_at"
    for category in Category
    if category is not Category.REFERRAL_ADMIN
}


def last_amended(category: Category) -> Subquery:
    """When an amendment last changed this category of the referral (null if none did)."""
    return Subquery(
        Amendment.objects.filter(referral=OuterRef("pk"), changes__has_key=category.value)
        .order_by("-at")
        .values("at")[:1]
    )


def parties_of(referral: Referral) -> ReferralParties:
    """Who the referral's parties are, as the disclosure decision takes them (its prefetched
    observers and disclosures: no query of its own on a referral_queryset() row)."""
    return ReferralParties(
        referrer=referral.referrer_id,
        provider=referral.provider_id,
        partner_service=referral.partner_service_id,
        observers=frozenset(a.id for a in referral.observers.all()),
        disclosure_suppliers=frozenset(d.supplier_id for d in referral.disclosures.all()),
    )


@cache
def referral_base_queryset() -> QuerySet[Referral]:
    # Built once: resolving its nine subqueries took a third of a read's time (a profile of
    # GET referrals/{id}/). Never evaluated itself; each caller gets a fresh clone of it.
    return (
        Referral.objects.select_related("programme")
        .prefetch_related("observers", "disclosures", "reports")
        .annotate(**{name: last_amended(category) for category, name in AMENDED_AT.items()})
    )


def referral_queryset() -> QuerySet[Referral]:
    """Everything a referral's view needs, in a fixed number of queries for any page size."""
    return referral_base_queryset().all()


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


# List filter -> ORM lookup, over referral.admin, which every party sees. `updated_since` is
# not one: it depends on what the caller may see (changed_since, updated_at_seen).
FILTER_LOOKUPS = {
    "status": "status",
    # The web pages' tabs (several statuses at once).
    "statuses": "status__in",
    "programme": "programme_id",
    "created_after": "created_at__gte",
    "created_before": "created_at__lt",
}


def referral_filters(params: dict[str, Any]) -> Q:
    """The list's filters as one condition. For `updated_since` the database can only keep the
    referrals in which anything changed since (`changed_since`): the caller then keeps those
    whose view of them did (`updated_at_seen`), so that the filter tells it nothing more."""
    condition = Q(
        **{FILTER_LOOKUPS[name]: value for name, value in params.items() if name in FILTER_LOOKUPS}
    )
    if params.get("updated_since") is not None:
        condition &= changed_since(params["updated_since"])
    if params.get("reference"):
        condition &= with_reference(params["reference"])
    return condition


def with_reference(reference: str) -> Q:
    """Referrals whose id begins with `reference` (the first 8 hex digits the pages show as a
    referral's reference): a range of ids, so that both databases use the primary key."""
    digits = reference.strip().lower()
    low = UUID(digits.ljust(32, "0"))
    high = UUID(digits.ljust(32, "f"))
    return Q(id__gte=low, id__lte=high)


def changed_since(moment: datetime) -> Q:
    """Referrals in which anything changed at or after `moment`: each referral whose
    `updated_at_seen` is that late for some reader, and more."""
    return (
        Q(updated_at__gte=moment)
        | Q(created_at__gte=moment)
        | Q(Exists(Amendment.objects.filter(referral=OuterRef("pk"), at__gte=moment)))
        | Q(Exists(Report.objects.filter(referral=OuterRef("pk"), written_at__gte=moment)))
        | Q(
            Exists(
                PartnerDisclosure.objects.filter(referral=OuterRef("pk"), recorded_at__gte=moment)
            )
        )
    )


def updated_at_seen(referral: Referral, decision: Decision) -> datetime:
    """When the view this decision gives of the referral last changed, never when something
    it withholds did (DESIGN.md, *The disclosure decision*): the latest of referral.admin's
    change (every party sees it), the amendments of a category it sees (as its history shows
    them), the reports if it sees progress, and the partner.disclosures entries it sees."""
    times = [referral.created_at, referral.updated_at]
    times.extend(
        at for category, at in last_amended_at(referral).items() if decision.sees(category)
    )
    if decision.sees(Category.PROGRAMME_PROGRESS):
        times.extend(report.written_at for report in referral.reports.all())
    entries_from = decision.disclosure_entries_from
    if decision.sees(Category.PARTNER_DISCLOSURES) and entries_from is not None:
        times.extend(
            entry.recorded_at
            for entry in referral.disclosures.all()
            if entry.supplier_id in entries_from
        )
    return max(times)


def last_amended_at(referral: Referral) -> dict[Category, datetime]:
    """Category -> when an amendment last changed it: the annotations of a referral loaded
    through referral_queryset(), else read from its amendments."""
    loaded = vars(referral)
    if all(name in loaded for name in AMENDED_AT.values()):
        return {c: loaded[name] for c, name in AMENDED_AT.items() if loaded[name] is not None}
    latest: dict[Category, datetime] = {}
    for amendment in referral.amendments.all():
        for category in map(Category, amendment.changes):
            latest[category] = max(latest.get(category, amendment.at), amendment.at)
    return latest


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
