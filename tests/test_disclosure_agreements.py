"""The disclosure decision once sharing agreements and consents exist (DESIGN.md rules 0-5).

Pure-function tests: no database, no Django models. `tests/test_disclosure_decision.py` covers the
decision without agreements; this module covers rule 2 (a category passes only through a grant of
an active agreement from the category's supplier to the requester, for its purpose, whose lawful
basis holds and which no deny of the data subject blocks), rule 3 (a withdrawal, suspension or
expiry counts on the very next request), rule 4 (`vital_interests` only in an emergency), rule 5
(victim-confidential categories never reach a programme provider, whatever agreements and consents
say) and the withheld reasons in DESIGN.md's order: `victim_confidential`, `no_agreement`,
`consent_denied`, `emergency_only`, `no_consent`.

The expectations are written from DESIGN.md (*Data categories*, *Parties and suppliers*, *The
disclosure decision*), not derived from `sharing_policies.decision`: the helpers below that say
what is active, what covers what and who supplies what are written again from the text.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache
from uuid import UUID

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.vocabulary import (
    VICTIM_CONFIDENTIAL,
    Category,
    LawfulBasis,
    Purpose,
    WithholdReason,
)
from sharing_policies.decision import (
    Agreement,
    Basis,
    Consent,
    Decision,
    Grant,
    Provision,
    ReferralParties,
    Requester,
    decide,
)

# --- Vocabulary -----------------------------------------------------------------------------

# Agency kinds from DESIGN.md (*Agencies and authentication*), as plain strings.
COURT = "court"
PROBATION = "probation"
POLICE = "police"
VICTIM_SERVICE = "victim_service"
PROGRAMME_PROVIDER = "programme_provider"

C = Category
ADMIN = C.REFERRAL_ADMIN
PROGRESS = C.PROGRAMME_PROGRESS
DISCLOSURES = C.PARTNER_DISCLOSURES
ALL_CATEGORIES = frozenset(Category)
GRANTABLE = tuple(category for category in Category if category is not ADMIN)
# Whose data each category is (DESIGN.md rule 2): the man's or the partner's.
MAN = "subject"
PARTNER = "partner"
MANS_CATEGORIES = (C.SUBJECT_IDENTITY, C.SUBJECT_CONTACT, C.OFFENCE, C.RISK, PROGRESS)
PARTNERS_CATEGORIES = (C.PARTNER_IDENTITY, C.PARTNER_CONTACT, DISCLOSURES, C.CHILDREN)

CONSENT = LawfulBasis.CONSENT
LEGAL_OBLIGATION = LawfulBasis.LEGAL_OBLIGATION
PUBLIC_TASK = LawfulBasis.PUBLIC_TASK
VITAL_INTERESTS = LawfulBasis.VITAL_INTERESTS
LEGITIMATE_INTERESTS = LawfulBasis.LEGITIMATE_INTERESTS
# The bases a data subject's deny cannot block (DESIGN.md rule 2).
DENY_PROOF = frozenset({VITAL_INTERESTS, LEGAL_OBLIGATION})

VC = WithholdReason.VICTIM_CONFIDENTIAL
NA = WithholdReason.NO_AGREEMENT
CD = WithholdReason.CONSENT_DENIED
EO = WithholdReason.EMERGENCY_ONLY
NC = WithholdReason.NO_CONSENT
DISCLOSED = "disclosed"

PURPOSE = Purpose.RISK_MANAGEMENT.value
OTHER_PURPOSE = Purpose.PARTNER_SAFETY.value

# --- The referral ---------------------------------------------------------------------------

REFERRER = UUID("00000000-0000-4000-8000-00000000000a")  # probation
PROVIDER = UUID("00000000-0000-4000-8000-00000000000b")  # programme_provider
PARTNER_SERVICE = UUID("00000000-0000-4000-8000-00000000000c")  # victim_service
OBSERVER = UUID("00000000-0000-4000-8000-00000000000d")  # police: the usual requester here
SECOND_OBSERVER = UUID("00000000-0000-4000-8000-00000000000e")  # court
OUTSIDER = UUID("00000000-0000-4000-8000-00000000000f")

# The partner service has recorded partner.disclosures entries; the referrer records the
# partner's first disclosures when it refers, so it supplies entries too.
PARTIES = ReferralParties(
    referrer=REFERRER,
    provider=PROVIDER,
    partner_service=PARTNER_SERVICE,
    observers=frozenset({OBSERVER, SECOND_OBSERVER}),
    disclosure_suppliers=frozenset({PARTNER_SERVICE}),
)
# The same referral where only the referrer has recorded partner.disclosures entries.
REFERRER_ENTRIES_ONLY = replace(PARTIES, disclosure_suppliers=frozenset())

TODAY = date(2025, 3, 10)


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


LAST_MONTH = days(-30)
YESTERDAY = days(-1)
TOMORROW = days(1)

AGREEMENT_ID = UUID("00000000-0000-4000-8000-0000000000a1")
SECOND_AGREEMENT_ID = UUID("00000000-0000-4000-8000-0000000000a2")
CONSENT_ID = UUID("00000000-0000-4000-8000-0000000000c1")
SECOND_CONSENT_ID = UUID("00000000-0000-4000-8000-0000000000c2")


def grant(category: Category, basis: LawfulBasis) -> Grant:
    return Grant(category=category, lawful_basis=basis)


def agreement(
    *grants: Grant,
    agreement_id: UUID = AGREEMENT_ID,
    version: int = 1,
    provider: UUID = REFERRER,
    recipient: UUID = OBSERVER,
    recipient_kind: str | None = None,
    purposes: Iterable[str] = (PURPOSE,),
    status: str = "active",
    valid_from: date = LAST_MONTH,
    valid_to: date | None = None,
) -> Agreement:
    """An agreement to one agency, or (given `recipient_kind`) to every agency of that kind."""
    return Agreement(
        id=agreement_id,
        version=version,
        provider=provider,
        recipient=None if recipient_kind else recipient,
        recipient_kind=recipient_kind,
        purposes=frozenset(purposes),
        grants=grants,
        status=status,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def provision(
    type_: str,
    *categories: Category,
    recipients: Iterable[UUID] = (),
    kinds: Iterable[str] = (),
    purposes: Iterable[str] = (),
) -> Provision:
    return Provision(
        type=type_,
        categories=frozenset(categories),
        recipients=frozenset(recipients),
        recipient_kinds=frozenset(kinds),
        purposes=frozenset(purposes),
    )


def permit(*categories: Category, **scope: Iterable[object]) -> Provision:
    return provision("permit", *categories, **scope)  # type: ignore[arg-type]


def deny(*categories: Category, **scope: Iterable[object]) -> Provision:
    return provision("deny", *categories, **scope)  # type: ignore[arg-type]


def consent(
    data_subject: str,
    *provisions: Provision,
    consent_id: UUID = CONSENT_ID,
    valid_from: date = LAST_MONTH,
    valid_to: date | None = None,
    withdrawn: bool = False,
) -> Consent:
    return Consent(
        id=consent_id,
        data_subject=data_subject,
        provisions=provisions,
        valid_from=valid_from,
        valid_to=valid_to,
        withdrawn=withdrawn,
    )


def subject_of(category: Category) -> str:
    return PARTNER if category in PARTNERS_CATEGORIES else MAN


def supplier_of(category: Category) -> UUID:
    """The single supplier of a category on REFERRER_ENTRIES_ONLY."""
    return PROVIDER if category is PROGRESS else REFERRER


def reasons_of(decision: Decision) -> dict[Category, WithholdReason]:
    return {w.category: w.reason for w in decision.withheld}


# --- The table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    category: Category
    expected: WithholdReason | str  # a reason, or DISCLOSED
    agreements: tuple[Agreement, ...] = ()
    consents: tuple[Consent, ...] = ()
    agency: UUID = OBSERVER
    kind: str = POLICE
    emergency: bool = False
    parties: ReferralParties = PARTIES


def case(
    case_id: str,
    category: Category,
    expected: WithholdReason | str,
    *agreements: Agreement,
    consents: Iterable[Consent] = (),
    **overrides: object,
) -> object:
    return pytest.param(
        Case(category, expected, agreements, tuple(consents), **overrides),  # type: ignore[arg-type]
        id=case_id,
    )


RISK = C.RISK
PARTNER_CONTACT = C.PARTNER_CONTACT
RISK_BY_CONSENT = agreement(grant(RISK, CONSENT))
RISK_BY_PUBLIC_TASK = agreement(grant(RISK, PUBLIC_TASK))
RISK_BY_VITAL_INTERESTS = agreement(grant(RISK, VITAL_INTERESTS))
MAN_PERMITS_RISK = consent(MAN, permit(RISK))
MAN_DENIES_RISK = consent(MAN, deny(RISK), consent_id=SECOND_CONSENT_ID)


def second(a: Agreement, **changes: object) -> Agreement:
    """The same terms as another agreement, under a different id."""
    return replace(a, id=SECOND_AGREEMENT_ID, **changes)  # type: ignore[arg-type]


NO_AGREEMENT_CASES = [
    case("no_agreement-when-there-is-no-agreement-at-all", RISK, NA),
    case(
        "no_agreement-when-the-agreement-is-from-the-provider-not-the-referrer-who-supplies-risk",
        RISK,
        NA,
        agreement(grant(RISK, PUBLIC_TASK), provider=PROVIDER),
    ),
    case(
        "no_agreement-when-the-agreement-is-from-a-non-party",
        RISK,
        NA,
        agreement(grant(RISK, PUBLIC_TASK), provider=OUTSIDER),
    ),
    case(
        "no_agreement-when-the-agreement-names-another-recipient",
        RISK,
        NA,
        agreement(grant(RISK, PUBLIC_TASK), recipient=SECOND_OBSERVER),
    ),
    case(
        "no_agreement-when-the-agreement-names-another-recipient-kind",
        RISK,
        NA,
        agreement(grant(RISK, PUBLIC_TASK), recipient_kind=COURT),
    ),
    case(
        "no_agreement-when-the-agreement-is-for-another-purpose",
        RISK,
        NA,
        agreement(grant(RISK, PUBLIC_TASK), purposes=(OTHER_PURPOSE,)),
    ),
    case(
        "no_agreement-when-the-agreement-grants-other-categories-only",
        RISK,
        NA,
        agreement(grant(C.OFFENCE, PUBLIC_TASK), grant(C.SUBJECT_IDENTITY, PUBLIC_TASK)),
    ),
    *(
        case(
            f"no_agreement-when-the-agreement-is-{status}",
            RISK,
            NA,
            agreement(grant(RISK, PUBLIC_TASK), status=status),
        )
        for status in ("draft", "suspended", "expired")
    ),
    case(
        "no_agreement-the-day-before-valid_from",
        RISK,
        NA,
        agreement(grant(RISK, PUBLIC_TASK), valid_from=TOMORROW),
    ),
    case(
        "no_agreement-the-day-after-valid_to",
        RISK,
        NA,
        agreement(grant(RISK, PUBLIC_TASK), valid_to=YESTERDAY),
    ),
    case(
        "no_agreement-when-an-active-permit-exists-but-the-agreement-is-from-the-wrong-supplier",
        RISK,
        NA,
        agreement(grant(RISK, CONSENT), provider=PROVIDER),
        consents=[MAN_PERMITS_RISK],
    ),
    case(
        "no_agreement-before-consent_denied-when-the-only-agreement-is-for-another-purpose",
        RISK,
        NA,
        agreement(grant(RISK, PUBLIC_TASK), purposes=(OTHER_PURPOSE,)),
        consents=[MAN_DENIES_RISK],
    ),
    case(
        "no_agreement-before-emergency_only-when-vital_interests-is-granted-to-someone-else",
        RISK,
        NA,
        agreement(grant(RISK, VITAL_INTERESTS), recipient=SECOND_OBSERVER),
    ),
    case(
        "disclosed-on-the-valid_to-day-itself",
        RISK,
        DISCLOSED,
        agreement(grant(RISK, PUBLIC_TASK), valid_to=TODAY),
    ),
    case(
        "disclosed-on-the-valid_from-day-itself",
        RISK,
        DISCLOSED,
        agreement(grant(RISK, PUBLIC_TASK), valid_from=TODAY, valid_to=TOMORROW),
    ),
    case("disclosed-to-the-recipient-named-by-id", RISK, DISCLOSED, RISK_BY_PUBLIC_TASK),
    case(
        "disclosed-to-every-agency-of-the-recipient-kind",
        RISK,
        DISCLOSED,
        agreement(grant(RISK, PUBLIC_TASK), recipient_kind=POLICE),
    ),
    case(
        "disclosed-when-the-agreements-purposes-include-the-request's",
        RISK,
        DISCLOSED,
        agreement(grant(RISK, PUBLIC_TASK), purposes=(OTHER_PURPOSE, PURPOSE)),
    ),
    *(
        case(
            f"disclosed-by-{basis}-without-any-consent",
            RISK,
            DISCLOSED,
            agreement(grant(RISK, basis)),
        )
        for basis in (LEGAL_OBLIGATION, PUBLIC_TASK, LEGITIMATE_INTERESTS)
    ),
    case(
        "disclosed-when-a-second-matching-agreement-passes-beside-an-expired-one",
        RISK,
        DISCLOSED,
        agreement(grant(RISK, PUBLIC_TASK), status="expired"),
        second(RISK_BY_PUBLIC_TASK),
    ),
]

CONSENT_DENIED_CASES = [
    case(
        "consent_denied-a-deny-beats-a-permit-in-the-same-consent",
        RISK,
        CD,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK), deny(RISK))],
    ),
    case(
        "consent_denied-a-deny-in-one-consent-beats-a-permit-in-another",
        RISK,
        CD,
        RISK_BY_CONSENT,
        consents=[MAN_PERMITS_RISK, MAN_DENIES_RISK],
    ),
    case(
        "consent_denied-a-deny-blocks-public_task",
        RISK,
        CD,
        RISK_BY_PUBLIC_TASK,
        consents=[MAN_DENIES_RISK],
    ),
    case(
        "consent_denied-a-deny-blocks-legitimate_interests",
        RISK,
        CD,
        agreement(grant(RISK, LEGITIMATE_INTERESTS)),
        consents=[MAN_DENIES_RISK],
    ),
    case(
        "consent_denied-a-deny-naming-the-recipient",
        RISK,
        CD,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(MAN, deny(RISK, recipients=[OBSERVER]))],
    ),
    case(
        "consent_denied-a-deny-naming-the-recipients-kind",
        RISK,
        CD,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(MAN, deny(RISK, kinds=[POLICE]))],
    ),
    case(
        "consent_denied-a-deny-naming-the-purpose",
        RISK,
        CD,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(MAN, deny(RISK, purposes=[PURPOSE]))],
    ),
    case(
        "consent_denied-the-partners-deny-blocks-her-contact-details",
        PARTNER_CONTACT,
        CD,
        agreement(grant(PARTNER_CONTACT, CONSENT), grant(PARTNER_CONTACT, PUBLIC_TASK)),
        consents=[consent(PARTNER, permit(PARTNER_CONTACT), deny(PARTNER_CONTACT))],
    ),
    case(
        "consent_denied-every-matching-grant-of-two-agreements-is-blocked",
        RISK,
        CD,
        RISK_BY_CONSENT,
        second(agreement(grant(RISK, LEGITIMATE_INTERESTS)), recipient_kind=POLICE),
        consents=[MAN_PERMITS_RISK, MAN_DENIES_RISK],
    ),
    case(
        "consent_denied-before-no_consent-a-consent-grant-with-a-deny-and-no-permit",
        RISK,
        CD,
        RISK_BY_CONSENT,
        consents=[MAN_DENIES_RISK],
    ),
    case(
        "consent_denied-before-emergency_only-when-no-grant-is-left-unblocked",
        RISK,
        CD,
        agreement(grant(RISK, PUBLIC_TASK), grant(RISK, LEGITIMATE_INTERESTS)),
        second(RISK_BY_CONSENT),
        consents=[MAN_PERMITS_RISK, MAN_DENIES_RISK],
    ),
    case(
        "emergency_only-a-deny-does-not-block-vital_interests",
        RISK,
        EO,
        RISK_BY_VITAL_INTERESTS,
        consents=[MAN_DENIES_RISK],
    ),
    case(
        "disclosed-a-deny-does-not-block-vital_interests-in-an-emergency",
        RISK,
        DISCLOSED,
        RISK_BY_VITAL_INTERESTS,
        consents=[MAN_DENIES_RISK],
        emergency=True,
    ),
    case(
        "disclosed-a-deny-does-not-block-legal_obligation",
        RISK,
        DISCLOSED,
        agreement(grant(RISK, LEGAL_OBLIGATION)),
        consents=[MAN_DENIES_RISK],
    ),
    case(
        "disclosed-a-deny-blocks-public_task-but-a-legal_obligation-grant-still-passes",
        RISK,
        DISCLOSED,
        RISK_BY_PUBLIC_TASK,
        second(agreement(grant(RISK, LEGAL_OBLIGATION))),
        consents=[MAN_DENIES_RISK],
    ),
    case(
        "emergency_only-a-deny-blocks-public_task-leaving-only-vital_interests",
        RISK,
        EO,
        agreement(grant(RISK, PUBLIC_TASK), grant(RISK, VITAL_INTERESTS)),
        consents=[MAN_DENIES_RISK],
    ),
    case(
        "emergency_only-a-deny-blocks-consent-leaving-only-vital_interests",
        RISK,
        EO,
        RISK_BY_CONSENT,
        second(RISK_BY_VITAL_INTERESTS),
        consents=[MAN_PERMITS_RISK, MAN_DENIES_RISK],
    ),
    # A deny that does not cover the request blocks nothing.
    case(
        "disclosed-a-deny-of-another-category-blocks-nothing",
        RISK,
        DISCLOSED,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(MAN, deny(C.OFFENCE))],
    ),
    case(
        "disclosed-a-deny-naming-another-recipient-blocks-nothing",
        RISK,
        DISCLOSED,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(MAN, deny(RISK, recipients=[SECOND_OBSERVER]))],
    ),
    case(
        "disclosed-a-deny-naming-another-kind-blocks-nothing",
        RISK,
        DISCLOSED,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(MAN, deny(RISK, kinds=[COURT]))],
    ),
    case(
        "disclosed-a-deny-for-another-purpose-blocks-nothing",
        RISK,
        DISCLOSED,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(MAN, deny(RISK, purposes=[OTHER_PURPOSE]))],
    ),
    case(
        "disclosed-a-withdrawn-deny-blocks-nothing",
        RISK,
        DISCLOSED,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(MAN, deny(RISK), withdrawn=True)],
    ),
    case(
        "disclosed-an-expired-deny-blocks-nothing",
        RISK,
        DISCLOSED,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(MAN, deny(RISK), valid_to=YESTERDAY)],
    ),
    case(
        "disclosed-a-deny-not-yet-valid-blocks-nothing",
        RISK,
        DISCLOSED,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(MAN, deny(RISK), valid_from=TOMORROW)],
    ),
    case(
        "disclosed-the-partners-deny-does-not-cover-the-mans-risk",
        RISK,
        DISCLOSED,
        RISK_BY_PUBLIC_TASK,
        consents=[consent(PARTNER, deny(RISK))],
    ),
    case(
        "disclosed-the-mans-deny-does-not-cover-the-partners-contact",
        PARTNER_CONTACT,
        DISCLOSED,
        agreement(grant(PARTNER_CONTACT, PUBLIC_TASK)),
        consents=[consent(MAN, deny(PARTNER_CONTACT))],
    ),
]

EMERGENCY_ONLY_CASES = [
    case(
        "emergency_only-when-vital_interests-is-the-only-grant-and-no-emergency",
        RISK,
        EO,
        RISK_BY_VITAL_INTERESTS,
    ),
    case(
        "emergency_only-before-no_consent-vital_interests-only-and-no-permit-anywhere",
        PARTNER_CONTACT,
        EO,
        agreement(grant(PARTNER_CONTACT, VITAL_INTERESTS), recipient_kind=POLICE),
        consents=[consent(PARTNER, permit(C.CHILDREN))],
    ),
    case(
        "disclosed-vital_interests-in-an-emergency",
        RISK,
        DISCLOSED,
        RISK_BY_VITAL_INTERESTS,
        emergency=True,
    ),
    case(
        "disclosed-partner-contact-to-police-by-kind-in-an-emergency",
        PARTNER_CONTACT,
        DISCLOSED,
        agreement(grant(PARTNER_CONTACT, VITAL_INTERESTS), recipient_kind=POLICE),
        emergency=True,
    ),
    # emergency_only needs the *only* unblocked grants to be vital_interests (DESIGN.md).
    case(
        "no_consent-when-a-consent-grant-without-permit-sits-beside-vital_interests",
        RISK,
        NC,
        RISK_BY_CONSENT,
        second(RISK_BY_VITAL_INTERESTS),
    ),
    case(
        "no_consent-consent-and-vital_interests-grants-in-one-agreement-neither-holds",
        RISK,
        NC,
        agreement(grant(RISK, CONSENT), grant(RISK, VITAL_INTERESTS)),
    ),
    case(
        "disclosed-consent-without-permit-but-vital_interests-in-an-emergency",
        RISK,
        DISCLOSED,
        RISK_BY_CONSENT,
        second(RISK_BY_VITAL_INTERESTS),
        emergency=True,
    ),
    case(
        "disclosed-vital_interests-without-emergency-but-a-permitted-consent-grant",
        RISK,
        DISCLOSED,
        RISK_BY_CONSENT,
        second(RISK_BY_VITAL_INTERESTS),
        consents=[MAN_PERMITS_RISK],
    ),
    case(
        "disclosed-one-of-two-grants-passes-consent-without-permit-and-public_task",
        RISK,
        DISCLOSED,
        agreement(grant(RISK, CONSENT), grant(RISK, PUBLIC_TASK)),
    ),
]

NO_CONSENT_CASES = [
    case("no_consent-a-consent-grant-and-no-consent-at-all", RISK, NC, RISK_BY_CONSENT),
    case(
        "disclosed-a-consent-grant-and-an-active-permit",
        RISK,
        DISCLOSED,
        RISK_BY_CONSENT,
        consents=[MAN_PERMITS_RISK],
    ),
    case(
        "no_consent-the-permit-was-withdrawn",
        RISK,
        NC,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK), withdrawn=True)],
    ),
    case(
        "no_consent-the-permit-expired-yesterday",
        RISK,
        NC,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK), valid_to=YESTERDAY)],
    ),
    case(
        "no_consent-the-permit-is-valid-from-tomorrow",
        RISK,
        NC,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK), valid_from=TOMORROW)],
    ),
    case(
        "disclosed-the-permits-valid_to-is-today",
        RISK,
        DISCLOSED,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK), valid_to=TODAY)],
    ),
    case(
        "no_consent-the-permit-is-for-another-category",
        RISK,
        NC,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(C.OFFENCE, C.SUBJECT_IDENTITY))],
    ),
    case(
        "no_consent-the-permit-names-another-recipient",
        RISK,
        NC,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK, recipients=[SECOND_OBSERVER]))],
    ),
    case(
        "no_consent-the-permit-names-another-kind",
        RISK,
        NC,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK, kinds=[COURT]))],
    ),
    case(
        "no_consent-the-permit-is-for-another-purpose",
        RISK,
        NC,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK, purposes=[OTHER_PURPOSE]))],
    ),
    case(
        "disclosed-the-permit-names-the-recipient",
        RISK,
        DISCLOSED,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK, recipients=[SECOND_OBSERVER, OBSERVER]))],
    ),
    case(
        "disclosed-the-permit-names-the-recipients-kind",
        RISK,
        DISCLOSED,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK, kinds=[POLICE]))],
    ),
    case(
        "disclosed-the-permit-names-the-purpose",
        RISK,
        DISCLOSED,
        RISK_BY_CONSENT,
        consents=[consent(MAN, permit(RISK, purposes=[PURPOSE, OTHER_PURPOSE]))],
    ),
    case(
        "disclosed-a-withdrawn-permit-beside-an-active-one",
        RISK,
        DISCLOSED,
        RISK_BY_CONSENT,
        consents=[
            consent(MAN, permit(RISK), withdrawn=True),
            consent(MAN, permit(RISK), consent_id=SECOND_CONSENT_ID),
        ],
    ),
    # Whose consent: the man's for his categories, the partner's for hers and the children.
    *(
        case(
            f"disclosed-the-mans-permit-covers-{category}",
            category,
            DISCLOSED,
            agreement(grant(category, CONSENT), provider=supplier_of(category)),
            consents=[consent(MAN, permit(category))],
            parties=REFERRER_ENTRIES_ONLY,
        )
        for category in MANS_CATEGORIES
    ),
    *(
        case(
            f"no_consent-the-partners-permit-does-not-cover-{category}",
            category,
            NC,
            agreement(grant(category, CONSENT), provider=supplier_of(category)),
            consents=[consent(PARTNER, permit(category))],
            parties=REFERRER_ENTRIES_ONLY,
        )
        for category in MANS_CATEGORIES
    ),
    *(
        case(
            f"disclosed-the-partners-permit-covers-{category}",
            category,
            DISCLOSED,
            agreement(grant(category, CONSENT)),
            consents=[consent(PARTNER, permit(category))],
            parties=REFERRER_ENTRIES_ONLY,
        )
        for category in PARTNERS_CATEGORIES
    ),
    *(
        case(
            f"no_consent-the-mans-permit-does-not-cover-{category}",
            category,
            NC,
            agreement(grant(category, CONSENT)),
            consents=[consent(MAN, permit(category))],
            parties=REFERRER_ENTRIES_ONLY,
        )
        for category in PARTNERS_CATEGORIES
    ),
    case(
        "no_consent-an-unrelated-agreement-for-another-purpose-does-not-make-it-no_agreement",
        RISK,
        NC,
        agreement(grant(RISK, PUBLIC_TASK), purposes=(OTHER_PURPOSE,)),
        second(RISK_BY_CONSENT),
    ),
]

# The programme provider, and an observer of the programme_provider kind.
PROGRAMME = {"agency": PROVIDER, "kind": PROGRAMME_PROVIDER}
PROVIDER_KIND_OBSERVER = {"agency": SECOND_OBSERVER, "kind": PROGRAMME_PROVIDER}

VICTIM_CONFIDENTIAL_CASES = [
    *(
        case(
            f"victim_confidential-{category}-to-the-programme-provider-despite-agreement-and-permit",
            category,
            VC,
            agreement(
                grant(category, CONSENT),
                grant(category, LEGAL_OBLIGATION),
                recipient=PROVIDER,
            ),
            consents=[consent(PARTNER, permit(category, recipients=[PROVIDER]))],
            **PROGRAMME,
        )
        for category in PARTNERS_CATEGORIES
    ),
    case(
        "victim_confidential-to-a-programme_provider-kind-observer-despite-an-agreement-by-kind",
        PARTNER_CONTACT,
        VC,
        agreement(grant(PARTNER_CONTACT, PUBLIC_TASK), recipient_kind=PROGRAMME_PROVIDER),
        consents=[consent(PARTNER, permit(PARTNER_CONTACT, kinds=[PROGRAMME_PROVIDER]))],
        **PROVIDER_KIND_OBSERVER,
    ),
    case(
        "victim_confidential-despite-vital_interests-in-an-emergency",
        C.CHILDREN,
        VC,
        agreement(grant(C.CHILDREN, VITAL_INTERESTS), recipient=PROVIDER),
        emergency=True,
        **PROGRAMME,
    ),
    case(
        "victim_confidential-before-consent_denied",
        PARTNER_CONTACT,
        VC,
        agreement(grant(PARTNER_CONTACT, PUBLIC_TASK), recipient=PROVIDER),
        consents=[consent(PARTNER, deny(PARTNER_CONTACT))],
        **PROGRAMME,
    ),
    case(
        "victim_confidential-partner-disclosures-from-the-partner-service",
        DISCLOSURES,
        VC,
        agreement(
            grant(DISCLOSURES, LEGAL_OBLIGATION), provider=PARTNER_SERVICE, recipient=PROVIDER
        ),
        **PROGRAMME,
    ),
    case(
        "disclosed-rule-0-aside-the-programme-providers-own-disclosure-entry",
        DISCLOSURES,
        DISCLOSED,
        parties=replace(PARTIES, disclosure_suppliers=frozenset({PROVIDER})),
        **PROGRAMME,
    ),
    case(
        "disclosed-a-category-that-is-not-victim-confidential-to-the-programme-provider",
        RISK,
        DISCLOSED,
        agreement(grant(RISK, CONSENT), recipient=PROVIDER, purposes=(PURPOSE,)),
        consents=[consent(MAN, permit(RISK, kinds=[PROGRAMME_PROVIDER]))],
        **PROGRAMME,
    ),
]

SUPPLIER_CASES = [
    # programme.progress is the provider's data.
    case(
        "no_agreement-progress-to-an-observer-by-an-agreement-from-the-referrer",
        PROGRESS,
        NA,
        agreement(grant(PROGRESS, PUBLIC_TASK), provider=REFERRER),
    ),
    case(
        "disclosed-progress-to-an-observer-by-an-agreement-from-the-provider",
        PROGRESS,
        DISCLOSED,
        agreement(grant(PROGRESS, PUBLIC_TASK), provider=PROVIDER),
    ),
    case(
        "disclosed-progress-to-the-referrer-without-any-agreement",
        PROGRESS,
        DISCLOSED,
        agency=REFERRER,
        kind=PROBATION,
    ),
    case(
        "disclosed-risk-to-the-referrer-despite-the-mans-deny-rule-0",
        RISK,
        DISCLOSED,
        consents=[MAN_DENIES_RISK],
        agency=REFERRER,
        kind=PROBATION,
    ),
    case(
        "disclosed-progress-to-the-provider-that-supplied-it",
        PROGRESS,
        DISCLOSED,
        **PROGRAMME,
    ),
    case(
        "no_agreement-risk-to-the-provider-by-an-agreement-the-provider-gave-itself",
        RISK,
        NA,
        agreement(grant(RISK, PUBLIC_TASK), provider=PROVIDER, recipient=PROVIDER),
        **PROGRAMME,
    ),
    # partner.disclosures: supplied entry by entry (here by the referrer and the partner service).
    case(
        "disclosed-partner-disclosures-by-an-agreement-from-the-partner-service",
        DISCLOSURES,
        DISCLOSED,
        agreement(grant(DISCLOSURES, PUBLIC_TASK), provider=PARTNER_SERVICE),
    ),
    case(
        "disclosed-partner-disclosures-by-an-agreement-from-the-referrer",
        DISCLOSURES,
        DISCLOSED,
        agreement(grant(DISCLOSURES, PUBLIC_TASK), provider=REFERRER),
    ),
    case(
        "no_agreement-partner-disclosures-from-an-agency-that-recorded-no-entry",
        DISCLOSURES,
        NA,
        agreement(grant(DISCLOSURES, PUBLIC_TASK), provider=SECOND_OBSERVER),
    ),
    case(
        "disclosed-when-one-suppliers-legal_obligation-passes-and-the-others-grant-is-denied",
        DISCLOSURES,
        DISCLOSED,
        agreement(grant(DISCLOSURES, LEGAL_OBLIGATION), provider=REFERRER),
        second(agreement(grant(DISCLOSURES, PUBLIC_TASK), provider=PARTNER_SERVICE)),
        consents=[consent(PARTNER, deny(DISCLOSURES))],
    ),
]

# Two suppliers of partner.disclosures and nothing passes: DESIGN.md's reasons are read over the
# category's matching grants together, whichever supplier's agreement they come from.
PRECEDENCE_CASES = [
    case(
        "across-suppliers-no_consent-when-only-the-partner-services-consent-grant-matches",
        DISCLOSURES,
        NC,
        agreement(grant(DISCLOSURES, CONSENT), provider=PARTNER_SERVICE),
    ),
    case(
        "across-suppliers-consent_denied-when-the-only-matching-grant-is-denied",
        DISCLOSURES,
        CD,
        agreement(grant(DISCLOSURES, PUBLIC_TASK), provider=PARTNER_SERVICE),
        consents=[consent(PARTNER, deny(DISCLOSURES))],
    ),
    case(
        "across-suppliers-emergency_only-when-a-deny-leaves-only-the-others-vital_interests",
        DISCLOSURES,
        EO,
        agreement(grant(DISCLOSURES, PUBLIC_TASK), provider=REFERRER),
        second(agreement(grant(DISCLOSURES, VITAL_INTERESTS), provider=PARTNER_SERVICE)),
        consents=[consent(PARTNER, deny(DISCLOSURES))],
    ),
    case(
        "across-suppliers-no_consent-when-a-consent-grant-sits-beside-vital_interests",
        DISCLOSURES,
        NC,
        agreement(grant(DISCLOSURES, CONSENT), provider=REFERRER),
        second(agreement(grant(DISCLOSURES, VITAL_INTERESTS), provider=PARTNER_SERVICE)),
    ),
    case(
        "across-suppliers-emergency_only-when-only-the-partner-services-vital_interests-matches",
        DISCLOSURES,
        EO,
        agreement(grant(DISCLOSURES, VITAL_INTERESTS), provider=PARTNER_SERVICE),
    ),
]

CASES = [
    *NO_AGREEMENT_CASES,
    *CONSENT_DENIED_CASES,
    *EMERGENCY_ONLY_CASES,
    *NO_CONSENT_CASES,
    *VICTIM_CONFIDENTIAL_CASES,
    *SUPPLIER_CASES,
    *PRECEDENCE_CASES,
]


@pytest.mark.parametrize("case", CASES)
def test_category_is_disclosed_or_withheld_for_the_first_reason_that_applies(case: Case) -> None:
    decision = decide(
        case.parties,
        Requester(case.agency, case.kind, PURPOSE, emergency=case.emergency),
        agreements=case.agreements,
        consents=case.consents,
        today=TODAY,
    )
    reasons = reasons_of(decision)

    if case.expected == DISCLOSED:
        assert case.category in decision.disclosed
        assert case.category not in reasons
    else:
        assert case.category not in decision.disclosed
        assert reasons.get(case.category) == case.expected


# --- Named behaviours -----------------------------------------------------------------------


def police(emergency: bool = False, purpose: str = PURPOSE) -> Requester:
    return Requester(OBSERVER, POLICE, purpose, emergency=emergency)


def bases_for(decision: Decision, category: Category) -> list[Basis]:
    return [basis for basis in decision.bases if basis.category == category]


def test_a_consent_basis_records_the_agreement_version_and_the_consent() -> None:
    terms = agreement(grant(RISK, CONSENT), version=3)

    decision = decide(
        PARTIES, police(), agreements=[terms], consents=[MAN_PERMITS_RISK], today=TODAY
    )

    assert bases_for(decision, RISK) == [
        Basis(
            category=RISK,
            agreement=AGREEMENT_ID,
            agreement_version=3,
            lawful_basis="consent",
            consent=CONSENT_ID,
            supplier=REFERRER,
        )
    ]


def test_a_basis_other_than_consent_names_no_consent() -> None:
    terms = agreement(grant(RISK, PUBLIC_TASK), version=2)

    decision = decide(
        PARTIES, police(), agreements=[terms], consents=[MAN_PERMITS_RISK], today=TODAY
    )

    [basis] = bases_for(decision, RISK)
    assert (basis.agreement, basis.agreement_version) == (AGREEMENT_ID, 2)
    assert basis.lawful_basis == "public_task"
    assert basis.consent is None
    assert basis.supplier == REFERRER


def test_an_emergency_release_rests_on_vital_interests() -> None:
    decision = decide(
        PARTIES,
        police(emergency=True),
        agreements=[agreement(grant(PARTNER_CONTACT, VITAL_INTERESTS), recipient_kind=POLICE)],
        today=TODAY,
    )

    [basis] = bases_for(decision, PARTNER_CONTACT)
    assert basis.lawful_basis == "vital_interests"
    assert basis.agreement == AGREEMENT_ID
    assert basis.consent is None


def test_an_agency_sees_its_own_data_on_the_supplier_basis() -> None:
    decision = decide(
        PARTIES,
        Requester(REFERRER, PROBATION, PURPOSE),
        agreements=[agreement(grant(RISK, PUBLIC_TASK), recipient=REFERRER)],
        today=TODAY,
    )

    assert Basis(category=RISK, supplier=REFERRER) in decision.bases
    assert all(basis.agreement is None for basis in bases_for(decision, RISK))


def test_an_agreement_from_the_partner_service_reveals_only_its_own_disclosure_entries() -> None:
    from_partner_service = agreement(grant(DISCLOSURES, PUBLIC_TASK), provider=PARTNER_SERVICE)

    decision = decide(PARTIES, police(), agreements=[from_partner_service], today=TODAY)

    assert decision.sees(DISCLOSURES)
    assert decision.disclosure_entries_from == {PARTNER_SERVICE}
    assert [basis.supplier for basis in bases_for(decision, DISCLOSURES)] == [PARTNER_SERVICE]


def test_an_agreement_from_the_referrer_reveals_only_the_referrers_disclosure_entries() -> None:
    from_referrer = agreement(grant(DISCLOSURES, PUBLIC_TASK), provider=REFERRER)

    decision = decide(PARTIES, police(), agreements=[from_referrer], today=TODAY)

    assert decision.disclosure_entries_from == {REFERRER}


def test_agreements_from_both_suppliers_reveal_both_sets_of_disclosure_entries() -> None:
    terms = [
        agreement(grant(DISCLOSURES, PUBLIC_TASK), provider=REFERRER),
        second(agreement(grant(DISCLOSURES, CONSENT), provider=PARTNER_SERVICE)),
    ]

    decision = decide(
        PARTIES,
        police(),
        agreements=terms,
        consents=[consent(PARTNER, permit(DISCLOSURES))],
        today=TODAY,
    )

    assert decision.disclosure_entries_from == {REFERRER, PARTNER_SERVICE}
    assert {basis.supplier for basis in bases_for(decision, DISCLOSURES)} == {
        REFERRER,
        PARTNER_SERVICE,
    }


def test_a_party_sees_its_own_disclosure_entries_and_those_granted_to_it() -> None:
    referral = replace(PARTIES, disclosure_suppliers=frozenset({PARTNER_SERVICE, OBSERVER}))
    from_partner_service = agreement(grant(DISCLOSURES, PUBLIC_TASK), provider=PARTNER_SERVICE)

    decision = decide(referral, police(), agreements=[from_partner_service], today=TODAY)

    assert decision.disclosure_entries_from == {OBSERVER, PARTNER_SERVICE}


def test_a_suspension_takes_effect_on_the_very_next_request() -> None:
    active = agreement(grant(RISK, PUBLIC_TASK), version=1)
    suspended = replace(active, version=2, status="suspended")

    before = decide(PARTIES, police(), agreements=[active], today=TODAY)
    after = decide(PARTIES, police(), agreements=[suspended], today=TODAY)

    assert before.sees(RISK)
    assert not after.sees(RISK)
    assert reasons_of(after)[RISK] == NA


def test_a_withdrawal_takes_effect_on_the_very_next_request() -> None:
    withdrawn = replace(MAN_PERMITS_RISK, withdrawn=True)

    before = decide(
        PARTIES, police(), agreements=[RISK_BY_CONSENT], consents=[MAN_PERMITS_RISK], today=TODAY
    )
    after = decide(
        PARTIES, police(), agreements=[RISK_BY_CONSENT], consents=[withdrawn], today=TODAY
    )

    assert before.sees(RISK)
    assert reasons_of(after)[RISK] == NC


def test_an_agreement_expires_after_its_valid_to_day() -> None:
    terms = agreement(grant(RISK, PUBLIC_TASK), valid_to=TODAY)

    assert decide(PARTIES, police(), agreements=[terms], today=TODAY).sees(RISK)
    tomorrow = decide(PARTIES, police(), agreements=[terms], today=TOMORROW)
    assert reasons_of(tomorrow)[RISK] == NA


def test_an_agreement_grants_only_the_categories_it_names() -> None:
    terms = agreement(grant(RISK, PUBLIC_TASK), grant(C.OFFENCE, LEGAL_OBLIGATION))

    decision = decide(PARTIES, police(), agreements=[terms], today=TODAY)

    assert decision.disclosed == {ADMIN, RISK, C.OFFENCE}
    assert {w.category for w in decision.withheld} == ALL_CATEGORIES - {ADMIN, RISK, C.OFFENCE}


def test_the_same_agreement_serves_one_purpose_and_not_another() -> None:
    terms = agreement(grant(RISK, PUBLIC_TASK), purposes=(PURPOSE,))

    assert decide(PARTIES, police(), agreements=[terms], today=TODAY).sees(RISK)
    other = decide(PARTIES, police(purpose=OTHER_PURPOSE), agreements=[terms], today=TODAY)
    assert reasons_of(other)[RISK] == NA


def test_a_withheld_category_names_the_agreements_that_matched_but_did_not_pass() -> None:
    terms = [
        agreement(grant(RISK, CONSENT), version=4),
        second(agreement(grant(RISK, CONSENT), status="suspended")),
    ]

    decision = decide(PARTIES, police(), agreements=terms, today=TODAY)

    [withheld] = [w for w in decision.withheld if w.category == RISK]
    assert withheld.reason == NC
    assert withheld.agreements == ((AGREEMENT_ID, 4),)
    [offence] = [w for w in decision.withheld if w.category == C.OFFENCE]
    assert offence.agreements == ()


def test_deciding_on_agreements_needs_todays_date() -> None:
    with pytest.raises(ValueError, match="today"):
        decide(PARTIES, police(), agreements=[RISK_BY_PUBLIC_TASK])


# --- Properties -----------------------------------------------------------------------------
#
# Small pools, so that agreements often come from a supplier, address the requester, share its
# purpose and grant what a consent permits or denies.

AGENCY_POOL = (REFERRER, PROVIDER, PARTNER_SERVICE, OBSERVER)
KIND_POOL = (POLICE, PROGRAMME_PROVIDER, VICTIM_SERVICE)
PURPOSE_POOL = (PURPOSE, OTHER_PURPOSE)
STATUSES = ("active",) * 6 + ("draft", "suspended", "expired")
ALL_BASES = tuple(LawfulBasis)
# Grants drawn from every basis, or mostly resting on consent (so that permits and denies matter).
BASIS_MIXES = (ALL_BASES, (CONSENT,), (CONSENT, VITAL_INTERESTS, PUBLIC_TASK))
PURPOSE_SETS = tuple(frozenset(s) for s in ((PURPOSE,), (OTHER_PURPOSE,), PURPOSE_POOL))

agencies = st.sampled_from(AGENCY_POOL)
kinds = st.sampled_from(KIND_POOL)
purposes = st.sampled_from(PURPOSE_POOL)
categories = st.sampled_from(GRANTABLE)
todays = st.sampled_from((-2, -1, 0, 1, 2, 11)).map(days)
only_today = st.just(TODAY)

overlapping_parties = st.builds(
    ReferralParties,
    referrer=agencies,
    provider=agencies,
    partner_service=st.none() | agencies,
    observers=st.frozensets(agencies, max_size=2),
    disclosure_suppliers=st.frozensets(agencies, max_size=2),
)


@st.composite
def distinct_parties(draw: st.DrawFn) -> ReferralParties:
    referrer, provider, partner_service, observer = draw(st.permutations(AGENCY_POOL))
    return ReferralParties(
        referrer=referrer,
        provider=provider,
        partner_service=draw(st.sampled_from((partner_service, None))),
        observers=frozenset({observer}),
        disclosure_suppliers=draw(st.frozensets(agencies, max_size=2)),
    )


# Mostly one agency per role; sometimes one agency in several roles.
referral_parties = distinct_parties() | distinct_parties() | overlapping_parties


# Validity periods as day offsets from the decision's date: mostly in force, sometimes ended or
# not yet begun; an aimed agreement is always in force.
validity = st.tuples(
    st.sampled_from((-10, -10, -1, 0, 1)), st.none() | st.none() | st.sampled_from((-1, 0, 1, 10))
)
aimed_validity = st.tuples(st.sampled_from((-10, 0)), st.none() | st.sampled_from((0, 10)))
scopes = st.sampled_from(("anyone", "agency", "kind", "other"))
provision_types = st.sampled_from(("permit", "permit", "deny"))
provision_categories = st.frozensets(categories, min_size=1, max_size=4)
other_kinds = st.frozensets(kinds, min_size=1, max_size=1)
provision_purposes = st.frozensets(purposes, max_size=1)
data_subjects = st.sampled_from((MAN, PARTNER))
withdrawals = st.sampled_from((False, False, False, True))


def period(today: date, offsets: tuple[int, int | None]) -> tuple[date, date | None]:
    start, end = offsets
    return today + timedelta(days=start), None if end is None else today + timedelta(days=end)


@cache
def grant_lists(bases: tuple[LawfulBasis, ...]) -> st.SearchStrategy[list[Grant]]:
    return st.lists(st.builds(Grant, categories, st.sampled_from(bases)), min_size=1, max_size=5)


@st.composite
def agreement_lists(
    draw: st.DrawFn,
    referral: ReferralParties,
    requester: Requester,
    today: date,
    bases: tuple[LawfulBasis, ...],
) -> tuple[Agreement, ...]:
    """Agreements, half of them aimed (from another supplier, to the requester, for its purpose,
    in force) so that grants often match; the rest are drawn from the pools at large."""
    suppliers = sorted({referral.referrer, referral.provider, *referral.disclosure_suppliers})
    other_suppliers = [supplier for supplier in suppliers if supplier != requester.agency]
    drawn = []
    for index in range(draw(st.integers(1, 5))):
        aimed = draw(st.booleans()) and bool(other_suppliers)
        by_kind = draw(st.booleans())
        if aimed:
            provider = draw(st.sampled_from(other_suppliers))
            recipient, recipient_kind = (
                (None, requester.kind) if by_kind else (requester.agency, None)
            )
            agreed = draw(
                st.sampled_from((frozenset({requester.purpose}), frozenset(PURPOSE_POOL)))
            )
            status = "active"
            valid_from, valid_to = period(today, draw(aimed_validity))
        else:
            provider = draw(st.sampled_from(suppliers) | agencies)
            recipient = None if by_kind else draw(agencies)
            recipient_kind = draw(kinds) if by_kind else None
            agreed = draw(st.sampled_from(PURPOSE_SETS))
            status = draw(st.sampled_from(STATUSES))
            valid_from, valid_to = period(today, draw(validity))
        drawn.append(
            Agreement(
                id=UUID(int=0xA000 + index, version=4),
                version=draw(st.integers(1, 3)),
                provider=provider,
                recipient=recipient,
                recipient_kind=recipient_kind,
                purposes=agreed,
                grants=tuple(draw(grant_lists(bases))),
                status=status,
                valid_from=valid_from,
                valid_to=valid_to,
            )
        )
    return tuple(drawn)


def draw_provision(
    draw: st.DrawFn, requester: Requester, granted: tuple[Category, ...]
) -> Provision:
    """A permit or deny, biased to cover the requester (by id, by kind or anyone) and, half of
    the time, only categories that the agreements grant."""
    scope = draw(scopes)
    aimed = granted and draw(st.booleans())
    return Provision(
        type=draw(provision_types),
        categories=(
            draw(st.frozensets(st.sampled_from(granted), min_size=1, max_size=3))
            if aimed
            else draw(provision_categories)
        ),
        recipients=frozenset({requester.agency}) if scope == "agency" else frozenset(),
        recipient_kinds=(
            frozenset({requester.kind})
            if scope == "kind"
            else draw(other_kinds)
            if scope == "other"
            else frozenset()
        ),
        purposes=draw(provision_purposes),
    )


@st.composite
def consent_lists(
    draw: st.DrawFn, requester: Requester, today: date, agreements: tuple[Agreement, ...]
) -> tuple[Consent, ...]:
    granted = {g.category for a in agreements for g in a.grants}
    drawn = []
    for index in range(draw(st.integers(0, 3))):
        valid_from, valid_to = period(today, draw(validity))
        data_subject = draw(data_subjects)
        theirs = tuple(sorted(c for c in granted if subject_of(c) == data_subject))
        provisions = tuple(
            draw_provision(draw, requester, theirs) for _ in range(draw(st.integers(1, 3)))
        )
        drawn.append(
            Consent(
                id=UUID(int=0xC000 + index, version=4),
                data_subject=data_subject,
                provisions=provisions,
                valid_from=valid_from,
                valid_to=valid_to,
                withdrawn=draw(withdrawals),
            )
        )
    return tuple(drawn)


@dataclass(frozen=True)
class Scenario:
    parties: ReferralParties
    requester: Requester
    agreements: tuple[Agreement, ...]
    consents: tuple[Consent, ...]
    today: date

    def decide(self, **changes: object) -> Decision:
        scenario = replace(self, **changes)  # type: ignore[arg-type]
        return decide(
            scenario.parties,
            scenario.requester,
            agreements=scenario.agreements,
            consents=scenario.consents,
            today=scenario.today,
        )


@st.composite
def scenarios(
    draw: st.DrawFn,
    kind: st.SearchStrategy[str] = kinds,
    basis_mixes: tuple[tuple[LawfulBasis, ...], ...] = BASIS_MIXES,
    today: st.SearchStrategy[date] = only_today,
) -> Scenario:
    referral = draw(referral_parties)
    party_ids = {referral.referrer, referral.provider, *referral.observers}
    if referral.partner_service is not None:
        party_ids.add(referral.partner_service)
    # The referrer sees everything by rule 0: draw the other parties more often.
    others = sorted(party_ids - {referral.referrer}) or [referral.referrer]
    requester = Requester(
        agency=draw(st.sampled_from(others) | st.sampled_from(sorted(party_ids))),
        kind=draw(kind),
        purpose=draw(purposes),
        emergency=draw(st.booleans()),
    )
    decided_on = draw(today)
    bases = draw(st.sampled_from(basis_mixes))
    agreements = draw(agreement_lists(referral, requester, decided_on, bases))
    return Scenario(
        parties=referral,
        requester=requester,
        agreements=agreements,
        consents=draw(consent_lists(requester, decided_on, agreements)),
        today=decided_on,
    )


# DESIGN.md, written again here so that the properties do not check the decision against itself.


def design_suppliers(category: Category, referral: ReferralParties) -> frozenset[UUID]:
    if category is PROGRESS:
        return frozenset({referral.provider})
    if category is DISCLOSURES:
        return referral.disclosure_suppliers | {referral.referrer}
    return frozenset({referral.referrer})


def supplied_by_requester(scenario: Scenario, category: Category) -> bool:
    """Rule 0: what the requester supplied, and programme progress for the referrer."""
    agency = scenario.requester.agency
    if category is PROGRESS and agency == scenario.parties.referrer:
        return True
    return agency in design_suppliers(category, scenario.parties)


def in_force(start: date, end: date | None, today: date) -> bool:
    return start <= today and (end is None or today <= end)


def agreement_active(terms: Agreement, today: date) -> bool:
    return terms.status == "active" and in_force(terms.valid_from, terms.valid_to, today)


def consent_active(given_consent: Consent, today: date) -> bool:
    return not given_consent.withdrawn and in_force(
        given_consent.valid_from, given_consent.valid_to, today
    )


def addressed_to(terms: Agreement, requester: Requester) -> bool:
    return terms.recipient == requester.agency or (
        terms.recipient is None and terms.recipient_kind == requester.kind
    )


def covers(given: Provision, category: Category, requester: Requester) -> bool:
    anyone = not given.recipients and not given.recipient_kinds
    return (
        category in given.categories
        and (
            anyone
            or requester.agency in given.recipients
            or requester.kind in given.recipient_kinds
        )
        and (not given.purposes or requester.purpose in given.purposes)
    )


def provisions_in_force(
    scenario: Scenario, category: Category, type_: str
) -> list[tuple[Consent, Provision]]:
    """The active provisions of the category's data subject of one type that cover the request."""
    return [
        (given_consent, given)
        for given_consent in scenario.consents
        if given_consent.data_subject == subject_of(category)
        and consent_active(given_consent, scenario.today)
        for given in given_consent.provisions
        if given.type == type_ and covers(given, category, scenario.requester)
    ]


def only_permits(given_consent: Consent) -> bool:
    return all(given.type == "permit" for given in given_consent.provisions)


def entries(decision: Decision) -> frozenset[UUID]:
    return decision.disclosure_entries_from or frozenset()


def assert_discloses_no_more(fewer: Decision, more: Decision) -> None:
    assert fewer.disclosed <= more.disclosed
    assert entries(fewer) <= entries(more)


@given(scenarios(kind=st.just(PROGRAMME_PROVIDER)))
def test_no_victim_confidential_category_reaches_a_programme_provider_that_did_not_supply_it(
    scenario: Scenario,
) -> None:
    requester = scenario.requester
    # Whatever the drawn records say, add the most generous ones imaginable.
    everything = tuple(
        Agreement(
            id=UUID(int=0xB000 + index, version=4),
            version=1,
            provider=supplier,
            recipient=None if by_kind else requester.agency,
            recipient_kind=PROGRAMME_PROVIDER if by_kind else None,
            purposes=frozenset(PURPOSE_POOL),
            grants=tuple(Grant(category, basis) for category in GRANTABLE for basis in ALL_BASES),
            status="active",
            valid_from=LAST_MONTH,
        )
        for index, (supplier, by_kind) in enumerate(
            (supplier, by_kind) for supplier in AGENCY_POOL for by_kind in (False, True)
        )
    )
    permits = tuple(
        consent(subject, permit(*GRANTABLE), consent_id=UUID(int=0xD000 + index, version=4))
        for index, subject in enumerate((MAN, PARTNER))
    )

    for decision in (
        scenario.decide(),
        scenario.decide(
            agreements=scenario.agreements + everything, consents=scenario.consents + permits
        ),
    ):
        for category in VICTIM_CONFIDENTIAL & decision.disclosed:
            assert requester.agency in design_suppliers(category, scenario.parties)
        if decision.sees(DISCLOSURES):
            assert decision.disclosure_entries_from == {requester.agency}
        for withheld in decision.withheld:
            if withheld.category in VICTIM_CONFIDENTIAL:
                assert withheld.reason == VC


@given(scenarios(), st.data())
def test_removing_an_agreement_never_discloses_more(
    scenario: Scenario, data: st.DataObject
) -> None:
    assume(scenario.agreements)
    index = data.draw(st.integers(0, len(scenario.agreements) - 1), label="removed")
    fewer = scenario.agreements[:index] + scenario.agreements[index + 1 :]

    assert_discloses_no_more(scenario.decide(agreements=fewer), scenario.decide())


@given(scenarios(), st.data())
def test_removing_a_consent_of_permits_only_never_discloses_more(
    scenario: Scenario, data: st.DataObject
) -> None:
    removable = [index for index, c in enumerate(scenario.consents) if only_permits(c)]
    assume(removable)
    index = data.draw(st.sampled_from(removable), label="removed")
    fewer = scenario.consents[:index] + scenario.consents[index + 1 :]

    assert_discloses_no_more(scenario.decide(consents=fewer), scenario.decide())


@given(scenarios(), st.data())
def test_removing_a_permit_provision_never_discloses_more(
    scenario: Scenario, data: st.DataObject
) -> None:
    held = [
        (i, j)
        for i, c in enumerate(scenario.consents)
        for j, p in enumerate(c.provisions)
        if p.type == "permit"
    ]
    assume(held)
    i, j = data.draw(st.sampled_from(held), label="removed permit")
    trimmed = replace(
        scenario.consents[i],
        provisions=scenario.consents[i].provisions[:j] + scenario.consents[i].provisions[j + 1 :],
    )
    fewer = (*scenario.consents[:i], trimmed, *scenario.consents[i + 1 :])

    assert_discloses_no_more(scenario.decide(consents=fewer), scenario.decide())


@st.composite
def covering_denies(draw: st.DrawFn, category: Category, requester: Requester) -> Provision:
    """A deny of the category that covers the requester (by id, by kind or anyone) and purpose."""
    scope = draw(st.sampled_from(("anyone", "agency", "kind")))
    others = draw(st.frozensets(agencies, max_size=1))  # naming others too changes nothing
    return Provision(
        type="deny",
        categories=frozenset({category}) | draw(st.frozensets(categories, max_size=2)),
        recipients=(others | {requester.agency}) if scope == "agency" else frozenset(),
        recipient_kinds=frozenset({requester.kind}) if scope == "kind" else frozenset(),
        purposes=draw(st.sampled_from((frozenset(), frozenset({requester.purpose})))),
    )


@st.composite
def with_deny(draw: st.DrawFn, scenario: Scenario, category: Category) -> tuple[Consent, ...]:
    """The scenario's consents with a covering deny added to an active consent of the category's
    data subject, or in a new active consent."""
    denial = draw(covering_denies(category, scenario.requester))
    hosts = [
        index
        for index, c in enumerate(scenario.consents)
        if c.data_subject == subject_of(category) and consent_active(c, scenario.today)
    ]
    host = draw(st.sampled_from([None, *hosts]), label="host consent")
    if host is None:
        added = consent(subject_of(category), denial, consent_id=UUID(int=0xE000, version=4))
        return (*scenario.consents, added)
    hosted = scenario.consents[host]
    changed = replace(hosted, provisions=(*hosted.provisions, denial))
    return (*scenario.consents[:host], changed, *scenario.consents[host + 1 :])


@given(
    scenarios(basis_mixes=((CONSENT, PUBLIC_TASK, LEGITIMATE_INTERESTS), (CONSENT,))),
    categories,
    st.data(),
)
def test_a_deny_withholds_what_only_consent_public_task_or_legitimate_interests_would_grant(
    scenario: Scenario, category: Category, data: st.DataObject
) -> None:
    denied = scenario.decide(consents=data.draw(with_deny(scenario, category)))

    if supplied_by_requester(scenario, category):
        assert denied.sees(category)
    else:
        assert not denied.sees(category)
        assert reasons_of(denied)[category] in {VC, NA, CD}
        assert not bases_for(denied, category)


@given(scenarios(), categories, st.data())
def test_after_a_deny_only_vital_interests_or_legal_obligation_can_still_grant(
    scenario: Scenario, category: Category, data: st.DataObject
) -> None:
    before = scenario.decide()
    denied = scenario.decide(consents=data.draw(with_deny(scenario, category)))

    assert_discloses_no_more(denied, before)
    for basis in bases_for(denied, category):
        if basis.agreement is not None:
            assert basis.lawful_basis in DENY_PROOF


@given(scenarios(today=todays))
def test_inactive_agreements_and_consents_count_as_absent(scenario: Scenario) -> None:
    active_agreements = tuple(a for a in scenario.agreements if agreement_active(a, scenario.today))
    active_consents = tuple(c for c in scenario.consents if consent_active(c, scenario.today))

    assert scenario.decide() == scenario.decide(
        agreements=active_agreements, consents=active_consents
    )


@given(scenarios(), st.data())
def test_an_agreement_outside_its_validity_gives_the_same_result_as_removing_it(
    scenario: Scenario, data: st.DataObject
) -> None:
    assume(scenario.agreements)
    index = data.draw(st.integers(0, len(scenario.agreements) - 1), label="shifted")
    shifted = data.draw(
        st.sampled_from(
            (
                {
                    "valid_to": YESTERDAY,
                    "valid_from": min(scenario.agreements[index].valid_from, YESTERDAY),
                },
                {"valid_from": TOMORROW, "valid_to": None},
                {"status": "suspended"},
            )
        ),
        label="made inactive",
    )
    inactive = replace(scenario.agreements[index], **shifted)
    others = scenario.agreements[:index] + scenario.agreements[index + 1 :]

    assert scenario.decide(agreements=(*others, inactive)) == scenario.decide(agreements=others)


@given(scenarios(), st.data())
def test_a_consent_outside_its_validity_gives_the_same_result_as_removing_it(
    scenario: Scenario, data: st.DataObject
) -> None:
    assume(scenario.consents)
    index = data.draw(st.integers(0, len(scenario.consents) - 1), label="shifted")
    shifted = data.draw(
        st.sampled_from(
            (
                {"valid_from": days(-10), "valid_to": YESTERDAY},
                {"valid_from": TOMORROW, "valid_to": None},
                {"withdrawn": True},
            )
        ),
        label="made inactive",
    )
    inactive = replace(scenario.consents[index], **shifted)
    others = scenario.consents[:index] + scenario.consents[index + 1 :]

    assert scenario.decide(consents=(*others, inactive)) == scenario.decide(consents=others)


@given(scenarios(today=todays))
def test_disclosed_and_withheld_are_disjoint_and_cover_every_category(scenario: Scenario) -> None:
    decision = scenario.decide()
    withheld = [w.category for w in decision.withheld]

    assert len(withheld) == len(set(withheld))
    assert decision.disclosed.isdisjoint(withheld)
    assert decision.disclosed | set(withheld) == ALL_CATEGORIES
    assert withheld == sorted(withheld, key=list(Category).index)


@given(scenarios(today=todays))
def test_every_disclosure_rests_on_a_passing_grant_or_on_rule_0(scenario: Scenario) -> None:
    decision = scenario.decide()
    requester, today = scenario.requester, scenario.today
    passed_in = {a.id: a for a in scenario.agreements}
    consents_by_id = {c.id: c for c in scenario.consents}

    for basis in decision.bases:
        assert basis.category in decision.disclosed
    for category in decision.disclosed - {ADMIN}:
        granted = [b for b in bases_for(decision, category) if b.agreement is not None]
        if not supplied_by_requester(scenario, category):
            assert granted, f"{category} disclosed without a basis"
        for basis in granted:
            terms = passed_in[basis.agreement]
            assert basis.agreement_version == terms.version
            assert agreement_active(terms, today)
            assert addressed_to(terms, requester)
            assert requester.purpose in terms.purposes
            assert terms.provider == basis.supplier
            assert basis.supplier in design_suppliers(category, scenario.parties)
            assert Grant(category, LawfulBasis(basis.lawful_basis)) in terms.grants
            if basis.lawful_basis == CONSENT:
                permits = provisions_in_force(scenario, category, "permit")
                assert basis.consent in {c.id for c, _ in permits}
                assert basis.consent in consents_by_id
            else:
                assert basis.consent is None
            if basis.lawful_basis == VITAL_INTERESTS:
                assert requester.emergency
            if basis.lawful_basis not in DENY_PROOF:
                assert not provisions_in_force(scenario, category, "deny")
    if decision.sees(DISCLOSURES):
        own = {requester.agency} & design_suppliers(DISCLOSURES, scenario.parties)
        granted_from = {
            b.supplier for b in bases_for(decision, DISCLOSURES) if b.agreement is not None
        }
        assert decision.disclosure_entries_from == own | granted_from


def design_outcome(
    scenario: Scenario, category: Category, suppliers: set[UUID]
) -> WithholdReason | None:
    """Rule 2 for these suppliers' data, read literally: None when a grant passes, else the
    first reason that applies to their matching grants together."""
    requester, today = scenario.requester, scenario.today
    matching = [
        given_grant
        for terms in scenario.agreements
        if agreement_active(terms, today)
        and terms.provider in suppliers
        and addressed_to(terms, requester)
        and requester.purpose in terms.purposes
        for given_grant in terms.grants
        if given_grant.category == category
    ]
    if not matching:
        return NA
    denied = bool(provisions_in_force(scenario, category, "deny"))
    unblocked = [g for g in matching if not denied or g.lawful_basis in DENY_PROOF]
    if not unblocked:
        return CD
    permitted = bool(provisions_in_force(scenario, category, "permit"))
    for given_grant in unblocked:
        if given_grant.lawful_basis == CONSENT and not permitted:
            continue
        if given_grant.lawful_basis == VITAL_INTERESTS and not requester.emergency:
            continue
        return None
    if all(g.lawful_basis == VITAL_INTERESTS for g in unblocked):
        return EO
    return NC


def design_reason(scenario: Scenario, category: Category) -> WithholdReason | None:
    """The whole decision for one category, read literally: None when disclosed."""
    requester = scenario.requester
    own = supplied_by_requester(scenario, category)
    if category is ADMIN or own:
        return None
    if category in VICTIM_CONFIDENTIAL and requester.kind == PROGRAMME_PROVIDER:
        return VC
    suppliers = design_suppliers(category, scenario.parties) - {requester.agency}
    if any(design_outcome(scenario, category, {supplier}) is None for supplier in suppliers):
        return None
    # DESIGN.md's reasons speak of a category's matching grants, whoever supplies its data.
    return design_outcome(scenario, category, suppliers)


@settings(max_examples=400)
@given(scenarios(today=todays))
def test_each_category_gets_what_design_md_read_literally_gives_it(scenario: Scenario) -> None:
    decision = scenario.decide()
    expected = {category: design_reason(scenario, category) for category in Category}

    assert decision.disclosed == {c for c, reason in expected.items() if reason is None}
    assert reasons_of(decision) == {c: r for c, r in expected.items() if r is not None}
    if decision.sees(DISCLOSURES):
        requester = scenario.requester
        own = {requester.agency} & design_suppliers(DISCLOSURES, scenario.parties)
        passing = {
            supplier
            for supplier in design_suppliers(DISCLOSURES, scenario.parties) - own
            if design_outcome(scenario, DISCLOSURES, {supplier}) is None
        }
        if requester.kind == PROGRAMME_PROVIDER:
            passing = set()
        assert decision.disclosure_entries_from == own | passing
    else:
        assert decision.disclosure_entries_from is None


@given(scenarios(today=todays))
def test_an_emergency_never_discloses_less(scenario: Scenario) -> None:
    calm = scenario.decide(requester=replace(scenario.requester, emergency=False))
    urgent = scenario.decide(requester=replace(scenario.requester, emergency=True))

    assert_discloses_no_more(calm, urgent)
    # What only an emergency releases had a matching, unblocked vital_interests grant: for a
    # category with a single supplier it was withheld as emergency_only or no_consent.
    for category in urgent.disclosed - calm.disclosed - {DISCLOSURES}:
        assert reasons_of(calm)[category] in {EO, NC}


@settings(max_examples=50)
@given(scenarios(today=todays))
def test_what_is_disclosed_does_not_depend_on_the_order_of_agreements_and_consents(
    scenario: Scenario,
) -> None:
    forward = scenario.decide()
    backward = scenario.decide(
        agreements=scenario.agreements[::-1], consents=scenario.consents[::-1]
    )

    assert backward.disclosed == forward.disclosed
    assert [(w.category, w.reason) for w in backward.withheld] == [
        (w.category, w.reason) for w in forward.withheld
    ]
    assert backward.disclosure_entries_from == forward.disclosure_entries_from
