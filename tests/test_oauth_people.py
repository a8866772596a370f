"""People sign in with the authorization-code flow and PKCE (S256 only); introspection is the
hub operator's alone."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
from rest_framework.test import APIClient

from agencies.models import AgencyKind, Client, StaffMembership, StaffRole, User
from agencies.services import client_create
from audit.models import AccessRecord
from tests.conftest import basic_auth, request_token

pytestmark = pytest.mark.django_db

REDIRECT = "https://case-system.example/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def people_app(make_agency):
    agency = make_agency(kind=AgencyKind.PROBATION)
    issued = client_create(
        agency_id=agency.id,
        scopes=["referrals:read"],
        purpose="risk_management",
        grant_type=Client.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT,
    )
    return issued


def staff_member(agency, username="officer"):
    user = User.objects.create_user(username=username, password="a-long-test-password")
    StaffMembership.objects.create(user=user, agency=agency, role=StaffRole.PRACTITIONER)
    return user


def authorize(browser, app, challenge, method="S256"):
    return browser.post(
        "/o/authorize/",
        {
            "client_id": app.client.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "referrals:read",
            "code_challenge": challenge,
            "code_challenge_method": method,
            "allow": "Authorize",
        },
    )


def exchange(app, code, verifier):
    return APIClient().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        format="multipart",
        HTTP_AUTHORIZATION=basic_auth(app.client.client_id, app.client_secret),
    )


def test_staff_member_gets_a_token_that_acts_for_the_agency_and_names_the_person(
    client, people_app
):
    user = staff_member(people_app.client.agency)
    client.force_login(user)
    verifier, challenge = pkce_pair()

    redirected = authorize(client, people_app, challenge)
    code = parse_qs(urlparse(redirected["Location"]).query)["code"][0]
    token = exchange(people_app, code, verifier)

    assert token.status_code == 200, token.content
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access_token']}")
    assert api.get("/api/v1/referrals/").status_code == 200
    record = AccessRecord.objects.get()
    assert record.agency_id == people_app.client.agency_id
    assert record.person == str(user.id)


def test_authorization_without_pkce_is_refused(client, people_app):
    client.force_login(staff_member(people_app.client.agency))

    response = client.get(
        "/o/authorize/",
        {
            "client_id": people_app.client.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
        },
    )

    location = response.get("Location", "")
    assert "code=" not in location
    assert response.status_code in (302, 400)


def test_plain_pkce_is_refused(client, people_app):
    client.force_login(staff_member(people_app.client.agency))
    verifier, _ = pkce_pair()

    response = authorize(client, people_app, verifier, method="plain")

    assert "code=" not in response.get("Location", "")


def test_a_person_who_is_not_staff_of_the_clients_agency_gets_no_token(
    client, people_app, make_agency
):
    outsider = staff_member(make_agency(kind=AgencyKind.POLICE), username="outsider")
    client.force_login(outsider)
    verifier, challenge = pkce_pair()

    redirected = authorize(client, people_app, challenge)
    code = parse_qs(urlparse(redirected["Location"]).query)["code"][0]
    token = exchange(people_app, code, verifier)

    assert token.status_code == 400
    assert token.json()["error"] == "invalid_grant"


def test_authorization_asks_an_anonymous_person_to_sign_in(client, people_app):
    _, challenge = pkce_pair()

    response = authorize(client, people_app, challenge)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- introspection ------------------------------------------------------------------------------


def introspect(caller, token):
    return APIClient().post(
        "/o/introspect/",
        {"token": token},
        format="multipart",
        HTTP_AUTHORIZATION=basic_auth(caller.client.client_id, caller.client_secret),
    )


@pytest.fixture
def some_token(make_agency):
    agency = make_agency(kind=AgencyKind.POLICE)
    issued = client_create(
        agency_id=agency.id, scopes=["referrals:read"], purpose="risk_management"
    )
    return request_token(issued.client.client_id, issued.client_secret).json()["access_token"]


def test_hub_operator_may_introspect_any_token(make_agency, some_token):
    operator = client_create(
        agency_id=make_agency(kind=AgencyKind.HUB_OPERATOR).id,
        scopes=["audit:read"],
        purpose="audit",
    )

    response = introspect(operator, some_token)

    assert response.status_code == 200
    assert response.json()["active"] is True
    assert response.json()["scope"] == "referrals:read"


@pytest.mark.parametrize(
    "kind", [AgencyKind.POLICE, AgencyKind.PROBATION, AgencyKind.VICTIM_SERVICE]
)
def test_no_other_agency_may_introspect(make_agency, some_token, kind):
    other = client_create(
        agency_id=make_agency(kind=kind).id, scopes=["referrals:read"], purpose="risk_management"
    )

    response = introspect(other, some_token)

    assert response.status_code == 403
    assert "active" not in response.json()


def test_introspection_without_client_credentials_is_refused(some_token):
    response = APIClient().post(
        "/o/introspect/",
        {"token": some_token},
        format="multipart",
        HTTP_AUTHORIZATION=f"Bearer {some_token}",
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    "path",
    ["/o/applications/", "/o/authorized_tokens/", "/o/device-authorization/", "/o/register/"],
)
def test_oauth_endpoints_the_hub_does_not_need_are_not_mounted(client, path):
    assert client.get(path).status_code == 404
