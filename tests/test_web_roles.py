"""What a person may act for on the web pages (agencies.roles), over every agency kind and staff
role: a data-protection officer audits and nothing else; nobody else may declare `audit` or hold
`audit:read`; every scope is within the kind's ceiling; the hub operator's other staff act for
no purpose (it is party to no referral)."""

import pytest

from agencies.models import AgencyKind, StaffRole
from agencies.registration import AUDIT_SCOPE, SCOPE_CEILINGS
from agencies.roles import web_purposes, web_scopes
from core.vocabulary import Purpose

EVERY = [(kind, role) for kind in AgencyKind for role in StaffRole]


@pytest.mark.parametrize(("kind", "role"), EVERY)
def test_each_role_acts_only_within_its_kinds_ceiling(kind, role):
    scopes = web_scopes(kind, role)
    purposes = web_purposes(kind, role)

    assert scopes <= SCOPE_CEILINGS[kind]
    assert len(set(purposes)) == len(purposes)
    if role == StaffRole.DATA_PROTECTION_OFFICER:
        assert purposes == (Purpose.AUDIT,)
    else:
        assert Purpose.AUDIT not in purposes
        assert AUDIT_SCOPE not in scopes


@pytest.mark.parametrize("role", [r for r in StaffRole if r != StaffRole.DATA_PROTECTION_OFFICER])
def test_the_hub_operators_staff_act_for_no_referral_purpose(role):
    assert web_purposes(AgencyKind.HUB_OPERATOR, role) == ()


@pytest.mark.parametrize(
    ("kind", "first"),
    [
        (AgencyKind.PROBATION, Purpose.RISK_MANAGEMENT),
        (AgencyKind.PROGRAMME_PROVIDER, Purpose.PROGRAMME_DELIVERY),
        (AgencyKind.VICTIM_SERVICE, Purpose.PARTNER_SAFETY),
        (AgencyKind.COURT, Purpose.COURT_COMPLIANCE),
    ],
)
def test_a_practitioner_starts_with_their_kinds_own_purpose(kind, first):
    assert web_purposes(kind, StaffRole.PRACTITIONER)[0] == first


def test_a_programme_provider_never_acts_for_partner_safety():
    for role in StaffRole:
        assert Purpose.PARTNER_SAFETY not in web_purposes(AgencyKind.PROGRAMME_PROVIDER, role)
