"""The disclosure decision: which categories of one referral one agency may see.

A pure function over plain records: no ORM, no request, no settings. Callers gather the
inputs (`sharing_policies.selectors`) and render only what it discloses.

Implemented here: rule 0 (a party sees what it supplied; the referrer sees programme
progress), rule 1 (`referral.admin` to every party, nothing at all to a non-party) and rule 5
(victim-confidential categories never reach a programme provider). With no sharing agreements
in the hub yet, every other category is withheld as `no_agreement`.
"""

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from sharing_policies.vocabulary import VICTIM_CONFIDENTIAL, Category, WithholdReason

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


@dataclass(frozen=True)
class Requester:
    agency: UUID
    kind: str
    purpose: str


@dataclass(frozen=True)
class Withheld:
    category: Category
    reason: WithholdReason


@dataclass(frozen=True)
class Decision:
    roles: frozenset[Role]
    disclosed: frozenset[Category]
    withheld: tuple[Withheld, ...]
    # Whose partner.disclosures entries the requester sees: None for every entry, else only
    # the entries these agencies supplied (rule 0 alone shows a party its own entries).
    disclosure_entries_from: frozenset[UUID] | None = None

    @property
    def is_party(self) -> bool:
        return bool(self.roles)

    def sees(self, category: Category) -> bool:
        return category in self.disclosed


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


def withhold_reason(category: Category, requester: Requester) -> WithholdReason:
    """The first reason that applies, in the order DESIGN.md fixes."""
    if category in VICTIM_CONFIDENTIAL and requester.kind == PROGRAMME_PROVIDER_KIND:
        return WithholdReason.VICTIM_CONFIDENTIAL
    return WithholdReason.NO_AGREEMENT


def decide(parties: ReferralParties, requester: Requester) -> Decision:
    roles = roles_of(parties, requester.agency)
    if not roles:
        # Rule 1: a non-party learns nothing, not even that the referral exists.
        return NOT_A_PARTY

    disclosed = {Category.REFERRAL_ADMIN}
    withheld = []
    for category in Category:
        if category is Category.REFERRAL_ADMIN:
            continue
        if supplied_by_requester(category, parties, requester.agency):
            disclosed.add(category)
        else:
            withheld.append(Withheld(category, withhold_reason(category, requester)))

    entries_from = None
    if Category.PARTNER_DISCLOSURES in disclosed:
        entries_from = frozenset({requester.agency})
    return Decision(
        roles=roles,
        disclosed=frozenset(disclosed),
        withheld=tuple(withheld),
        disclosure_entries_from=entries_from,
    )
