"""Consents, one function per operation, for every channel (issue 13).

Only the referrer and the partner service of a consent's referral may list, read, record or
withdraw it; for any other agency it does not exist (404, `NotAParty`). Each use case takes the
request's `RequestContext` (core.context), owns its transaction, and writes the served request's
access record there (`audit.services.record_served`; it names the consents' referrals), then
returns what it served (`Served`). A consent's provisions name the partner service of its
referral to its readers; any other victim service is given by its kind (`consents_naming`:
DESIGN.md, *Victim safety*). A refused operation raises having written nothing; its channel
records the refusal.
"""

from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q, QuerySet

from agencies.models import Agency
from audit.services import AccessDetails, served
from consent import services
from consent.models import Consent
from consent.serializers import ConsentSerializer
from core.context import RequestContext, Served
from core.exceptions import NotAParty, PolicyViolation
from core.pagination import PageRequest, page_body, visible_page
from core.serializers import rendering
from referrals.models import Referral
from sharing_policies.naming import Naming
from sharing_policies.selectors import agency_kinds

CONSENT_CURSOR_ORDERING = ("-recorded_at", "-id")


def consents_visible_to(agency: Agency) -> QuerySet[Consent]:
    """Consents on referrals the agency made or supports the partner on."""
    return Consent.objects.select_related("referral").filter(
        Q(referral__referrer=agency) | Q(referral__partner_service=agency)
    )


def consents_naming(reader: Agency, consents: list[Consent]) -> Naming:
    """The naming rule for consents: their readers (the referrer and the partner service) may
    name the partner service of the consent's referral; any other victim service a provision
    names is given by its kind (`ConsentSerializer` adds each consent's partner service)."""
    return Naming.from_kinds(
        reader=reader.id,
        kinds=agency_kinds(
            r for consent in consents for p in consent.provisions for r in p.get("recipients", ())
        ),
    )


def noted(
    context: RequestContext, consents: list[Consent], details: AccessDetails
) -> list[dict[str, Any]]:
    """The consents as the caller's agency may see them, their referrals noted in `details`
    for the access record (each once, in order)."""
    render = rendering(ConsentSerializer, naming=consents_naming(context.actor.agency, consents))
    for consent in consents:
        if consent.referral_id not in details.referrals:
            details.referrals.append(consent.referral_id)
    return [render(consent) for consent in consents]


def visible(context: RequestContext, consent_id: UUID) -> Consent:
    """The consent, if the caller's agency may see it (404 otherwise)."""
    consent = consents_visible_to(context.actor.agency).filter(id=consent_id).first()
    if consent is None:
        raise NotAParty("No consent with this id is visible to your agency.")
    return consent


def consent_list(context: RequestContext, referral_id: UUID | None, page: PageRequest) -> Served:
    """A page of the consents the caller's agency may see, newest recorded first, optionally on
    one referral: `{"results": [consent, ...], "next": URL | null}` (400 `cursor` for a cursor
    not ours)."""
    consents = consents_visible_to(context.actor.agency)
    if referral_id is not None:
        consents = consents.filter(referral_id=referral_id)
    details = AccessDetails()
    with transaction.atomic():
        kept, next_link = visible_page(
            consents,
            page,
            keep=lambda batch: [(consent, consent) for consent in batch],
            ordering=CONSENT_CURSOR_ORDERING,
        )
        results = noted(context, [consent for consent, _ in kept], details)
        return served(context, details, page_body(results, next_link), etag=False)


def consent_record(context: RequestContext, data: dict[str, Any]) -> Served:
    """The referrer or the partner service records a consent on a referral (201, the consent
    with its ETag). 404 for a referral the caller's agency is not one of those two on; 422
    (`referral`) once the referral's personal data was erased under the retention policy; the
    provisions are checked by `consent.services.check_provisions` (422)."""
    agency = context.actor.agency
    details = AccessDetails()
    with transaction.atomic():
        # Locked, so that a consent cannot land on a referral retention is erasing.
        referral = (
            Referral.objects.select_for_update()
            .filter(id=data["referral"])
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
        consent = services.consent_record(actor=context.actor, referral=referral, data=data)
        (view,) = noted(context, [consent], details)
        return served(context, details, view, status=201)


def consent_read(context: RequestContext, consent_id: UUID) -> Served:
    """One consent, with its ETag (404 for one the caller's agency may not see)."""
    details = AccessDetails()
    with transaction.atomic():
        (view,) = noted(context, [visible(context, consent_id)], details)
        return served(context, details, view)


def consent_withdraw(context: RequestContext, consent_id: UUID, *, reason: str) -> Served:
    """Withdraws a consent: it stops counting on the very next request (the consent as it now
    stands, without an ETag; 404 for one the caller may not see, 409 for one already
    withdrawn: `consent.services.consent_withdraw`)."""
    details = AccessDetails()
    with transaction.atomic():
        consent = services.consent_withdraw(
            consent=visible(context, consent_id), reason=reason, actor=context.actor
        )
        (view,) = noted(context, [consent], details)
        return served(context, details, view, etag=False)
