"""Writes for programmes and referrals; each takes the acting agency, never a default."""

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agencies.actors import Actor
from agencies.models import REFERRER_KINDS, Agency, AgencyKind
from core.exceptions import (
    Conflict,
    IllegalTransition,
    NotAParty,
    PolicyViolation,
    RoleNotPermitted,
    UnknownReference,
)
from referrals.events import events_raise
from referrals.identifiers import IDENTIFIER_LENGTH, normalise
from referrals.models import (
    REFUSED_MODALITIES,
    Amendment,
    Event,
    EventType,
    IdempotencyKey,
    PartnerContactTask,
    PartnerDisclosure,
    Person,
    PersonIdentifier,
    Programme,
    Referral,
    Report,
    ReportKind,
    Status,
    Transition,
)
from referrals.selectors import parties_of, referral_lock_visible
from referrals.states import OPEN_STATUSES, REPORT_KINDS, moves_from
from sharing_policies.decision import Role, roles_of
from sharing_policies.naming import named_to_nobody_in_particular

logger = logging.getLogger(__name__)


def programme_create(*, actor: Actor, data: dict[str, Any]) -> Programme:
    if actor.agency.kind != AgencyKind.PROGRAMME_PROVIDER:
        raise RoleNotPermitted("Only a programme provider lists programmes.")
    if Programme.objects.filter(provider=actor.agency, name=data["name"]).exists():
        raise PolicyViolation("Your agency already lists a programme of this name.", field="name")
    return Programme.objects.create(provider=actor.agency, **data)


@dataclass(frozen=True)
class PersonMatch:
    person: Person
    # The identifiers named more than one person, or one they cannot name: none was bound.
    conflicting: bool


def persons_known_to(*, agency_id: UUID, candidates: set[UUID]) -> set[UUID]:
    """Those of `candidates` that the agency already holds as the man or the partner of a
    referral it made itself."""
    rows = (
        Referral.objects.filter(referrer_id=agency_id)
        .filter(Q(subject_id__in=candidates) | Q(partner_id__in=candidates))
        .values_list("subject_id", "partner_id")
    )
    return {person for row in rows for person in row if person in candidates}


# A unique-key conflict means another request bound the identifier first and has committed
# (PostgreSQL makes the insert wait for it), so one more lookup finds its row; a third conflict
# would need that row gone again (an erasure in between), and is not retried further.
MATCH_ATTEMPTS = 3


def identifier_keys(
    identifiers: Iterable[dict[str, str]], *, field: str
) -> dict[tuple[str, str], str]:
    """Each identifier's matching key, `(system, normalised value)`, with the value as first
    sent (kept for display). One that normalises to nothing, or to more than a value may hold,
    is refused: it cannot name anyone, and the refusal depends on the input alone."""
    keys: dict[tuple[str, str], str] = {}
    for index, identifier in enumerate(identifiers):
        system, value = identifier["system"], identifier["value"]
        key = normalise(system=system, value=value)
        if not key or len(key) > IDENTIFIER_LENGTH:
            raise PolicyViolation(
                "This identifier has no characters once invisible ones are removed."
                if not key
                else f"This identifier is longer than {IDENTIFIER_LENGTH} characters once "
                "normalised.",
                field=f"{field}.{index}.value",
            )
        keys.setdefault((system, key), value)
    return keys


def person_for(
    *,
    identifiers: Iterable[dict[str, str]],
    actor: Actor,
    other_than: Person | None = None,
    field: str = "subject.identity.identifiers",
) -> PersonMatch:
    """The person these strong identifiers name, or a new person; never `other_than` (the man,
    when matching his partner).

    Identifiers are compared by system and normalised value (referrals/identifiers.py), so
    that `pnc-test-0001`, fullwidth letters or Arabic-Indic digits find the man held as
    `PNC-TEST-0001`. Never matched by name or date of birth: two men may share both, and a
    false match would merge their records. And the answer never tells the caller what the hub
    holds (DESIGN.md, *Bodies*): identifiers that name several people (or the man, for his
    partner) are not refused, since a refusal would confirm that one of them (the partner's NHS
    number, say) is held, but matched to the one of those people the caller already knows, else
    to a new person; and then no identifier is bound to anyone, so that no caller can attach
    another person's identifier to its man. Identifiers are bound only to the person they
    create: one given later with a held one is kept on the referral, not added to the person.

    Simultaneous first referrals of one man all get him: the request that loses the race to
    bind an identifier looks again and finds the winner's person.
    """
    keys = identifier_keys(identifiers, field=field)
    for _ in range(MATCH_ATTEMPTS - 1):
        try:
            return person_held_or_bound(keys=keys, actor=actor, other_than=other_than)
        except IntegrityError:
            continue
    return person_held_or_bound(keys=keys, actor=actor, other_than=other_than)


def person_held_or_bound(
    *, keys: dict[tuple[str, str], str], actor: Actor, other_than: Person | None
) -> PersonMatch:
    """The held person the keys name, or a new one bound to them; IntegrityError when another
    request bound one of them since the lookup (the savepoint undoes this one's writes)."""
    match = person_held(keys=keys.keys(), actor=actor, other_than=other_than)
    if match is not None:
        return match
    with transaction.atomic():
        person = Person.objects.create()
        PersonIdentifier.objects.bulk_create(
            PersonIdentifier(person=person, system=system, normalised=key, value=value)
            for (system, key), value in sorted(keys.items())
        )
    return PersonMatch(person=person, conflicting=False)


def person_held(
    *, keys: Iterable[tuple[str, str]], actor: Actor, other_than: Person | None
) -> PersonMatch | None:
    """The match among people already held (see person_for), or None when no key is held."""
    keys = set(keys)
    if not keys:
        return None
    candidates = PersonIdentifier.objects.filter(
        system__in={s for s, _ in keys}, normalised__in={k for _, k in keys}
    ).values_list("system", "normalised", "person_id")
    named = {person for system, key, person in candidates if (system, key) in keys}
    excluded = {other_than.id} if other_than else set()
    if len(named) > 1 or named & excluded:
        known = persons_known_to(agency_id=actor.agency.id, candidates=named - excluded)
        person = Person.objects.get(id=known.pop()) if len(known) == 1 else Person.objects.create()
        return PersonMatch(person=person, conflicting=True)
    if named:
        # Identifiers not held yet are not added to a person already held: whether one was
        # free would show in a later request naming it alone (bound to the caller's man, or
        # still someone else's), and a caller could bind the partner's number to its man.
        return PersonMatch(person=Person.objects.get(id=named.pop()), conflicting=False)
    return None


def agencies_by_id(ids: Iterable[UUID]) -> dict[UUID, Agency]:
    return {a.id: a for a in Agency.objects.filter(id__in=set(ids), active=True)}


def referral_parties(
    *, programme_id: UUID, partner_service_id: UUID | None, observer_ids: list[UUID]
) -> tuple[Programme, Agency | None, list[Agency]]:
    """Checks the programme and the agencies a new referral names."""
    programme = Programme.objects.select_related("provider").filter(id=programme_id).first()
    if programme is None:
        raise UnknownReference("No programme has this id.", field="programme")
    if programme.modality in REFUSED_MODALITIES:
        raise PolicyViolation(
            f"This programme's modality is {programme.modality}: couple work and mediation are "
            "never a response to domestic violence, so the hub does not refer to them.",
            field="programme",
        )
    if not programme.active or not programme.provider.active:
        raise PolicyViolation("This programme is not taking referrals.", field="programme")
    if programme.provider.kind != AgencyKind.PROGRAMME_PROVIDER:
        raise PolicyViolation(
            "This programme's provider is not a programme provider.", field="programme"
        )

    named = agencies_by_id([*observer_ids, *([partner_service_id] if partner_service_id else [])])
    partner_service = None
    if partner_service_id is not None:
        partner_service = named.get(partner_service_id)
        if partner_service is None:
            raise UnknownReference("No active agency has this id.", field="partner_service")
        if partner_service.kind != AgencyKind.VICTIM_SERVICE:
            raise PolicyViolation(
                "The partner service must be an agency of kind victim_service.",
                field="partner_service",
            )
    observers = []
    for index, observer_id in enumerate(dict.fromkeys(observer_ids)):
        observer = named.get(observer_id)
        if observer is None:
            raise UnknownReference("No active agency has this id.", field=f"observers.{index}")
        if observer.kind == AgencyKind.VICTIM_SERVICE:
            raise PolicyViolation(
                "A victim service cannot be an observer: name it as the partner service.",
                field=f"observers.{index}",
            )
        observers.append(observer)
    return programme, partner_service, observers


def referral_duplicate_refuse(*, actor: Actor, programme: Programme, subject: Person) -> None:
    """A second open referral of the same man (the person his strong identifiers matched) to
    the same programme by the same referrer is a 409 naming the first.

    Only the caller's own referrals count: whether another agency has referred him is not
    the caller's to learn (DESIGN.md, *Parties and suppliers*). His person row is locked so
    that two simultaneous duplicates cannot both pass.
    """
    Person.objects.select_for_update().filter(id=subject.id).exists()
    first = (
        Referral.objects.filter(
            referrer=actor.agency,
            programme=programme,
            subject=subject,
            status__in=OPEN_STATUSES,
        )
        .order_by("created_at", "id")
        .values_list("id", flat=True)
        .first()
    )
    if first is not None:
        conflict = Conflict(
            f"Your agency already has an open referral of this man to this programme: {first}."
        )
        conflict.extra = {"referral": str(first)}
        raise conflict


@transaction.atomic
def referral_create(*, actor: Actor, data: dict[str, Any]) -> Referral:
    """A new referral from the acting agency, which becomes its referrer."""
    if actor.agency.kind not in REFERRER_KINDS:
        raise RoleNotPermitted(
            "Only courts, probation, police, children's services and MARACs make referrals."
        )
    programme, partner_service, observers = referral_parties(
        programme_id=data["programme"],
        partner_service_id=data.get("partner_service"),
        observer_ids=data.get("observers", []),
    )
    subject = data["subject"]
    identity = subject["identity"]
    partner = data.get("partner") or {}
    partner_identity = partner.get("identity")
    subject_match = person_for(identifiers=identity.get("identifiers", []), actor=actor)
    partner_match = (
        person_for(
            identifiers=partner_identity.get("identifiers", []),
            actor=actor,
            other_than=subject_match.person,
            field="partner.identity.identifiers",
        )
        if partner_identity
        else None
    )

    referral_duplicate_refuse(actor=actor, programme=programme, subject=subject_match.person)
    referral = Referral.objects.create(
        referrer=actor.agency,
        provider=programme.provider,
        programme=programme,
        partner_service=partner_service,
        created_by_client=actor.client_id,
        subject=subject_match.person,
        subject_identity={"identifiers": [], **identity},
        subject_contact=subject.get("contact"),
        offence=data.get("offence"),
        risk=data.get("risk"),
        partner=partner_match.person if partner_match else None,
        partner_identity=partner_identity,
        partner_contact=partner.get("contact"),
        children=data.get("children"),
    )
    referral.observers.set(observers)
    conflicting = [
        role
        for role, match in (("subject", subject_match), ("partner", partner_match))
        if match and match.conflicting
    ]
    if conflicting:
        # For a hub operator to review, once committed; the caller is told nothing. Ids only,
        # never the identifiers' values.
        message = (
            f"Referral {referral.id} by agency {actor.agency.id}: the identifiers of its "
            f"{' and '.join(conflicting)} name more than one person; matched, none bound."
        )
        transaction.on_commit(lambda: logger.warning(message))
    PartnerDisclosure.objects.bulk_create(
        PartnerDisclosure(referral=referral, supplier=actor.agency, **entry)
        for entry in partner.get("disclosures", [])
    )
    parties = {actor.agency.id, programme.provider_id, *(o.id for o in observers)}
    if partner_service is not None:
        parties.add(partner_service.id)
    events_raise(referral=referral, recipients=dict.fromkeys(parties, EventType.CREATED), about={})
    return referral


def emergency_release_notify(
    *, referral: Referral, suppliers: Iterable[UUID], categories: Iterable[str], actor: Actor
) -> list[Event]:
    """Tells each supplier that its data was released in an emergency (call inside the read's
    transaction, so that no event outlives a read that rolled back)."""
    # A victim service is named only by its kind: a supplier that may not see partner.identity
    # would otherwise learn who supports her.
    released_to = named_to_nobody_in_particular(actor.agency.id, actor.agency.kind)
    about = {"released_to": released_to, "categories": sorted(set(categories))}
    return events_raise(
        referral=referral,
        recipients=dict.fromkeys(suppliers, EventType.EMERGENCY_RELEASE),
        about=about,
    )


@transaction.atomic
def referral_transition(
    *, referral_id: UUID, to: str, reason_code: str, reason: str, actor: Actor
) -> Transition:
    """Moves a referral along the lifecycle table. The row lock makes concurrent moves of one
    referral queue, so that two can never both succeed from the same status."""
    referral = referral_lock_visible(agency_id=actor.agency.id, referral_id=referral_id)
    possible = moves_from(referral.status)
    matching = [m for m in possible if m.target == to]
    if not matching:
        allowed = [m.target.value for m in possible]
        raise IllegalTransition(
            f"A referral that is {referral.status} can move to: {', '.join(allowed) or 'nothing'}.",
            allowed=allowed,
        )
    roles = roles_of(parties_of(referral), actor.agency.id)
    move = next((m for m in matching if m.by in roles), None)
    if move is None:
        raise RoleNotPermitted(f"Only the {matching[0].by.value} makes this move.")
    if move.needs_reason and not (reason_code and reason):
        raise PolicyViolation("This move needs a reason_code and a reason.", field="reason")
    # Read under the referral's lock: a programme may hold such a modality from older data, or
    # have been changed since the referral was made.
    modality = Programme.objects.values_list("modality", flat=True).get(id=referral.programme_id)
    if modality in REFUSED_MODALITIES:
        raise PolicyViolation(
            f"This referral's programme is now {modality} work: couple work and mediation are "
            "never a response to domestic violence, so no referral to it moves until its "
            "provider changes the modality.",
            field="to",
        )
    transition = Transition.objects.create(
        referral=referral,
        from_status=referral.status,
        to_status=to,
        reason_code=reason_code,
        reason=reason,
        by=actor.agency,
        by_client=actor.client_id,
        by_person=str(actor.person.id) if actor.person else "",
    )
    referral.status = to
    referral.save(update_fields=["status", "updated_at"])
    events_raise(
        referral=referral,
        recipients=dict.fromkeys(parties_of(referral).all(), EventType.TRANSITION),
        about={"transition": str(transition.id), "to": to},
    )
    if to == Status.ACCEPTED and referral.partner_service_id:
        partner_contact_task_open(referral=referral)
    return transition


@transaction.atomic
def report_write(*, referral_id: UUID, data: dict[str, Any], actor: Actor) -> Report:
    """A report back from the provider, of a kind the referral's status allows."""
    referral = referral_lock_visible(agency_id=actor.agency.id, referral_id=referral_id)
    if Role.PROVIDER not in roles_of(parties_of(referral), actor.agency.id):
        raise RoleNotPermitted("Only the programme provider writes reports.")
    allowed = REPORT_KINDS.get(referral.status, ())
    if data["kind"] not in allowed:
        raise Conflict(
            f"A referral that is {referral.status} takes reports of kind: "
            f"{', '.join(allowed) or 'none'}.",
            field="kind",
        )
    content = {key: value for key, value in data.items() if key != "kind"}
    report = Report.objects.create(
        referral=referral,
        kind=data["kind"],
        content=content,
        written_by=actor.agency,
        written_by_client=actor.client_id,
    )
    about = {"report": str(report.id), "kind": report.kind}
    # The referrer always sees programme progress: reporting back is what a referral asks for.
    recipients = {referral.referrer_id: EventType.REPORT}
    if report.kind == ReportKind.RISK_CHANGE and content.get("urgent"):
        recipients[referral.referrer_id] = EventType.URGENT_RISK_CHANGE
        if referral.partner_service_id:
            recipients[referral.partner_service_id] = EventType.URGENT_RISK_CHANGE
    events_raise(referral=referral, recipients=recipients, about=about)
    return report


IDEMPOTENCY_WINDOW = timedelta(hours=24)


def body_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def referral_create_once(
    *, actor: Actor, key: str, raw_body: Any, data: dict[str, Any]
) -> tuple[Referral, bool]:
    """`referral_create` under an Idempotency-Key: (referral, created). The key is claimed
    before the referral is written, so a concurrent double submit waits for the first and
    then replays it."""
    # Keys are the client's own; on the web pages, where no client is, the person's own.
    client = actor.client_id or f"person:{actor.person.id if actor.person else ''}"
    digest = body_hash(raw_body)
    IdempotencyKey.objects.filter(
        client=client, key=key, created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW
    ).delete()
    try:
        with transaction.atomic():
            claim = IdempotencyKey.objects.create(client=client, key=key, body_hash=digest)
    except IntegrityError:
        first = IdempotencyKey.objects.get(client=client, key=key)
        if first.body_hash != digest:
            raise PolicyViolation(
                "This Idempotency-Key was used with another body.", field="Idempotency-Key"
            ) from None
        return first.referral, False
    referral = referral_create(actor=actor, data=data)
    claim.referral = referral
    claim.save(update_fields=["referral"])
    return referral, True


# Amendable data: category -> (referral field, path in the PATCH body).
AMENDABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "subject.identity": ("subject_identity", ("subject", "identity")),
    "subject.contact": ("subject_contact", ("subject", "contact")),
    "offence": ("offence", ("offence",)),
    "risk": ("risk", ("risk",)),
    "partner.identity": ("partner_identity", ("partner", "identity")),
    "partner.contact": ("partner_contact", ("partner", "contact")),
    "children": ("children", ("children",)),
}


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def referral_amend(
    *, referral: Referral, changes: dict[str, Any], reason: str, actor: Actor
) -> Amendment | None:
    """The referrer's change to an open referral, kept with old and new values (call under the
    row lock taken by the caller, after its If-Match check)."""
    if referral.referrer_id != actor.agency.id:
        raise RoleNotPermitted("Only the referrer amends a referral.")
    if referral.status not in OPEN_STATUSES:
        raise Conflict(f"A referral that is {referral.status} is closed to amendments.")
    recorded: dict[str, dict[str, Any]] = {}
    for category, (field, path) in AMENDABLE.items():
        new: Any = changes
        for key in path:
            new = new.get(key) if isinstance(new, dict) else None
        if new is None:
            continue
        old = getattr(referral, field)
        if isinstance(new, dict):
            # Keys given replace those held; keys not given stay.
            new = {**(old or {}), **new}
        new = as_json(new)
        if new != old:
            recorded[category] = {"old": old, "new": new}
            setattr(referral, field, new)
    if not recorded:
        return None
    fields = [AMENDABLE[category][0] for category in recorded]
    if "partner.identity" in recorded and referral.partner_id is None:
        referral.partner = Person.objects.create()
        fields.append("partner")
    # Not updated_at: the amendment dates the change, for those who may see what it changed
    # (referrals.selectors.updated_at_seen).
    referral.save(update_fields=fields)
    amendment = Amendment.objects.create(
        referral=referral,
        by=actor.agency,
        by_client=actor.client_id,
        reason=reason,
        changes=recorded,
    )
    return amendment


def partner_contact_task_open(*, referral: Referral) -> PartnerContactTask:
    """The partner's support service, and it alone, hears that contact with her is due."""
    task, _ = PartnerContactTask.objects.get_or_create(
        referral=referral, defaults={"partner_service_id": referral.partner_service_id}
    )
    events_raise(
        referral=referral,
        recipients={referral.partner_service_id: EventType.PARTNER_CONTACT_TASK},
        about={"task": str(task.id)},
    )
    return task


def partner_contact_task_of(*, referral_id: UUID, actor: Actor) -> PartnerContactTask:
    """The task, for its partner service; for anyone else it does not exist."""
    task = (
        PartnerContactTask.objects.select_related("referral")
        .filter(referral_id=referral_id, partner_service=actor.agency)
        .first()
    )
    if task is None:
        raise NotAParty("Nothing here is visible to your agency.")
    return task


@transaction.atomic
def partner_contact_attempt_record(
    *, task: PartnerContactTask, data: dict[str, Any], actor: Actor
) -> PartnerDisclosure:
    """A contact attempt: a partner.disclosures entry supplied by the partner service."""
    if data["attempted_at"] < task.referral.created_at:
        raise PolicyViolation(
            "A contact attempt cannot be dated before its referral was made.",
            field="attempted_at",
        )
    return PartnerDisclosure.objects.create(
        referral=task.referral,
        supplier=actor.agency,
        kind="contact_attempt",
        summary=data.get("notes", ""),
        details={"attempted_at": data["attempted_at"], "outcome": data["outcome"]},
    )


def programme_change(*, actor: Actor, programme: Programme, changes: dict[str, Any]) -> Programme:
    if programme.provider_id != actor.agency.id:
        raise RoleNotPermitted("Only the programme's provider changes it.")
    name = changes.get("name")
    if name and Programme.objects.filter(provider=actor.agency, name=name).exclude(id=programme.id):
        raise PolicyViolation("Your agency already lists a programme of this name.", field="name")
    modality = changes.get("modality")
    # A referral moving meanwhile is still open here, and its move reads the modality again
    # under the referral's row lock (referral_transition): neither slips past the other.
    open_referrals = programme.referrals.filter(status__in=OPEN_STATUSES)
    if modality in REFUSED_MODALITIES and open_referrals.exists():
        raise PolicyViolation(
            f"This programme has open referrals, so it cannot become {modality} work: couple "
            "work and mediation are never a response to domestic violence.",
            field="modality",
        )
    for field, value in changes.items():
        setattr(programme, field, value)
    programme.save()
    return programme
