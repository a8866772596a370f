"""Whom an output may name: the one rule, for every output (DESIGN.md, *Parties and suppliers*).

A victim service supports a partner. To a reader that may not see `partner.identity`, naming it,
or anything that leads to it (an agreement or consent that it published, recorded or receives,
a supplier, a recipient), could locate her: such a reader is told only the kind,
`victim_service`, and is given no id that leads to it. The rule:

- the hub operator (its DPO, its explain) may be told every agency;
- a reader may always be told itself;
- an agency that is not a victim service may be named to anyone;
- a victim service is named only to a reader that may see `partner.identity` of the referral
  it supports (`known`); outside one referral (agreements, audit records across referrals,
  subject-access reports) to nobody else at all.

Deny by default: an agency the caller did not say is *not* a victim service is treated as one.
Pure: no ORM, no request; the caller passes the kinds of the agencies the output names.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from uuid import UUID

from core.vocabulary import Category
from sharing_policies.decision import Decision, ReferralParties, Role

VICTIM_SERVICE = "victim_service"


@dataclass(frozen=True)
class Naming:
    """What one reader may be told of the agencies one output names."""

    # The reading agency; None for a person outside the hub (a subject-access report).
    reader: UUID | None
    # Every agency the output may name, and whether it is a victim service. An agency absent
    # from it is hidden like a victim service: the caller forgot to say, so nothing is named.
    not_victim_services: frozenset[UUID]
    # Victim services this reader may name in this output (it may see the partner.identity of
    # the referral they support).
    known: frozenset[UUID] = frozenset()
    # The hub operator: everything may be named.
    everything: bool = False

    @classmethod
    def from_kinds(
        cls,
        *,
        reader: UUID | None,
        kinds: Mapping[UUID, str],
        everything: bool = False,
        known: Iterable[UUID] = (),
    ) -> "Naming":
        """From the kind of every agency the output may name (agency id -> kind)."""
        return cls(
            reader=reader,
            not_victim_services=frozenset(a for a, kind in kinds.items() if kind != VICTIM_SERVICE),
            known=frozenset(known),
            everything=everything,
        )

    def names(self, agency: UUID | None) -> bool:
        """Whether this reader may be told this agency's id (None names nobody: True)."""
        return (
            agency is None
            or self.everything
            or agency == self.reader
            or agency in self.known
            or agency in self.not_victim_services
        )

    def agency(self, agency: UUID | None) -> str | None:
        """The agency's id as a string, or only its kind, `victim_service`."""
        if agency is None:
            return None
        return str(agency) if self.names(agency) else VICTIM_SERVICE

    def knowing_kinds(self, kinds: Mapping[UUID, str]) -> "Naming":
        """The same rule, told the kinds of more agencies that the output may name."""
        more = frozenset(a for a, kind in kinds.items() if kind != VICTIM_SERVICE)
        return replace(self, not_victim_services=self.not_victim_services | more)

    def knowing(self, victim_services: Iterable[UUID | None]) -> "Naming":
        """The same rule, for a reader that may also name these victim services (it may see
        the partner.identity of the referrals they support)."""
        return replace(self, known=self.known | frozenset(v for v in victim_services if v))

    def basis_named(
        self,
        *,
        supplier: UUID | None,
        refs: Iterable[UUID | None],
        led: Mapping[UUID, frozenset[UUID]],
    ) -> bool:
        """Whether what a disclosure rested on may be named: its supplier, and its agreement
        and consent (`refs`) with everything they lead to (`led`). When not, none of them is:
        an agreement's version or a consent id alone would still lead back."""
        return self.names(supplier) and all(
            self.reference(ref, led.get(ref)) is not None for ref in refs if ref
        )

    def names_all(self, agencies: Iterable[UUID | None]) -> bool:
        return all(self.names(a) for a in agencies)

    def reference(self, ref: UUID | None, leads_to: Iterable[UUID | None] | None) -> str | None:
        """An agreement's or consent's id, or None when it leads to an agency this reader may
        not be told (its provider, recipient, recorder or a recipient it names), or when what
        it leads to is not known (None)."""
        if ref is None or leads_to is None or not self.names_all(leads_to):
            return None
        return str(ref)


def naming_in_referral(
    *, parties: ReferralParties, decision: Decision, everything: bool = False
) -> Naming:
    """The rule inside one referral's outputs (its view, history, explain, consents) for the
    reader the decision was made for. The partner service is the only victim service that can be
    party to a referral (an observer never is one): it is named to itself and to a reader that
    sees `partner.identity`; any other agency named there is a party, and no victim service."""
    partner_service = parties.partner_service
    may_name_it = may_name_partner_service(decision)
    return Naming(
        reader=None,
        not_victim_services=parties.all() - {partner_service},
        known=frozenset({partner_service}) if partner_service and may_name_it else frozenset(),
        everything=everything,
    )


def may_name_partner_service(decision: Decision) -> bool:
    """A referral's partner service is named to itself and to who may see partner.identity;
    to anyone else even whether the referral has one is not said."""
    return decision.sees(Category.PARTNER_IDENTITY) or Role.PARTNER_SERVICE in decision.roles


def named_to_nobody_in_particular(agency: UUID, kind: str) -> str:
    """How an output kept for any later reader (an event's text) names an agency: a victim
    service only by its kind."""
    return Naming.from_kinds(reader=None, kinds={agency: kind}).agency(agency) or ""
