"""Test data, one factory per state.

The agencies and programmes are plain rows. Referrals, consents and sharing agreements are made
by the hub's own services (`referrals.services`, `consent.services`,
`sharing_policies.services`) from a body validated by the API's own input serializer, so that a
factory leaves exactly the rows a request would: the referral with its parties, partner data,
disclosures and `created` events; one `Transition` row and its events per move, by the agency
that may make it; a consent or an agreement version as recorded. What a factory does not leave is
what a request adds around the service: no access record and no idempotency key. A test whose
assertions count those keeps making the request.

`client` on each factory is the OAuth client (`agencies.models.Client`) the writes are
recorded against (`created_by_client`, `by_client`, `recorded_by_client`); without it they are
recorded as the web pages' writes are, with "".
"""

import datetime
from collections import deque
from typing import Any

import factory
from oauth2_provider.models import get_application_model

from agencies.actors import Actor
from agencies.models import Agency, AgencyKind
from agencies.registration import SCOPE_CEILINGS
from consent.models import Consent
from consent.serializers import ConsentCreateSerializer
from consent.services import consent_record, consent_withdraw
from referrals.models import Approach, Modality, Programme, Referral, Status
from referrals.serializers import ReferralCreateSerializer
from referrals.services import referral_create, referral_transition
from referrals.states import MOVES, Move
from sharing_policies.decision import Role
from sharing_policies.models import AgreementVersion
from sharing_policies.serializers import AgreementCreateSerializer
from sharing_policies.services import agreement_create


class AgencyFactory(factory.django.DjangoModelFactory):
    """An active agency (probation unless `kind` says otherwise)."""

    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Test agency {n}")
    kind = AgencyKind.PROBATION
    active = True


class ProgrammeFactory(factory.django.DjangoModelFactory):
    """An active criminological group programme of a new programme provider."""

    class Meta:
        model = Programme

    provider = factory.SubFactory(AgencyFactory, kind=AgencyKind.PROGRAMME_PROVIDER)
    name = factory.Sequence(lambda n: f"Programme {n}")
    approach = Approach.CRIMINOLOGICAL
    modality = Modality.GROUP
    capacity = 12
    active = True


class CouplesProgrammeFactory(ProgrammeFactory):
    """A couples programme: one the hub refuses to refer to."""

    modality = Modality.COUPLES
    approach = Approach.PSYCHOTHERAPEUTIC


class InactiveProgrammeFactory(ProgrammeFactory):
    """A programme that is not taking referrals."""

    active = False


# --- Writes through the services --------------------------------------------------------------


def actor_for(agency: Agency, client: Any = None) -> Actor:
    """The actor a request of `agency` would carry: every scope its kind may hold, and the OAuth
    client given (a `Client`, or a test API client holding one as `oauth_client`)."""
    client = getattr(client, "oauth_client", client)
    assert client is None or isinstance(client, get_application_model()), client
    return Actor(
        agency=agency, client=client, person=None, scopes=frozenset(SCOPE_CEILINGS[agency.kind])
    )


def validated(serializer_class: type, body: dict[str, Any]) -> dict[str, Any]:
    """`body` as the API's view would hand it to the service (a 400 there is an error here)."""
    serializer = serializer_class(data=body)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def moves_to(target: str) -> list[Move]:
    """The shortest run of moves from `submitted` to `target` (referrals/states.py)."""
    paths: deque[tuple[Status, list[Move]]] = deque([(Status.SUBMITTED, [])])
    seen = {Status.SUBMITTED}
    while paths:
        status, path = paths.popleft()
        if status == target:
            return path
        for move in MOVES:
            if move.source == status and move.target not in seen:
                seen.add(move.target)
                paths.append((move.target, [*path, move]))
    raise ValueError(f"No referral reaches {target!r}.")


class ReferralFactory(factory.Factory):
    """A referral made by `referrals.services.referral_create` from `referral_body` (every
    category holds data), then moved to `status` by `referrals.services.referral_transition`,
    one move at a time along the shortest path, each by the party that may make it (the
    provider, or the referrer for `withdrawn`), with `reason_code` and `reason` where the move
    needs them.

    The man's identifiers are `subject_identifiers`: by default a PNC of his own, so that no two
    referrals are one man's duplicates; None keeps `referral_body`'s. `extra` adds or replaces
    top-level keys of the body (`partner_service`, `observers`, `subject`, ...; agencies may
    stand for their ids).
    `client` and `provider_client` are the OAuth clients that the referrer's and the provider's
    writes are recorded against."""

    class Meta:
        model = Referral

    referrer = factory.SubFactory(AgencyFactory, kind=AgencyKind.PROBATION)
    programme = factory.SubFactory(ProgrammeFactory)
    subject_identifiers = factory.Sequence(
        lambda n: [{"system": "test.pnc", "value": f"FACTORY/{n:06d}"}]
    )
    extra = factory.Dict({})
    status = Status.SUBMITTED
    reason_code = "other"
    reason = "Set up by the test."
    client = None
    provider_client = None

    @classmethod
    def _build(cls, model_class: type, *args: Any, **kwargs: Any) -> Referral:
        raise NotImplementedError("A referral is only made by the service: use create().")

    @classmethod
    def _create(
        cls,
        model_class: type,
        *,
        referrer: Agency,
        programme: Programme,
        subject_identifiers: list[dict[str, str]] | None,
        extra: dict[str, Any],
        status: str,
        reason_code: str,
        reason: str,
        client: Any,
        provider_client: Any,
    ) -> Referral:
        from tests.conftest import referral_body  # conftest imports this module

        def as_id(value: Any) -> Any:
            return str(value.id) if isinstance(value, Agency) else value

        extra = {
            key: [as_id(v) for v in value] if isinstance(value, list | tuple) else as_id(value)
            for key, value in extra.items()
        }
        body = referral_body(programme.id, **extra)
        if "subject" not in extra and subject_identifiers is not None:
            body["subject"]["identity"]["identifiers"] = subject_identifiers
        data = validated(ReferralCreateSerializer, body)
        referral = referral_create(actor=actor_for(referrer, client), data=data)
        actors = {
            Role.REFERRER: actor_for(referrer, client),
            Role.PROVIDER: actor_for(programme.provider, provider_client),
        }
        for move in moves_to(status):
            referral_transition(
                referral_id=referral.id,
                to=move.target,
                reason_code=reason_code if move.needs_reason else "",
                reason=reason if move.needs_reason else "",
                actor=actors[move.by],
            )
        referral.refresh_from_db()
        return referral


class SubmittedReferralFactory(ReferralFactory):
    """A referral just made: `submitted`, no move yet."""

    status = Status.SUBMITTED


class AcknowledgedReferralFactory(ReferralFactory):
    """A referral the provider acknowledged: one move."""

    status = Status.ACKNOWLEDGED


class AssessmentReferralFactory(ReferralFactory):
    """A referral under assessment: acknowledged, then assessment."""

    status = Status.ASSESSMENT


class AcceptedReferralFactory(ReferralFactory):
    """A referral the provider accepted after assessment; with a partner service, the
    service opened its partner-contact task as it does on acceptance."""

    status = Status.ACCEPTED


class DeclinedReferralFactory(ReferralFactory):
    """A referral the provider declined after assessment, with a reason."""

    status = Status.DECLINED


class InProgrammeReferralFactory(ReferralFactory):
    """A referral accepted and started on the programme."""

    status = Status.IN_PROGRAMME


class CompletedReferralFactory(ReferralFactory):
    """A referral whose man completed the programme."""

    status = Status.COMPLETED


class TerminatedReferralFactory(ReferralFactory):
    """A referral the provider terminated while in the programme, with a reason."""

    status = Status.TERMINATED


class WithdrawnReferralFactory(ReferralFactory):
    """A referral the referrer withdrew while it was submitted, with a reason."""

    status = Status.WITHDRAWN


class ConsentFactory(factory.Factory):
    """A consent recorded on `referral` by `consent.services.consent_record` as `recorder` (the
    referral's referrer by default; its partner service is the other that may), from the body
    a `POST /api/v1/consents/` would carry: by default the partner's permit of
    `partner.contact` to the referral's partner service for `partner_safety`, valid from today,
    on a signed form. With `withdrawn_reason`, then withdrawn by `consent_withdraw` as the
    recorder."""

    class Meta:
        model = Consent

    referral = factory.SubFactory(SubmittedReferralFactory)
    recorder = factory.LazyAttribute(lambda o: o.referral.referrer)
    data_subject = "partner"
    provisions = factory.LazyAttribute(
        lambda o: [
            {
                "type": "permit",
                "categories": ["partner.contact"],
                "recipient_kinds": [AgencyKind.VICTIM_SERVICE],
                "purposes": ["partner_safety"],
            }
        ]
    )
    valid_from = factory.LazyFunction(datetime.date.today)
    valid_to = None
    evidence = factory.Dict({"method": "signed_form", "reference": "Test form"})
    withdrawn_reason = None
    client = None

    @classmethod
    def _create(
        cls,
        model_class: type,
        *,
        referral: Referral,
        recorder: Agency,
        data_subject: str,
        provisions: list[dict[str, Any]],
        valid_from: datetime.date,
        valid_to: datetime.date | None,
        evidence: dict[str, Any],
        withdrawn_reason: str | None,
        client: Any,
    ) -> Consent:
        body = {
            "referral": str(referral.id),
            "data_subject": data_subject,
            "provisions": [
                {**p, "recipients": [str(getattr(r, "id", r)) for r in p.get("recipients", [])]}
                for p in provisions
            ],
            "valid_from": str(valid_from),
            "valid_to": str(valid_to) if valid_to else None,
            "evidence": evidence,
        }
        actor = actor_for(recorder, client)
        data = validated(ConsentCreateSerializer, body)
        consent = consent_record(actor=actor, referral=referral, data=data)
        if withdrawn_reason is not None:
            consent = consent_withdraw(consent=consent, reason=withdrawn_reason, actor=actor)
        return consent


class WithdrawnConsentFactory(ConsentFactory):
    """A consent recorded, then withdrawn by its recorder."""

    withdrawn_reason = "She changed her mind."


class AgreementFactory(factory.Factory):
    """Version 1 of a sharing agreement published by `sharing_policies.services.agreement_create`
    as `provider` (or as `publisher`, e.g. the hub operator), from `agreement_body` (conftest):
    active, valid from a month ago for a year, granting `grants` on public_task to `recipient`
    for `purposes`. `recipient_kind` instead of a recipient publishes it to every agency of that
    kind; `changes` replaces any other key of the body (`status`, `valid_to`, `grants` with other
    lawful bases, ...)."""

    class Meta:
        model = AgreementVersion

    provider = factory.SubFactory(AgencyFactory, kind=AgencyKind.PROBATION)
    recipient = factory.SubFactory(AgencyFactory, kind=AgencyKind.PROGRAMME_PROVIDER)
    recipient_kind = None
    grants = ("offence", "risk")
    purposes = ("programme_delivery",)
    changes = factory.Dict({})
    publisher = factory.SelfAttribute("provider")
    client = None

    @classmethod
    def _create(
        cls,
        model_class: type,
        *,
        provider: Agency,
        recipient: Agency | None,
        recipient_kind: str | None,
        grants: Any,
        purposes: Any,
        changes: dict[str, Any],
        publisher: Agency,
        client: Any,
    ) -> AgreementVersion:
        from tests.conftest import agreement_body  # conftest imports this module

        body = agreement_body(provider, recipient or provider, list(grants), list(purposes))
        if recipient_kind is not None:
            body.update(recipient=None, recipient_kind=recipient_kind)
        body.update(changes)
        data = validated(AgreementCreateSerializer, body)
        return agreement_create(actor=actor_for(publisher, client), data=data)
