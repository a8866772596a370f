"""The disclosure decision: which categories of one referral one agency may see.

A pure function over plain records: no ORM, no request, no settings, the date passed in.
Callers gather the inputs (`sharing_policies.selectors`) and render only what it discloses.

Rules (DESIGN.md, *The disclosure decision*): 0, a party sees what it supplied and the referrer
sees programme progress; 1, `referral.admin` to every party and nothing at all to a non-party;
2, any other category only through a grant that passes (an active agreement from the category's
supplier to the requester, for its purpose, whose lawful basis holds, not blocked by the data
subject's deny); 4, `vital_interests` grants only on an emergency read; 5, victim-confidential
categories never reach a programme provider.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from uuid import UUID

from core.vocabulary import (
    PARTNER_CATEGORIES,
    VICTIM_CONFIDENTIAL,
    Category,
    LawfulBasis,
    WithholdReason,
)

PROGRAMME_PROVIDER_KIND = "programme_provider"


class Role(StrEnum):
    REFERRER = "referrer"
    PROVIDER = "provider"
    PARTNER_SERVICE = "partner_service"
    OBSERVER = "observer"


@dataclass(frozen=True)
class ReferralParties:
    """Who is party to a referral, and who supplied its partner.disclosures entries."""

    referrer: UUID
    provider: UUID
    partner_service: UUID | None = None
    observers: frozenset[UUID] = frozenset()
    disclosure_suppliers: frozenset[UUID] = frozenset()

    def all(self) -> frozenset[UUID]:
        """Every party: referrer, provider, partner service (if any), observers."""
        named = {self.referrer, self.provider, self.partner_service} - {None}
        return frozenset(named) | self.observers


@dataclass(frozen=True)
class Requester:
    agency: UUID
    kind: str
    purpose: str
    # An emergency justification was given (and the request is a single referral's read).
    emergency: bool = False


@dataclass(frozen=True)
class Grant:
    category: Category
    lawful_basis: LawfulBasis


@dataclass(frozen=True)
class Agreement:
    """One version of a sharing agreement (only the latest version is ever passed in)."""

    id: UUID
    version: int
    provider: UUID
    recipient: UUID | None
    recipient_kind: str | None
    purposes: frozenset[str]
    grants: tuple[Grant, ...]
    status: str
    valid_from: date
    valid_to: date | None = None

    def active_on(self, today: date) -> bool:
        return self.status == "active" and within(today, self.valid_from, self.valid_to)

    def addresses(self, requester: "Requester") -> bool:
        return self.recipient == requester.agency or (
            self.recipient is None and self.recipient_kind == requester.kind
        )


@dataclass(frozen=True)
class Provision:
    type: str  # "permit" | "deny"
    categories: frozenset[str]
    recipients: frozenset[UUID] = frozenset()
    recipient_kinds: frozenset[str] = frozenset()
    purposes: frozenset[str] = frozenset()

    def covers(self, category: Category, requester: "Requester") -> bool:
        # Omitted or empty recipients and purposes mean any.
        anyone = not self.recipients and not self.recipient_kinds
        return (
            category in self.categories
            and (
                anyone
                or requester.agency in self.recipients
                or requester.kind in self.recipient_kinds
            )
            and (not self.purposes or requester.purpose in self.purposes)
        )


@dataclass(frozen=True)
class Consent:
    """A data subject's consent recorded on this referral (withdrawn ones count as none)."""

    id: UUID
    data_subject: str  # "subject" | "partner"
    provisions: tuple[Provision, ...]
    valid_from: date
    valid_to: date | None = None
    withdrawn: bool = False

    def active_on(self, today: date) -> bool:
        return not self.withdrawn and within(today, self.valid_from, self.valid_to)


# Rule 0's bases: a party's own data, and the referrer's reports back from the provider.
OWN_DATA = "supplier"
REPORTING_BACK = "reporting_back"


@dataclass(frozen=True)
class Basis:
    """What a disclosure rested on: the agreement version and, for consent, the consent."""

    category: Category
    agreement: UUID | None = None
    agreement_version: int | None = None
    lawful_basis: str = OWN_DATA  # rule 0 (or REPORTING_BACK); else a LawfulBasis
    consent: UUID | None = None
    supplier: UUID | None = None  # for partner.disclosures: whose entries


@dataclass(frozen=True)
class Withheld:
    category: Category
    reason: WithholdReason
    # The agreement versions that matched but did not pass (for explain): (id, version).
    agreements: tuple[tuple[UUID, int], ...] = ()


@dataclass(frozen=True)
class Decision:
    roles: frozenset[Role]
    disclosed: frozenset[Category]
    withheld: tuple[Withheld, ...]
    # Whose partner.disclosures entries the requester sees (None where it sees none of them).
    disclosure_entries_from: frozenset[UUID] | None = None
    bases: tuple[Basis, ...] = field(default=())

    @property
    def is_party(self) -> bool:
        return bool(self.roles)

    def sees(self, category: Category) -> bool:
        return category in self.disclosed

    def limited_to(self, categories: frozenset[Category]) -> "Decision":
        """The same decision, as far as an answer holding only these categories goes: what
        an access record says was disclosed by an endpoint that returns only part of a view."""
        return replace(
            self,
            disclosed=self.disclosed & categories,
            bases=tuple(b for b in self.bases if b.category in categories),
        )


NOT_A_PARTY = Decision(roles=frozenset(), disclosed=frozenset(), withheld=())


def roles_of(parties: ReferralParties, agency: UUID) -> frozenset[Role]:
    roles = set()
    if agency == parties.referrer:
        roles.add(Role.REFERRER)
    if agency == parties.provider:
        roles.add(Role.PROVIDER)
    if agency == parties.partner_service:
        roles.add(Role.PARTNER_SERVICE)
    if agency in parties.observers:
        roles.add(Role.OBSERVER)
    return frozenset(roles)


def suppliers_of(category: Category, parties: ReferralParties) -> frozenset[UUID]:
    """The agencies whose data a category is (DESIGN.md, *Parties and suppliers*)."""
    if category is Category.PROGRAMME_PROGRESS:
        return frozenset({parties.provider})
    if category is Category.PARTNER_DISCLOSURES:
        # The referrer records what the partner told it when it refers; others add entries.
        return parties.disclosure_suppliers | {parties.referrer}
    return frozenset({parties.referrer})


def supplied_by_requester(category: Category, parties: ReferralParties, agency: UUID) -> bool:
    """Rule 0: a party always sees what it supplied; the referrer always sees progress."""
    if category is Category.PROGRAMME_PROGRESS and agency == parties.referrer:
        return True
    return agency in suppliers_of(category, parties)


def own_basis(category: Category, parties: ReferralParties, agency: UUID) -> Basis:
    """Rule 0's basis: the requester's own data, or (for the referrer) the provider's reports
    back, which the provider supplied: it has a right to know who read them."""
    if category is Category.PROGRAMME_PROGRESS and agency not in suppliers_of(category, parties):
        return Basis(category=category, lawful_basis=REPORTING_BACK, supplier=parties.provider)
    return Basis(category=category, supplier=agency)


def within(today: date, start: date, end: date | None) -> bool:
    return start <= today and (end is None or today <= end)


def data_subject_of(category: Category) -> str:
    return "partner" if category in PARTNER_CATEGORIES else "subject"


# Bases a data subject's deny cannot block (DESIGN.md, rule 2).
DENY_PROOF_BASES = frozenset({LawfulBasis.VITAL_INTERESTS, LawfulBasis.LEGAL_OBLIGATION})


@dataclass(frozen=True)
class Outcome:
    basis: Basis | None
    reason: WithholdReason | None
    agreements: tuple[tuple[UUID, int], ...] = ()


def grant_outcome(
    category: Category,
    suppliers: frozenset[UUID],
    requester: Requester,
    agreements: Iterable[Agreement],
    consents: Iterable[Consent],
    today: date,
) -> Outcome:
    """Rule 2 for a category's data from these suppliers: the first grant that passes, or the
    first reason that applies to all their matching grants together."""
    matching = [
        (agreement, grant)
        for agreement in agreements
        if agreement.provider in suppliers
        and agreement.active_on(today)
        and agreement.addresses(requester)
        and requester.purpose in agreement.purposes
        for grant in agreement.grants
        if grant.category == category
    ]
    if not matching:
        return Outcome(None, WithholdReason.NO_AGREEMENT)
    matched = tuple(dict.fromkeys((a.id, a.version) for a, _ in matching))

    subject = data_subject_of(category)
    in_force = [c for c in consents if c.data_subject == subject and c.active_on(today)]
    denied = any(
        p.type == "deny" and p.covers(category, requester) for c in in_force for p in c.provisions
    )
    unblocked = [(a, g) for a, g in matching if not denied or g.lawful_basis in DENY_PROOF_BASES]
    if not unblocked:
        return Outcome(None, WithholdReason.CONSENT_DENIED, matched)

    permit = next(
        (
            c
            for c in in_force
            for p in c.provisions
            if p.type == "permit" and p.covers(category, requester)
        ),
        None,
    )
    for agreement, grant in unblocked:
        basis = grant.lawful_basis
        if basis == LawfulBasis.CONSENT and permit is None:
            continue
        if basis == LawfulBasis.VITAL_INTERESTS and not requester.emergency:
            continue
        return Outcome(
            Basis(
                category=category,
                agreement=agreement.id,
                agreement_version=agreement.version,
                lawful_basis=str(basis),
                consent=permit.id if basis == LawfulBasis.CONSENT and permit else None,
                supplier=agreement.provider,
            ),
            None,
        )
    if all(g.lawful_basis == LawfulBasis.VITAL_INTERESTS for _, g in unblocked):
        return Outcome(None, WithholdReason.EMERGENCY_ONLY, matched)
    return Outcome(None, WithholdReason.NO_CONSENT, matched)


def decide(
    parties: ReferralParties,
    requester: Requester,
    *,
    agreements: Iterable[Agreement] = (),
    consents: Iterable[Consent] = (),
    today: date | None = None,
) -> Decision:
    """What `requester` may see of one referral.

    `agreements`: the latest version of every agreement that might apply; `consents`: those
    recorded on this referral; `today`: the date the request is decided on.
    """
    roles = roles_of(parties, requester.agency)
    if not roles:
        # Rule 1: a non-party learns nothing, not even that the referral exists.
        return NOT_A_PARTY
    agreements, consents = tuple(agreements), tuple(consents)
    if (agreements or consents) and today is None:
        raise ValueError("Deciding on agreements or consents needs today's date.")

    disclosed = {Category.REFERRAL_ADMIN}
    withheld: list[Withheld] = []
    bases: list[Basis] = []
    entries_from: frozenset[UUID] | None = None
    for category in Category:
        if category is Category.REFERRAL_ADMIN:
            continue
        own = supplied_by_requester(category, parties, requester.agency)
        if category in VICTIM_CONFIDENTIAL and requester.kind == PROGRAMME_PROVIDER_KIND:
            # Rule 5: whatever an agreement or consent says (rule 0 aside).
            if own:
                disclosed.add(category)
                bases.append(Basis(category=category, supplier=requester.agency))
                if category is Category.PARTNER_DISCLOSURES:
                    entries_from = frozenset({requester.agency})
            else:
                withheld.append(Withheld(category, WithholdReason.VICTIM_CONFIDENTIAL))
            continue

        suppliers = sorted(suppliers_of(category, parties) - {requester.agency}, key=str)
        day = today or date.min
        outcomes = {
            supplier: grant_outcome(
                category, frozenset({supplier}), requester, agreements, consents, day
            )
            for supplier in suppliers
        }
        passing = {s: o for s, o in outcomes.items() if o.basis is not None}
        if own:
            bases.append(own_basis(category, parties, requester.agency))
        bases.extend(o.basis for o in passing.values() if o.basis)
        if own or passing:
            disclosed.add(category)
            if category is Category.PARTNER_DISCLOSURES:
                # Entry by entry: only the suppliers whose grant passed, and the requester's own.
                entries_from = frozenset(passing) | ({requester.agency} if own else frozenset())
            continue
        # Nothing passed: DESIGN.md's reasons speak of the category's matching grants
        # ("every matching grant is blocked..."), whichever supplier's agreement they are in.
        reason = grant_outcome(category, frozenset(suppliers), requester, agreements, consents, day)
        withheld.append(Withheld(category, reason.reason, reason.agreements))

    return Decision(
        roles=roles,
        disclosed=frozenset(disclosed),
        withheld=tuple(withheld),
        disclosure_entries_from=entries_from,
        bases=tuple(bases),
    )
