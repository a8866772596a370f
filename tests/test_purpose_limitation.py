"""Purpose limitation and scope ceilings (issue 12, item 1; DESIGN.md, *Agencies and
authentication* and *The disclosure decision*).

A client declares only the purposes it was registered for; any other `X-Purpose` is a 403
problem, recorded; `audit` needs `audit:read`. An agency's kind caps the scopes its clients may be
registered with, refused when the client is created (command line and admin alike).
"""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agencies.models import AgencyKind, Client, StaffMembership, StaffRole, User
from agencies.registration import ALL_SCOPES, SCOPE_CEILINGS
from audit.models import AccessRecord
from tests.conftest import SchemaCheckedClient, agreement_body, referral_body, request_token

POLICE = AgencyKind.POLICE
PROBATION = AgencyKind.PROBATION


def client_with_token(agency, *, scopes, purpose, purposes, token_scope=None):
    out = StringIO()
    args = ["--agency", str(agency.id), "--scopes", " ".join(scopes), "--purpose", purpose]
    call_command("create_client", *args, "--purposes", " ".join(purposes), stdout=out)
    issued = json.loads(out.getvalue())
    form = {"scope": token_scope} if token_scope else {}
    token = request_token(issued["client_id"], issued["client_secret"], **form)
    assert token.status_code == 200, token.content
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access_token']}")
    return client


@pytest.fixture
def police_observed_referral(api_client_for, world):
    """Probation refers with the police observing, and shares the partner's identity with the
    police for risk management only."""
    probation = api_client_for(world[PROBATION])
    created = probation.post(
        "/api/v1/referrals/",
        referral_body(world["programme"].id, observers=[str(world[POLICE].id)]),
        format="json",
    )
    assert created.status_code == 201, created.content
    shared = probation.post(
        "/api/v1/sharing-agreements/",
        agreement_body(world[PROBATION], world[POLICE], ["partner.identity"], ["risk_management"]),
        format="json",
    )
    assert shared.status_code == 201, shared.content
    return created.json()["id"]


def test_a_client_registered_for_marac_cannot_claim_risk_management(
    world, police_observed_referral
):
    police = client_with_token(
        world[POLICE], scopes=["referrals:read"], purpose="marac", purposes=["marac"]
    )
    path = f"/api/v1/referrals/{police_observed_referral}/"

    claimed = police.get(path, HTTP_X_PURPOSE="risk_management")
    own = police.get(path, HTTP_X_PURPOSE="marac")

    assert claimed.status_code == 403
    assert claimed["Content-Type"] == "application/problem+json"
    assert "risk_management" in claimed.json()["detail"]
    assert "Beth" not in claimed.content.decode()
    assert own.status_code == 200
    assert "partner" not in own.json()
    assert {"category": "partner.identity", "reason": "no_agreement"} in own.json()["withheld"]
    refused = AccessRecord.objects.get(status=403, path=path)
    assert (refused.outcome, refused.flagged, refused.purpose) == ("refused", True, "")
    assert refused.disclosed == []


def test_a_registered_purpose_other_than_the_default_is_honoured(world, police_observed_referral):
    police = client_with_token(
        world[POLICE],
        scopes=["referrals:read"],
        purpose="marac",
        purposes=["marac", "risk_management"],
    )

    response = police.get(
        f"/api/v1/referrals/{police_observed_referral}/", HTTP_X_PURPOSE="risk_management"
    )

    assert response.status_code == 200
    assert response.json()["partner"]["identity"]["name"] == "Beth Private"


def test_audit_is_declared_only_with_a_token_that_carries_audit_read(
    world, police_observed_referral
):
    dpo_client_with_narrow_token = client_with_token(
        world[POLICE],
        scopes=["referrals:read", "audit:read"],
        purpose="marac",
        purposes=["marac"],
        token_scope="referrals:read",
    )

    response = dpo_client_with_narrow_token.get(
        f"/api/v1/referrals/{police_observed_referral}/", HTTP_X_PURPOSE="audit"
    )

    assert response.status_code == 403
    assert "audit:read" in response.json()["detail"]


def test_a_client_holding_audit_read_may_always_declare_audit(world):
    out = StringIO()
    call_command(
        "create_client",
        "--agency",
        str(world[POLICE].id),
        "--scopes",
        "audit:read",
        "--purpose",
        "marac",
        stdout=out,
    )

    client = Client.objects.get(client_id=json.loads(out.getvalue())["client_id"])
    assert client.purpose_list == ["audit", "marac"]


@pytest.mark.parametrize(
    ("scopes", "purposes", "message"),
    [
        ("referrals:read", "audit", "audit:read"),
        ("referrals:read", "snooping", "snooping"),
        ("referrals:read sudo", "marac", "sudo"),
    ],
)
def test_create_client_refuses_a_purpose_or_scope_it_may_not_have(world, scopes, purposes, message):
    before = Client.objects.count()

    with pytest.raises(CommandError, match=message):
        call_command(
            "create_client",
            "--agency",
            str(world[POLICE].id),
            "--scopes",
            scopes,
            "--purposes",
            purposes,
            stdout=StringIO(),
        )

    assert Client.objects.count() == before


@pytest.mark.parametrize("kind", list(AgencyKind))
@pytest.mark.parametrize("scope", sorted(ALL_SCOPES))
def test_each_kind_is_registered_with_a_scope_only_within_its_ceiling(make_agency, kind, scope):
    agency = make_agency(kind=kind)
    args = ["--agency", str(agency.id), "--scopes", scope]

    if scope in SCOPE_CEILINGS[kind]:
        out = StringIO()
        call_command("create_client", *args, stdout=out)
        client = Client.objects.get(client_id=json.loads(out.getvalue())["client_id"])
        assert client.scope_list == [scope]
    else:
        with pytest.raises(CommandError, match="may not hold"):
            call_command("create_client", *args, stdout=StringIO())
        assert not Client.objects.filter(agency=agency).exists()


def test_the_hub_operator_holds_no_referral_or_consent_scope():
    ceiling = SCOPE_CEILINGS[AgencyKind.HUB_OPERATOR]

    assert ceiling == {"policies:read", "policies:write", "audit:read"}
    for kind in AgencyKind:
        assert "audit:read" in SCOPE_CEILINGS[kind], "any agency's DPO client may audit"


@pytest.fixture
def operator_admin(client, world):
    user = User.objects.create_user(username="operator-admin", password="x", is_staff=True)
    user.is_superuser = True
    user.save()
    StaffMembership.objects.create(
        user=user, agency=world[AgencyKind.HUB_OPERATOR], role=StaffRole.ADMINISTRATOR
    )
    client.force_login(user)
    return client


def admin_add_client(browser, agency, scopes, purposes, default_purpose=""):
    return browser.post(
        "/admin/agencies/client/add/",
        {
            "name": "Registered in the admin",
            "agency": str(agency.id),
            "active": "on",
            "client_type": Client.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Client.GRANT_CLIENT_CREDENTIALS,
            "redirect_uris": "",
            "scopes": scopes,
            "purposes": purposes,
            "default_purpose": default_purpose,
        },
    )


def test_the_admin_refuses_a_scope_beyond_the_kinds_ceiling(operator_admin, world):
    response = admin_add_client(
        operator_admin, world[AgencyKind.HUB_OPERATOR], "referrals:read", "audit"
    )

    assert response.status_code == 200
    assert "may not hold" in response.content.decode()
    assert not Client.objects.filter(name="Registered in the admin").exists()


def test_the_admin_refuses_audit_without_audit_read(operator_admin, world):
    response = admin_add_client(operator_admin, world[POLICE], "referrals:read", "audit marac")

    assert response.status_code == 200
    assert "audit:read" in response.content.decode()
    assert not Client.objects.filter(name="Registered in the admin").exists()


def test_the_admin_registers_a_client_with_its_default_among_its_purposes(operator_admin, world):
    response = admin_add_client(
        operator_admin, world[POLICE], "referrals:read", "marac", default_purpose="risk_management"
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    client = Client.objects.get(name="Registered in the admin")
    assert client.purpose_list == ["marac", "risk_management"]
