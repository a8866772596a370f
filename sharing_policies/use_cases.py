"""Sharing agreements and the explanation of a decision, one function per operation, for every
channel (issue 13).

Each use case takes the request's `RequestContext` (core.context) and returns what it served
(`Served`: body, status, ETag). Agreements are not personal data: their use cases write no
access record, and the services they call own the write's transaction
(`sharing_policies.services`). `decision_explain` touches a referral: it owns its transaction and
writes the served request's access record there (`audit.services.record_served`, naming the
referral). Agencies are named by the naming rule (sharing_policies/naming.py; DESIGN.md,
*Victim safety*): outside a referral a victim service is named only to itself and to the hub
operator. A refused operation raises (a `core.exceptions` problem or a DRF `APIException`) having
written nothing; its channel records the refusal.
"""

from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q, QuerySet

from agencies.models import Agency, AgencyKind
from audit.services import AccessDetails, record_served
from core.conditional import check_if_match, etag_of
from core.context import RequestContext, Served
from core.exceptions import NotAParty
from core.pagination import PageRequest, page_body, visible_page
from core.serializers import rendering
from referrals.models import Referral
from referrals.selectors import parties_of, referral_get_visible, referral_queryset
from sharing_policies import services
from sharing_policies.decision import Decision
from sharing_policies.models import Agreement, AgreementVersion
from sharing_policies.naming import Naming, naming_in_referral
from sharing_policies.selectors import (
    agencies_led_to,
    agency_kinds,
    current_agreement_versions,
    decision_inputs,
)
from sharing_policies.serializers import AgreementSerializer, Explained, ExplanationSerializer

AGREEMENT_CURSOR_ORDERING = ("-created_at", "-id")


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


def render_agreements(reader: Agency, rows: list[AgreementVersion]) -> list[dict[str, Any]]:
    """The agreement versions as this reader may see them (`AgreementSerializer`)."""
    render = rendering(AgreementSerializer, naming=agreements_naming(reader, rows))
    return [render(row) for row in rows]


def current(context: RequestContext, agreement_id: UUID) -> AgreementVersion:
    """An agreement's current version, if the caller's agency may see it (404 otherwise)."""
    row = agreements_visible_to(context.actor.agency).filter(agreement_id=agreement_id).first()
    if row is None:
        raise NotAParty("No agreement with this id is visible to your agency.")
    return row


def rendered(context: RequestContext, row: AgreementVersion, *, status: int = 200) -> Served:
    """One agreement as the caller may see it, with its ETag."""
    (view,) = render_agreements(context.actor.agency, [row])
    return Served(view, status=status, etag=etag_of(view))


# --- Agreements (no personal data: no access record) -----------------------------------------


def agreement_list(
    context: RequestContext, review_overdue: bool | None, page: PageRequest
) -> Served:
    """A page of the agreements the caller's agency provides or receives (the hub operator:
    all), newest first; `review_overdue` keeps those whose review is (True) or is not (False)
    overdue: `{"results": [agreement, ...], "next": URL | null}` (400 `cursor` for a cursor
    not ours)."""
    rows = agreements_visible_to(context.actor.agency)
    if review_overdue is not None:
        rows = services.agreements_review_overdue(rows, review_overdue)
    kept, next_link = visible_page(
        rows,
        page,
        keep=lambda batch: [(row, row) for row in batch],
        ordering=AGREEMENT_CURSOR_ORDERING,
    )
    results = render_agreements(context.actor.agency, [row for row, _ in kept])
    return Served(page_body(results, next_link))


def agreement_create(context: RequestContext, data: dict[str, Any]) -> Served:
    """The caller's agency publishes an agreement over data it supplies (201, the agreement
    with its ETag; 422 for an unknown agency or a provider other than the caller's agency:
    `sharing_policies.services.agreement_create`)."""
    return rendered(context, services.agreement_create(actor=context.actor, data=data), status=201)


def agreement_read(context: RequestContext, agreement_id: UUID) -> Served:
    """An agreement's current version, with its ETag (404 for one not visible)."""
    return rendered(context, current(context, agreement_id))


def agreement_change(
    context: RequestContext, agreement_id: UUID, changes: dict[str, Any], *, if_match: str | None
) -> Served:
    """A change makes a new version (the new version, with its ETag). 404 for an agreement not
    visible; `if_match` must be the ETag of the caller's last read (428, 412; RFC 9110 13.1.1),
    compared once the agreement is locked."""
    with transaction.atomic():
        current(context, agreement_id)  # 404 for an agreement not visible, before any lock
        # Lock, then compare: a writer holding the same ETag waits here until the first
        # commits, then compares with the version it made (412), never with the one before.
        Agreement.objects.select_for_update().filter(id=agreement_id).first()
        (before,) = render_agreements(context.actor.agency, [current(context, agreement_id)])
        check_if_match(if_match, etag_of(before))
        row = services.agreement_change(
            actor=context.actor, agreement_id=agreement_id, changes=changes
        )
    return rendered(context, row)


# --- Why an agency sees what it sees ---------------------------------------------------------


def decision_explain(
    context: RequestContext,
    *,
    referral_id: UUID,
    agency_id: UUID,
    purpose: str,
    emergency: bool,
) -> Served:
    """The disclosure decision for `agency_id` on a referral for a purpose, category by
    category (`explanation`). A party asks about itself only (404 otherwise, and for a
    referral it is not party to; 410 once erased); the hub operator with `audit:read` about
    any agency on any referral (404 for an unknown one). The access record names the referral.
    """
    actor = context.actor
    operator = actor.agency.kind == AgencyKind.HUB_OPERATOR and "audit:read" in actor.scopes
    details = AccessDetails()
    with transaction.atomic():
        if operator:
            referral = referral_queryset().filter(id=referral_id).first()
            target = Agency.objects.filter(id=agency_id).first()
        else:
            if agency_id != actor.agency.id:
                raise NotAParty("Your agency may ask only about itself.")
            referral = referral_get_visible(agency_id=actor.agency.id, referral_id=referral_id)
            target = actor.agency
        if referral is None or target is None:
            raise NotAParty("No such referral or agency.")
        inputs = decision_inputs(
            agency=target, purpose=purpose, emergency=emergency, referral_ids=[referral.id]
        )
        decision = inputs.decide(referral)
        details.referrals.append(referral.id)
        record_served(context, 200, details)
    body = explanation(referral, target, purpose, decision, operator)
    return Served(body, recorded=True)


def explanation(
    referral: Referral, agency: Agency, purpose: str, decision: Decision, operator: bool
) -> dict[str, Any]:
    """The decision, category by category, with what each disclosure rested on
    (`ExplanationSerializer`). Agencies, agreements and consents are named by the naming rule,
    for the agency asked about (the hub operator's DPO: everything)."""
    led = agencies_led_to(
        agreements={a for w in decision.withheld for a, _ in w.agreements}
        | {b.agreement for b in decision.bases if b.agreement},
        consents={b.consent for b in decision.bases if b.consent},
    )
    naming = naming_in_referral(
        parties=parties_of(referral), decision=decision, everything=operator
    ).knowing_kinds(agency_kinds(a for agencies in led.values() for a in agencies))
    # The agency is the one the caller named in its question.
    explained = Explained(
        referral=referral.id, agency=agency.id, purpose=purpose, decision=decision
    )
    return rendering(ExplanationSerializer, naming=naming, led=led)(explained)
