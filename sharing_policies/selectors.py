"""Gathering the disclosure decision's inputs from the database, in a bounded number of queries.

Pass referrals loaded through `referrals.selectors.referral_queryset()`: observers and
disclosures are then prefetched, and reading them here costs nothing per referral. Agreements
are loaded once per request, consents once per page of referrals.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from agencies.models import Agency
from consent.models import Consent
from referrals.models import Referral
from referrals.selectors import parties_of
from sharing_policies import decision
from sharing_policies.decision import Decision, Requester, decide
from sharing_policies.models import AgreementVersion


def current_agreement_versions() -> QuerySet[AgreementVersion]:
    """The latest version of every agreement: the only one that counts."""
    return AgreementVersion.objects.filter(version=F("agreement__current_version"))


def as_agreement(row: AgreementVersion) -> decision.Agreement:
    return decision.Agreement(
        id=row.agreement_id,
        version=row.version,
        provider=row.provider_id,
        recipient=row.recipient_id,
        recipient_kind=row.recipient_kind or None,
        purposes=frozenset(row.purposes),
        grants=tuple(decision.Grant(g["category"], g["lawful_basis"]) for g in row.grants),
        status=row.status,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


def as_consent(row: Consent) -> decision.Consent:
    return decision.Consent(
        id=row.id,
        data_subject=row.data_subject,
        provisions=tuple(
            decision.Provision(
                type=p["type"],
                categories=frozenset(p["categories"]),
                recipients=frozenset(UUID(r) for r in p.get("recipients", [])),
                recipient_kinds=frozenset(p.get("recipient_kinds", [])),
                purposes=frozenset(p.get("purposes", [])),
            )
            for p in row.provisions
        ),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        withdrawn=row.withdrawn_at is not None,
    )


def agreements_addressed_to(agency: Agency) -> tuple[decision.Agreement, ...]:
    rows = current_agreement_versions().filter(
        Q(recipient=agency) | Q(recipient__isnull=True, recipient_kind=agency.kind)
    )
    return tuple(as_agreement(row) for row in rows)


def agreements_addressed_to_each(
    agencies: Iterable[Agency],
) -> dict[UUID, tuple[decision.Agreement, ...]]:
    """agreements_addressed_to() for several agencies, in one query: agency id -> agreements."""
    agencies = list(agencies)
    if not agencies:
        return {}
    rows = current_agreement_versions().filter(
        Q(recipient__in=[a.id for a in agencies])
        | Q(recipient__isnull=True, recipient_kind__in={a.kind for a in agencies})
    )
    loaded = [(row.recipient_id, row.recipient_kind, as_agreement(row)) for row in rows]
    return {
        agency.id: tuple(
            agreement
            for recipient, kind, agreement in loaded
            if recipient == agency.id or (recipient is None and kind == agency.kind)
        )
        for agency in agencies
    }


def parties_seeing(
    referral: Referral, categories: set[str], *, purposes: Iterable[str]
) -> list[Agency]:
    """The referral's parties that may see at least one of these categories for one of these
    purposes (not in an emergency). Three queries, whatever the number of parties and
    purposes: the parties, their agreements, the referral's consents."""
    parties = list(Agency.objects.filter(id__in=parties_of(referral).all()))
    agreements = agreements_addressed_to_each(parties)
    consents = consents_on([referral.id])
    today = timezone.localdate()
    purposes = list(purposes)
    return [
        agency
        for agency in parties
        if any(
            DecisionInputs(
                requester=Requester(
                    agency=agency.id, kind=agency.kind, purpose=purpose, emergency=False
                ),
                agency=agency,
                today=today,
                agreements=agreements[agency.id],
                consents=consents,
            )
            .decide(referral)
            .disclosed
            & categories
            for purpose in purposes
        )
    ]


def consents_on(referral_ids: Iterable[UUID]) -> dict[UUID, tuple[decision.Consent, ...]]:
    grouped: dict[UUID, list[decision.Consent]] = defaultdict(list)
    for row in Consent.objects.filter(referral_id__in=list(referral_ids)):
        grouped[row.referral_id].append(as_consent(row))
    return {referral_id: tuple(consents) for referral_id, consents in grouped.items()}


@dataclass
class DecisionInputs:
    """Everything but the referral itself, for deciding what one agency may see today."""

    requester: Requester
    agency: Agency
    today: date
    agreements: tuple[decision.Agreement, ...]
    consents: dict[UUID, tuple[decision.Consent, ...]]

    def decide(self, referral: Referral) -> Decision:
        return decide(
            parties_of(referral),
            self.requester,
            agreements=self.agreements,
            consents=self.consents.get(referral.id, ()),
            today=self.today,
        )


def decision_inputs(
    *, agency: Agency, purpose: str, emergency: bool, referral_ids: Iterable[UUID]
) -> DecisionInputs:
    """Two queries, whatever the number of referrals: the agreements, then the consents."""
    return DecisionInputs(
        requester=Requester(
            agency=agency.id, kind=agency.kind, purpose=purpose, emergency=emergency
        ),
        agency=agency,
        today=timezone.localdate(),
        agreements=agreements_addressed_to(agency),
        consents=consents_on(referral_ids),
    )


def agencies_led_to(
    *, agreements: Iterable[UUID] = (), consents: Iterable[UUID] = ()
) -> dict[UUID, frozenset[UUID]]:
    """The agencies each agreement or consent id leads to, for the naming rule: an agreement's
    provider, recipient and author in any of its versions; a consent's recorder, withdrawer and
    every recipient its provisions name. Two queries at most."""
    led: dict[UUID, set[UUID]] = defaultdict(set)
    agreement_ids = {a for a in agreements if a}
    if agreement_ids:
        rows = AgreementVersion.objects.filter(agreement_id__in=agreement_ids).values_list(
            "agreement_id", "provider_id", "recipient_id", "created_by_id"
        )
        for agreement_id, *agencies in rows:
            led[agreement_id].update(a for a in agencies if a)
    consent_ids = {c for c in consents if c}
    if consent_ids:
        rows = Consent.objects.filter(id__in=consent_ids).values_list(
            "id", "recorded_by_id", "withdrawn_by_id", "provisions"
        )
        for consent_id, recorded_by, withdrawn_by, provisions in rows:
            led[consent_id].update(a for a in (recorded_by, withdrawn_by) if a)
            led[consent_id].update(
                UUID(r) for p in provisions for r in p.get("recipients", ()) if r
            )
    return {ref: frozenset(agencies) for ref, agencies in led.items()}


def agency_kinds(agency_ids: Iterable[UUID | str | None]) -> dict[UUID, str]:
    """One query for the kind of each agency an output may name (for the naming rule)."""
    ids = {UUID(str(a)) for a in agency_ids if a}
    if not ids:
        return {}
    return dict(Agency.objects.filter(id__in=ids).values_list("id", "kind"))
