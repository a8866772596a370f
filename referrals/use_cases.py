"""Programmes and referrals, one function per operation, for every channel (issue 13).

Each use case takes the request's `RequestContext` (core.context), owns its transaction, and runs
selector -> disclosure decision -> rendering -> events -> access record itself
(`audit.services.record_served`), returning what it served (`Served`: body, status, ETag). The
API's views and the web pages call these and nothing else of the data: one path, one decision
and one audit whatever the channel. A refused operation raises (a `core.exceptions` problem or a
DRF `APIException`) having written nothing; its channel records the refusal
(`audit.bursts.record_refused`).
"""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.db import transaction
from rest_framework.exceptions import ValidationError

from audit.services import AccessDetails, served
from core.conditional import check_if_match, etag_of
from core.context import RequestContext, Served
from core.exceptions import NotAParty
from core.pagination import PageRequest, page_body, visible_page
from core.vocabulary import (
    PARTNER_CATEGORIES,
    PURPOSE_VALUES,
    SUBJECT_CATEGORIES,
    Category,
    LawfulBasis,
)
from referrals import selectors, services
from referrals.events import events_raise
from referrals.models import Event, EventType, PartnerContactTask, Programme, Referral
from referrals.representation import (
    EventPageSerializer,
    HistorySerializer,
    PartnerContactTaskSerializer,
    ReportListSerializer,
    ReportSerializer,
    reader_context,
    referral_rendering,
    render_referral,
)
from referrals.serializers import ProgrammeSerializer, check_risk_change
from sharing_policies.decision import Decision
from sharing_policies.selectors import DecisionInputs, consents_on, decision_inputs, parties_seeing

# What the narrower endpoints answer with (their access records name only these).
REPORTS_ANSWER = frozenset({Category.REFERRAL_ADMIN, Category.PROGRAMME_PROGRESS})
PARTNER_CONTACT_ANSWER = frozenset(
    {
        Category.REFERRAL_ADMIN,
        Category.PARTNER_IDENTITY,
        Category.PARTNER_CONTACT,
        Category.PARTNER_DISCLOSURES,
    }
)

REFERRAL_CURSOR_ORDERING = ("-created_at", "-id")
OLDEST_FIRST = ("created_at", "id")


def inputs_for(context: RequestContext, referral_ids: list[UUID]) -> DecisionInputs:
    """What the disclosure decision needs for these referrals, read once."""
    return decision_inputs(
        agency=context.actor.agency,
        purpose=context.purpose,
        emergency=context.emergency,
        referral_ids=referral_ids,
    )


def noted(
    referral: Referral,
    decision: Decision,
    details: AccessDetails,
    *,
    answers: frozenset[Category] | None = None,
) -> Decision:
    """Notes in `details`, for the access record, what this decision discloses of the referral.
    An operation that answers with only some categories (`answers`) records only those."""
    recorded = decision if answers is None else decision.limited_to(answers)
    persons = [referral.subject_id] if recorded.disclosed & SUBJECT_CATEGORIES else []
    if referral.partner_id and recorded.disclosed & PARTNER_CATEGORIES:
        persons.append(referral.partner_id)
    details.add(referral.id, recorded, persons)
    return decision


def minimised(
    referral: Referral,
    decision: Decision,
    details: AccessDetails,
    render: Callable[[Referral, Decision], dict[str, Any]] = render_referral,
) -> dict[str, Any]:
    """The reader's view of a referral (DESIGN.md, *The disclosure decision*), noted in
    `details` for the access record."""
    noted(referral, decision, details)
    return render(referral, decision)


def decided(
    context: RequestContext,
    referral: Referral,
    details: AccessDetails,
    *,
    answers: frozenset[Category] | None = None,
) -> Decision:
    """The caller's disclosure decision on the referral, noted in `details`."""
    decision = inputs_for(context, [referral.id]).decide(referral)
    return noted(referral, decision, details, answers=answers)


def decided_view(
    context: RequestContext, referral: Referral, details: AccessDetails
) -> tuple[dict[str, Any], Decision]:
    decision = decided(context, referral, details)
    return render_referral(referral, decision), decision


def visible(context: RequestContext, referral_id: UUID) -> Referral:
    """The referral, if the caller's agency is party to it (404 otherwise, 410 if erased)."""
    return selectors.referral_get_visible(
        agency_id=context.actor.agency.id, referral_id=referral_id
    )


# --- Programmes (no personal data: no access record) -----------------------------------------


def programme_of(programme_id: UUID, *, lock: bool = False) -> Programme:
    programmes = selectors.programme_list()
    if lock:
        programmes = programmes.select_for_update()
    programme = programmes.filter(id=programme_id).first()
    if programme is None:
        raise NotAParty("No programme has this id.")
    return programme


def programme_read(context: RequestContext, programme_id: UUID) -> Served:
    body = ProgrammeSerializer(programme_of(programme_id)).data
    return Served(body, etag=etag_of(body))


def programme_create(context: RequestContext, data: dict[str, Any]) -> Served:
    programme = services.programme_create(actor=context.actor, data=data)
    return Served(ProgrammeSerializer(programme).data, status=201)


def programme_change(
    context: RequestContext, programme_id: UUID, changes: dict[str, Any], *, if_match: str | None
) -> Served:
    """Its provider changes a programme; `if_match` must be the ETag of the caller's last read
    (428, 412; RFC 9110 13.1.1), compared once the programme is locked."""
    with transaction.atomic():
        # Locked: concurrent changes queue, each checked against the one before it.
        programme = programme_of(programme_id, lock=True)
        check_if_match(if_match, etag_of(ProgrammeSerializer(programme).data))
        programme = services.programme_change(
            actor=context.actor, programme=programme, changes=changes
        )
    body = ProgrammeSerializer(programme).data
    return Served(body, etag=etag_of(body))


# --- Referrals -------------------------------------------------------------------------------


def referral_list(
    context: RequestContext,
    filters: dict[str, Any],
    page: PageRequest,
    *,
    oldest_first: bool = False,
) -> Served:
    """A page of the referrals the caller's agency is party to, newest first (or oldest), each
    minimised. With `updated_since`, only those whose view changed since (a change to what the
    reader may not see moves nothing); skipped referrals leave no trace in the page or its
    cursor. `filters`: `referrals.selectors.FILTER_LOOKUPS`, `updated_since`, `reference`."""
    since = filters.get("updated_since")
    referrals = selectors.referrals_visible_to(agency_id=context.actor.agency.id).filter(
        selectors.referral_filters(filters)
    )
    details = AccessDetails()
    with transaction.atomic():
        inputs = inputs_for(context, [])

        def decided(batch: list[Referral]) -> list[tuple[Referral, Decision]]:
            # The database kept every referral in which anything changed since; the
            # caller gets those whose view of them changed.
            inputs.consents.update(consents_on(r.id for r in batch))
            pairs = [(referral, inputs.decide(referral)) for referral in batch]
            return [
                (referral, decision)
                for referral, decision in pairs
                if since is None or selectors.updated_at_seen(referral, decision) >= since
            ]

        ordering = OLDEST_FIRST if oldest_first else REFERRAL_CURSOR_ORDERING
        kept, next_link = visible_page(referrals, page, keep=decided, ordering=ordering)
        # Only what is returned is disclosed, and recorded.
        render = referral_rendering()
        results = [minimised(referral, decision, details, render) for referral, decision in kept]
        return served(context, details, page_body(results, next_link), etag=False)


def referral_create(
    context: RequestContext,
    data: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    raw_body: Any = None,
) -> Served:
    """The caller's agency refers a man (201, the referral as the referrer sees it). With an
    idempotency key, the same key and body within 24 hours return the first result, and the
    same key with another body is a 422."""
    details = AccessDetails()
    with transaction.atomic():
        if idempotency_key is None:
            created = services.referral_create(actor=context.actor, data=data)
        else:
            created, _ = services.referral_create_once(
                actor=context.actor, key=idempotency_key, raw_body=raw_body, data=data
            )
        view, _ = decided_view(context, visible(context, created.id), details)
        return served(context, details, view, status=201)


def referral_read(context: RequestContext, referral_id: UUID) -> Served:
    """One referral, minimised; an emergency justification releases what was granted on
    `vital_interests`, and the supplier hears of it (DESIGN.md, rule 4)."""
    details = AccessDetails()
    with transaction.atomic():
        referral = visible(context, referral_id)
        view, decision = decided_view(context, referral, details)
        if context.emergency:
            emergency_release_notify(context, referral, decision)
        return served(context, details, view)


def emergency_release_notify(
    context: RequestContext, referral: Referral, decision: Decision
) -> None:
    """Rule 4: the supplier of what an emergency released hears of it."""
    released = [b for b in decision.bases if b.lawful_basis == LawfulBasis.VITAL_INTERESTS]
    if released:
        services.emergency_release_notify(
            referral=referral,
            suppliers=[b.supplier for b in released if b.supplier],
            categories=[str(b.category) for b in released],
            actor=context.actor,
        )


def referral_amend(
    context: RequestContext,
    referral_id: UUID,
    changes: dict[str, Any],
    *,
    reason: str,
    if_match: str | None,
) -> Served:
    """The referrer amends a referral. `if_match` must be the ETag of the caller's view as last
    read (428, 412), compared once the referral is locked; the parties that may see a changed
    category hear of it (an `amendment` event)."""
    agency_id = context.actor.agency.id
    details = AccessDetails()
    with transaction.atomic():
        locked = selectors.referral_lock_visible(agency_id=agency_id, referral_id=referral_id)
        before = visible(context, referral_id)
        check_if_match(
            if_match,
            etag_of(render_referral(before, inputs_for(context, [referral_id]).decide(before))),
        )
        if "risk" in changes:
            try:
                check_risk_change(locked.risk, changes["risk"])
            except ValidationError as exc:
                raise ValidationError({"risk": exc.detail}) from exc
        amendment = services.referral_amend(
            referral=locked, changes=changes, reason=reason, actor=context.actor
        )
        referral = visible(context, referral_id)
        if amendment is not None:
            # The parties that may see a changed category for some purpose: one load of their
            # agreements and the referral's consents, whatever the parties and purposes.
            recipients = parties_seeing(referral, set(amendment.changes), purposes=PURPOSE_VALUES)
            events_raise(
                referral=referral,
                recipients=dict.fromkeys((a.id for a in recipients), EventType.AMENDMENT),
                about={"amendment": str(amendment.id)},
            )
        view, _ = decided_view(context, referral, details)
        return served(context, details, view)


def referral_transition(
    context: RequestContext, referral_id: UUID, *, to: str, reason_code: str, reason: str
) -> Served:
    """Moves a referral along its lifecycle (referrals/states.py; 409 for an illegal move)."""
    details = AccessDetails()
    with transaction.atomic():
        services.referral_transition(
            referral_id=referral_id,
            to=to,
            reason_code=reason_code,
            reason=reason,
            actor=context.actor,
        )
        view, _ = decided_view(context, visible(context, referral_id), details)
        return served(context, details, view)


def referral_history(context: RequestContext, referral_id: UUID) -> Served:
    """Moves (every party) and amendments (only the categories the reader may see, with old and
    new values; an amendment of nothing it may see is left out), oldest first."""
    details = AccessDetails()
    with transaction.atomic():
        referral = visible(context, referral_id)
        decision = decided(context, referral, details)
        body = history_of(referral, decision)
        return served(context, details, body, etag=False)


def referral_overview(context: RequestContext, referral_id: UUID) -> Served:
    """A referral with its history, as one read (the web's referral page): `{"referral": the
    minimised view, "history": referral_history's results}`. One decision, one access record."""
    details = AccessDetails()
    with transaction.atomic():
        referral = visible(context, referral_id)
        view, decision = decided_view(context, referral, details)
        body = {"referral": view, "history": history_of(referral, decision)["results"]}
        return served(context, details, body, etag=False)


def history_of(referral: Referral, decision: Decision) -> dict[str, Any]:
    return HistorySerializer(referral, context=reader_context(referral, decision)).data


# --- Reports back ----------------------------------------------------------------------------


def reports_read(context: RequestContext, referral_id: UUID) -> Served:
    """A referral's reports as the decision allows (`programme.progress`), and whether they
    were withheld and why."""
    details = AccessDetails()
    with transaction.atomic():
        referral = visible(context, referral_id)
        decision = decided(context, referral, details, answers=REPORTS_ANSWER)
        body = ReportListSerializer(referral, context=reader_context(referral, decision)).data
        return served(context, details, body, etag=False)


def report_create(context: RequestContext, referral_id: UUID, data: dict[str, Any]) -> Served:
    """The provider writes a report back (201; 409 where the status allows no such report)."""
    with transaction.atomic():
        report = services.report_write(referral_id=referral_id, data=data, actor=context.actor)
        details = AccessDetails(referrals=[referral_id])
        body = ReportSerializer(report).data
        return served(context, details, body, status=201, etag=False)


# --- The change feed -------------------------------------------------------------------------


def event_feed(
    context: RequestContext, *, after: int, size: int, link: Callable[[int], str]
) -> Served:
    """The agency's change feed from position `after`, oldest first (ids and types only);
    `link(position)` is the address of the page after a position."""
    with transaction.atomic():
        events = list(
            Event.objects.filter(recipient=context.actor.agency, position__gt=after).order_by(
                "position"
            )[:size]
        )
        details = AccessDetails(referrals=list(dict.fromkeys(e.referral_id for e in events)))
        page = {"results": events, "next": link(events[-1].position) if events else None}
        return served(context, details, EventPageSerializer(page).data, etag=False)


# --- The partner-contact task ----------------------------------------------------------------


def partner_contact_read(context: RequestContext, referral_id: UUID) -> Served:
    """The partner service's contact task; for every other agency it does not exist (404)."""
    details = AccessDetails()
    with transaction.atomic():
        # The referral first: once erased, its task is gone too, and its parties hear 410.
        referral = visible(context, referral_id)
        task = services.partner_contact_task_of(referral_id=referral_id, actor=context.actor)
        decision = decided(context, referral, details, answers=PARTNER_CONTACT_ANSWER)
        body = partner_contact_document(task, referral, decision)
        return served(context, details, body, etag=False)


def partner_contact_attempt(
    context: RequestContext, referral_id: UUID, data: dict[str, Any]
) -> Served:
    """The partner service records a contact attempt (201, the task as it now stands)."""
    details = AccessDetails()
    with transaction.atomic():
        # Locked, so that an attempt cannot land on a referral retention is erasing.
        selectors.referral_lock_visible(agency_id=context.actor.agency.id, referral_id=referral_id)
        task = services.partner_contact_task_of(referral_id=referral_id, actor=context.actor)
        services.partner_contact_attempt_record(task=task, data=data, actor=context.actor)
        referral = visible(context, referral_id)
        decision = decided(context, referral, details, answers=PARTNER_CONTACT_ANSWER)
        body = partner_contact_document(task, referral, decision)
        return served(context, details, body, status=201, etag=False)


def partner_contact_document(
    task: PartnerContactTask, referral: Referral, decision: Decision
) -> dict[str, Any]:
    """The task, the partner's details as the decision allows, and the attempts recorded."""
    shape = {"task": task, "referral": referral}
    return PartnerContactTaskSerializer(shape, context=reader_context(referral, decision)).data
