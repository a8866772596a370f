"""The disclosure decision as DESIGN.md fixes it, before agreements and consents exist.

Pure-function tests: no database, no Django models. What is covered is rule 0 (a party sees
what it supplied; the referrer sees programme progress), rule 1 (`referral.admin` to every party,
nothing to a non-party) and rule 5 (victim-confidential categories never reach a programme
provider, rule 0 aside). Every other category is withheld, with the first reason that applies.

The expectations are written from DESIGN.md (*Data categories*, *Parties and suppliers*, *The
disclosure decision*), not derived from `sharing_policies.decision`, so that the decision is
checked against the contract rather than against itself.
"""

from dataclasses import dataclass, replace
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.vocabulary import VICTIM_CONFIDENTIAL, Category, Purpose, WithholdReason
from sharing_policies.decision import (
    NOT_A_PARTY,
    Decision,
    ReferralParties,
    Requester,
    Role,
    decide,
)

# Agency kinds from DESIGN.md (*Agencies and authentication*); kept here as plain strings so that
# this module needs no Django model.
COURT = "court"
PROBATION = "probation"
POLICE = "police"
VICTIM_SERVICE = "victim_service"
PROGRAMME_PROVIDER = "programme_provider"
CHILDREN_SERVICES = "children_services"
MARAC = "marac"
HUB_OPERATOR = "hub_operator"
KINDS = (
    COURT,
    PROBATION,
    POLICE,
    VICTIM_SERVICE,
    PROGRAMME_PROVIDER,
    CHILDREN_SERVICES,
    MARAC,
    HUB_OPERATOR,
)
REFERRER_KINDS = (COURT, PROBATION, POLICE, CHILDREN_SERVICES, MARAC)

C = Category
VC = WithholdReason.VICTIM_CONFIDENTIAL
NA = WithholdReason.NO_AGREEMENT
ALL_CATEGORIES = frozenset(Category)
CATEGORY_ORDER = list(Category)

REFERRER = UUID("00000000-0000-4000-8000-00000000000a")
PROVIDER = UUID("00000000-0000-4000-8000-00000000000b")
PARTNER_SERVICE = UUID("00000000-0000-4000-8000-00000000000c")
OBSERVER = UUID("00000000-0000-4000-8000-00000000000d")
SECOND_OBSERVER = UUID("00000000-0000-4000-8000-00000000000e")
OUTSIDER = UUID("00000000-0000-4000-8000-00000000000f")

PURPOSE = Purpose.RISK_MANAGEMENT.value


def parties(**overrides: object) -> ReferralParties:
    """A referral with every role filled: referrer, provider, partner service, two observers."""
    fields: dict[str, object] = {
        "referrer": REFERRER,
        "provider": PROVIDER,
        "partner_service": PARTNER_SERVICE,
        "observers": frozenset({OBSERVER, SECOND_OBSERVER}),
        "disclosure_suppliers": frozenset(),
    }
    fields.update(overrides)
    return ReferralParties(**fields)  # type: ignore[arg-type]


def withheld_pairs(decision: Decision) -> list[tuple[Category, WithholdReason]]:
    return [(w.category, w.reason) for w in decision.withheld]


# --- Expected withheld lists, in Category order, written out as DESIGN.md reads -------------

NOTHING_WITHHELD: list[tuple[Category, WithholdReason]] = []

# A party of a non-provider kind that supplied nothing but sees referral.admin.
ALL_BUT_ADMIN_NO_AGREEMENT = [
    (C.SUBJECT_IDENTITY, NA),
    (C.SUBJECT_CONTACT, NA),
    (C.OFFENCE, NA),
    (C.RISK, NA),
    (C.PROGRAMME_PROGRESS, NA),
    (C.PARTNER_IDENTITY, NA),
    (C.PARTNER_CONTACT, NA),
    (C.PARTNER_DISCLOSURES, NA),
    (C.CHILDREN, NA),
]

# The same party once it has recorded a partner.disclosures entry.
ALL_BUT_ADMIN_AND_DISCLOSURES_NO_AGREEMENT = [
    (C.SUBJECT_IDENTITY, NA),
    (C.SUBJECT_CONTACT, NA),
    (C.OFFENCE, NA),
    (C.RISK, NA),
    (C.PROGRAMME_PROGRESS, NA),
    (C.PARTNER_IDENTITY, NA),
    (C.PARTNER_CONTACT, NA),
    (C.CHILDREN, NA),
]

# The programme provider: it supplies programme.progress; victim-confidential comes first.
PROVIDER_WITHHELD = [
    (C.SUBJECT_IDENTITY, NA),
    (C.SUBJECT_CONTACT, NA),
    (C.OFFENCE, NA),
    (C.RISK, NA),
    (C.PARTNER_IDENTITY, VC),
    (C.PARTNER_CONTACT, VC),
    (C.PARTNER_DISCLOSURES, VC),
    (C.CHILDREN, VC),
]

# The programme provider once it has itself recorded a partner.disclosures entry (rule 0 aside).
PROVIDER_WITH_OWN_ENTRY_WITHHELD = [
    (C.SUBJECT_IDENTITY, NA),
    (C.SUBJECT_CONTACT, NA),
    (C.OFFENCE, NA),
    (C.RISK, NA),
    (C.PARTNER_IDENTITY, VC),
    (C.PARTNER_CONTACT, VC),
    (C.CHILDREN, VC),
]

# Another agency of kind programme_provider, added as an observer: supplies nothing.
PROVIDER_KIND_OBSERVER_WITHHELD = [
    (C.SUBJECT_IDENTITY, NA),
    (C.SUBJECT_CONTACT, NA),
    (C.OFFENCE, NA),
    (C.RISK, NA),
    (C.PROGRAMME_PROGRESS, NA),
    (C.PARTNER_IDENTITY, VC),
    (C.PARTNER_CONTACT, VC),
    (C.PARTNER_DISCLOSURES, VC),
    (C.CHILDREN, VC),
]


@dataclass(frozen=True)
class Case:
    parties: ReferralParties
    agency: UUID
    kind: str
    roles: frozenset[Role]
    disclosed: frozenset[Category]
    withheld: list[tuple[Category, WithholdReason]]
    entries_from: frozenset[UUID] | None


def referrer_case(kind: str) -> Case:
    return Case(
        parties=parties(),
        agency=REFERRER,
        kind=kind,
        roles=frozenset({Role.REFERRER}),
        disclosed=ALL_CATEGORIES,
        withheld=NOTHING_WITHHELD,
        entries_from=frozenset({REFERRER}),
    )


def observer_case(kind: str) -> Case:
    return Case(
        parties=parties(),
        agency=OBSERVER,
        kind=kind,
        roles=frozenset({Role.OBSERVER}),
        disclosed=frozenset({C.REFERRAL_ADMIN}),
        withheld=ALL_BUT_ADMIN_NO_AGREEMENT,
        entries_from=None,
    )


def non_party_case(kind: str, **overrides: object) -> Case:
    return Case(
        parties=parties(**overrides),
        agency=OUTSIDER,
        kind=kind,
        roles=frozenset(),
        disclosed=frozenset(),
        withheld=NOTHING_WITHHELD,
        entries_from=None,
    )


CASES = [
    # Referrer: supplies every category but programme.progress, and sees that anyway.
    *(
        pytest.param(referrer_case(kind), id=f"referrer-{kind}-sees-everything")
        for kind in REFERRER_KINDS
    ),
    pytest.param(
        replace(
            referrer_case(PROBATION), parties=parties(partner_service=None, observers=frozenset())
        ),
        id="referrer-probation-without-partner-service-or-observers-sees-everything",
    ),
    pytest.param(
        replace(
            referrer_case(POLICE),
            parties=parties(disclosure_suppliers=frozenset({PARTNER_SERVICE, OBSERVER})),
        ),
        id="referrer-police-sees-only-its-own-disclosure-entries",
    ),
    # Provider: referral.admin and programme.progress, never a victim-confidential category.
    pytest.param(
        Case(
            parties=parties(),
            agency=PROVIDER,
            kind=PROGRAMME_PROVIDER,
            roles=frozenset({Role.PROVIDER}),
            disclosed=frozenset({C.REFERRAL_ADMIN, C.PROGRAMME_PROGRESS}),
            withheld=PROVIDER_WITHHELD,
            entries_from=None,
        ),
        id="provider-programme_provider-sees-admin-and-progress-only",
    ),
    pytest.param(
        Case(
            parties=parties(disclosure_suppliers=frozenset({PARTNER_SERVICE, REFERRER})),
            agency=PROVIDER,
            kind=PROGRAMME_PROVIDER,
            roles=frozenset({Role.PROVIDER}),
            disclosed=frozenset({C.REFERRAL_ADMIN, C.PROGRAMME_PROGRESS}),
            withheld=PROVIDER_WITHHELD,
            entries_from=None,
        ),
        id="provider-programme_provider-never-sees-others-disclosure-entries",
    ),
    pytest.param(
        Case(
            parties=parties(disclosure_suppliers=frozenset({PROVIDER, PARTNER_SERVICE})),
            agency=PROVIDER,
            kind=PROGRAMME_PROVIDER,
            roles=frozenset({Role.PROVIDER}),
            disclosed=frozenset({C.REFERRAL_ADMIN, C.PROGRAMME_PROGRESS, C.PARTNER_DISCLOSURES}),
            withheld=PROVIDER_WITH_OWN_ENTRY_WITHHELD,
            entries_from=frozenset({PROVIDER}),
        ),
        id="provider-programme_provider-sees-only-the-disclosure-entry-it-recorded",
    ),
    # Partner service: its role always; partner.disclosures only for entries it recorded.
    pytest.param(
        Case(
            parties=parties(),
            agency=PARTNER_SERVICE,
            kind=VICTIM_SERVICE,
            roles=frozenset({Role.PARTNER_SERVICE}),
            disclosed=frozenset({C.REFERRAL_ADMIN}),
            withheld=ALL_BUT_ADMIN_NO_AGREEMENT,
            entries_from=None,
        ),
        id="partner_service-victim_service-without-entries-sees-admin-only",
    ),
    pytest.param(
        Case(
            parties=parties(disclosure_suppliers=frozenset({PARTNER_SERVICE, OBSERVER})),
            agency=PARTNER_SERVICE,
            kind=VICTIM_SERVICE,
            roles=frozenset({Role.PARTNER_SERVICE}),
            disclosed=frozenset({C.REFERRAL_ADMIN, C.PARTNER_DISCLOSURES}),
            withheld=ALL_BUT_ADMIN_AND_DISCLOSURES_NO_AGREEMENT,
            entries_from=frozenset({PARTNER_SERVICE}),
        ),
        id="partner_service-victim_service-sees-only-its-own-disclosure-entries",
    ),
    # Observers: referral.admin only, whatever their kind.
    *(
        pytest.param(observer_case(kind), id=f"observer-{kind}-sees-admin-only")
        for kind in (COURT, POLICE, PROBATION, CHILDREN_SERVICES, MARAC, HUB_OPERATOR)
    ),
    pytest.param(
        replace(
            observer_case(PROGRAMME_PROVIDER),
            agency=SECOND_OBSERVER,
            withheld=PROVIDER_KIND_OBSERVER_WITHHELD,
        ),
        id="observer-programme_provider-gets-victim_confidential-reasons",
    ),
    pytest.param(
        replace(
            observer_case(POLICE),
            parties=parties(disclosure_suppliers=frozenset({OBSERVER, PARTNER_SERVICE})),
            disclosed=frozenset({C.REFERRAL_ADMIN, C.PARTNER_DISCLOSURES}),
            withheld=ALL_BUT_ADMIN_AND_DISCLOSURES_NO_AGREEMENT,
            entries_from=frozenset({OBSERVER}),
        ),
        id="observer-police-sees-only-the-disclosure-entry-it-recorded",
    ),
    # Several roles at once.
    pytest.param(
        replace(
            referrer_case(PROBATION),
            parties=parties(observers=frozenset({REFERRER, OBSERVER})),
            roles=frozenset({Role.REFERRER, Role.OBSERVER}),
        ),
        id="referrer-and-observer-probation-sees-everything",
    ),
    pytest.param(
        Case(
            parties=parties(observers=frozenset({PROVIDER, OBSERVER})),
            agency=PROVIDER,
            kind=PROGRAMME_PROVIDER,
            roles=frozenset({Role.PROVIDER, Role.OBSERVER}),
            disclosed=frozenset({C.REFERRAL_ADMIN, C.PROGRAMME_PROGRESS}),
            withheld=PROVIDER_WITHHELD,
            entries_from=None,
        ),
        id="provider-and-observer-programme_provider-still-no-victim-confidential",
    ),
    # Not reachable through the API (a programme provider cannot refer), but the pure function
    # must still put rule 0 before rule 5 for any records it is given.
    pytest.param(
        Case(
            parties=parties(provider=REFERRER),
            agency=REFERRER,
            kind=PROGRAMME_PROVIDER,
            roles=frozenset({Role.REFERRER, Role.PROVIDER}),
            disclosed=ALL_CATEGORIES,
            withheld=NOTHING_WITHHELD,
            entries_from=frozenset({REFERRER}),
        ),
        id="referrer-and-provider-programme_provider-sees-what-it-supplied-rule-0-aside",
    ),
    # Non-parties: nothing, not even that the referral exists.
    *(pytest.param(non_party_case(kind), id=f"non-party-{kind}-gets-nothing") for kind in KINDS),
    pytest.param(
        non_party_case(VICTIM_SERVICE, disclosure_suppliers=frozenset({OUTSIDER})),
        id="non-party-victim_service-that-recorded-a-disclosure-gets-nothing",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_decision_table(case: Case) -> None:
    decision = decide(case.parties, Requester(agency=case.agency, kind=case.kind, purpose=PURPOSE))

    assert decision.roles == case.roles
    assert decision.disclosed == case.disclosed
    assert withheld_pairs(decision) == case.withheld
    assert decision.disclosure_entries_from == case.entries_from
    assert decision.is_party is bool(case.roles)


# --- Named behaviours ---------------------------------------------------------------------


def test_programme_provider_never_sees_partner_contact() -> None:
    decision = decide(parties(), Requester(PROVIDER, PROGRAMME_PROVIDER, PURPOSE))

    assert not decision.sees(C.PARTNER_CONTACT)
    assert (C.PARTNER_CONTACT, VC) in withheld_pairs(decision)


def test_programme_provider_gets_victim_confidential_before_no_agreement() -> None:
    decision = decide(parties(), Requester(PROVIDER, PROGRAMME_PROVIDER, PURPOSE))

    reasons = dict(withheld_pairs(decision))
    assert {category: reasons[category] for category in VICTIM_CONFIDENTIAL} == dict.fromkeys(
        VICTIM_CONFIDENTIAL, VC
    )


def test_provider_sees_referral_admin_and_programme_progress_only() -> None:
    decision = decide(parties(), Requester(PROVIDER, PROGRAMME_PROVIDER, PURPOSE))

    assert decision.disclosed == {C.REFERRAL_ADMIN, C.PROGRAMME_PROGRESS}


def test_referrer_sees_programme_progress_it_did_not_supply() -> None:
    decision = decide(parties(), Requester(REFERRER, PROBATION, PURPOSE))

    assert decision.sees(C.PROGRAMME_PROGRESS)


def test_referrer_sees_every_category() -> None:
    decision = decide(parties(), Requester(REFERRER, PROBATION, PURPOSE))

    assert decision.disclosed == ALL_CATEGORIES
    assert decision.withheld == ()


def test_referrer_sees_only_its_own_partner_disclosure_entries() -> None:
    referral = parties(disclosure_suppliers=frozenset({PARTNER_SERVICE}))

    decision = decide(referral, Requester(REFERRER, PROBATION, PURPOSE))

    assert decision.disclosure_entries_from == {REFERRER}


def test_partner_service_sees_only_its_own_disclosure_entries() -> None:
    referral = parties(disclosure_suppliers=frozenset({PARTNER_SERVICE, OBSERVER}))

    decision = decide(referral, Requester(PARTNER_SERVICE, VICTIM_SERVICE, PURPOSE))

    assert decision.sees(C.PARTNER_DISCLOSURES)
    assert decision.disclosure_entries_from == {PARTNER_SERVICE}


def test_partner_service_keeps_its_role_when_partner_identity_is_withheld() -> None:
    decision = decide(parties(), Requester(PARTNER_SERVICE, VICTIM_SERVICE, PURPOSE))

    assert Role.PARTNER_SERVICE in decision.roles
    assert (C.PARTNER_IDENTITY, NA) in withheld_pairs(decision)


def test_observer_sees_referral_admin_only() -> None:
    decision = decide(parties(), Requester(OBSERVER, COURT, PURPOSE))

    assert decision.disclosed == {C.REFERRAL_ADMIN}


def test_non_party_gets_not_a_party() -> None:
    decision = decide(parties(), Requester(OUTSIDER, PROBATION, PURPOSE))

    assert decision == NOT_A_PARTY
    assert not decision.is_party
    assert decision.roles == frozenset()
    assert decision.disclosed == frozenset()
    assert decision.withheld == ()
    assert decision.disclosure_entries_from is None


def test_recording_a_disclosure_does_not_make_an_agency_a_party() -> None:
    referral = parties(disclosure_suppliers=frozenset({OUTSIDER}))

    assert decide(referral, Requester(OUTSIDER, POLICE, PURPOSE)) == NOT_A_PARTY


def test_hub_operator_that_is_not_a_party_gets_nothing_from_the_decision() -> None:
    assert decide(parties(), Requester(OUTSIDER, HUB_OPERATOR, PURPOSE)) == NOT_A_PARTY


# --- Properties ---------------------------------------------------------------------------

# A small pool, so that one agency often holds several roles; OUTSIDER is never drawn into a
# referral, so a non-party always exists.
POOL = [UUID(int=n, version=4) for n in range(1, 6)]
agency_ids = st.sampled_from(POOL)
kinds = st.sampled_from(KINDS)
purposes = st.sampled_from(Purpose).map(lambda purpose: purpose.value)

referral_parties = st.builds(
    ReferralParties,
    referrer=agency_ids,
    provider=agency_ids,
    partner_service=st.none() | agency_ids,
    observers=st.frozensets(agency_ids, max_size=3),
    disclosure_suppliers=st.frozensets(agency_ids, max_size=3),
)


def party_ids(referral: ReferralParties) -> frozenset[UUID]:
    ids = {referral.referrer, referral.provider, *referral.observers}
    if referral.partner_service is not None:
        ids.add(referral.partner_service)
    return frozenset(ids)


def design_suppliers(category: Category, referral: ReferralParties) -> frozenset[UUID]:
    """Suppliers per DESIGN.md; the referrer records the partner's first disclosures."""
    if category is C.PROGRAMME_PROGRESS:
        return frozenset({referral.provider})
    if category is C.PARTNER_DISCLOSURES:
        return referral.disclosure_suppliers | {referral.referrer}
    return frozenset({referral.referrer})


def design_roles(referral: ReferralParties, agency: UUID) -> frozenset[Role]:
    roles = set()
    if agency == referral.referrer:
        roles.add(Role.REFERRER)
    if agency == referral.provider:
        roles.add(Role.PROVIDER)
    if agency == referral.partner_service:
        roles.add(Role.PARTNER_SERVICE)
    if agency in referral.observers:
        roles.add(Role.OBSERVER)
    return frozenset(roles)


@st.composite
def party_requests(
    draw: st.DrawFn, kind: st.SearchStrategy[str] = kinds
) -> tuple[ReferralParties, Requester]:
    referral = draw(referral_parties)
    agency = draw(st.sampled_from(sorted(party_ids(referral))))
    return referral, Requester(agency=agency, kind=draw(kind), purpose=draw(purposes))


@st.composite
def non_party_requests(
    draw: st.DrawFn, kind: st.SearchStrategy[str] = kinds
) -> tuple[ReferralParties, Requester]:
    referral = draw(referral_parties)
    outsiders = sorted(set([*POOL, OUTSIDER]) - party_ids(referral))
    agency = draw(st.sampled_from(outsiders))
    return referral, Requester(agency=agency, kind=draw(kind), purpose=draw(purposes))


def any_requests(kind: st.SearchStrategy[str] = kinds) -> st.SearchStrategy:
    return st.one_of(party_requests(kind), non_party_requests(kind))


@given(party_requests())
def test_every_category_is_either_disclosed_or_withheld_never_both(
    drawn: tuple[ReferralParties, Requester],
) -> None:
    decision = decide(*drawn)
    withheld = [w.category for w in decision.withheld]

    assert len(withheld) == len(set(withheld))
    assert decision.disclosed.isdisjoint(withheld)
    assert decision.disclosed | set(withheld) == ALL_CATEGORIES


@given(party_requests())
def test_referral_admin_is_always_disclosed_to_a_party(
    drawn: tuple[ReferralParties, Requester],
) -> None:
    decision = decide(*drawn)

    assert decision.is_party
    assert decision.sees(C.REFERRAL_ADMIN)


@given(party_requests())
def test_a_party_holds_exactly_the_roles_it_was_given(
    drawn: tuple[ReferralParties, Requester],
) -> None:
    referral, requester = drawn

    assert decide(referral, requester).roles == design_roles(referral, requester.agency)


@given(non_party_requests())
def test_a_non_party_never_gets_anything(drawn: tuple[ReferralParties, Requester]) -> None:
    decision = decide(*drawn)

    assert decision == NOT_A_PARTY
    assert decision.roles == frozenset()
    assert decision.disclosed == frozenset()
    assert decision.withheld == ()
    assert decision.disclosure_entries_from is None


@given(any_requests(kind=st.just(PROGRAMME_PROVIDER)))
def test_programme_provider_never_gets_a_victim_confidential_category_it_did_not_supply(
    drawn: tuple[ReferralParties, Requester],
) -> None:
    referral, requester = drawn

    decision = decide(referral, requester)

    for category in VICTIM_CONFIDENTIAL & decision.disclosed:
        assert requester.agency in design_suppliers(category, referral)
    if decision.sees(C.PARTNER_DISCLOSURES):
        assert decision.disclosure_entries_from == {requester.agency}


@given(party_requests())
def test_without_agreements_a_party_sees_exactly_admin_and_what_it_supplied(
    drawn: tuple[ReferralParties, Requester],
) -> None:
    referral, requester = drawn
    expected = {C.REFERRAL_ADMIN} | {
        category
        for category in Category
        if requester.agency in design_suppliers(category, referral)
    }
    if requester.agency == referral.referrer:
        expected.add(C.PROGRAMME_PROGRESS)

    assert decide(referral, requester).disclosed == expected


@given(party_requests())
def test_partner_disclosures_show_only_the_requesters_own_entries(
    drawn: tuple[ReferralParties, Requester],
) -> None:
    decision = decide(*drawn)
    _, requester = drawn

    if decision.sees(C.PARTNER_DISCLOSURES):
        assert decision.disclosure_entries_from == {requester.agency}
    else:
        assert decision.disclosure_entries_from is None


@given(party_requests())
def test_withheld_reason_is_victim_confidential_exactly_for_vc_categories_to_a_provider_kind(
    drawn: tuple[ReferralParties, Requester],
) -> None:
    _, requester = drawn

    for withheld in decide(*drawn).withheld:
        assert withheld.reason in {VC, NA}
        victim_confidential = (
            withheld.category in VICTIM_CONFIDENTIAL and requester.kind == PROGRAMME_PROVIDER
        )
        assert (withheld.reason == VC) is victim_confidential


@given(any_requests(), purposes)
def test_decision_does_not_depend_on_the_purpose_yet(
    drawn: tuple[ReferralParties, Requester], other_purpose: str
) -> None:
    referral, requester = drawn

    assert decide(referral, requester) == decide(
        referral, replace(requester, purpose=other_purpose)
    )


@given(party_requests())
def test_withheld_list_follows_category_order(drawn: tuple[ReferralParties, Requester]) -> None:
    withheld = [w.category for w in decide(*drawn).withheld]

    assert withheld == sorted(withheld, key=CATEGORY_ORDER.index)


@given(any_requests())
def test_decide_is_deterministic(drawn: tuple[ReferralParties, Requester]) -> None:
    referral, requester = drawn
    copied_referral = replace(
        referral,
        observers=frozenset(sorted(referral.observers, reverse=True)),
        disclosure_suppliers=frozenset(sorted(referral.disclosure_suppliers, reverse=True)),
    )
    copied_requester = replace(requester, agency=UUID(str(requester.agency)))

    first = decide(referral, requester)

    assert decide(referral, requester) == first
    assert decide(copied_referral, copied_requester) == first
