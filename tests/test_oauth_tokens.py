"""Tokens from /o/token/: client credentials, registered scopes, revocation, inactive agencies."""

import pytest

from agencies.models import AgencyKind
from agencies.services import client_create
from tests.conftest import basic_auth, request_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def probation_client(make_agency):
    agency = make_agency(kind=AgencyKind.PROBATION)
    return client_create(agency_id=agency.id, scopes=["referrals:read"], purpose="risk_management")


def test_client_credentials_issue_a_bearer_token(probation_client):
    response = request_token(probation_client.client.client_id, probation_client.client_secret)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "referrals:read"
    assert 0 < body["expires_in"] <= 900
    assert "refresh_token" not in body


def test_wrong_secret_gets_no_token(probation_client):
    response = request_token(probation_client.client.client_id, "not-the-secret")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unknown_client_gets_no_token():
    response = request_token("no-such-client", "whatever")

    assert response.status_code == 401


def test_token_asked_for_with_no_scope_carries_exactly_the_registered_scopes(probation_client):
    response = request_token(probation_client.client.client_id, probation_client.client_secret)

    assert response.json()["scope"].split() == ["referrals:read"]


def test_token_asked_for_with_more_than_the_registered_scopes_is_refused(probation_client):
    response = request_token(
        probation_client.client.client_id,
        probation_client.client_secret,
        scope="referrals:read audit:read",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_token_asked_for_with_a_subset_carries_only_that_subset(make_agency):
    agency = make_agency(kind=AgencyKind.PROBATION)
    issued = client_create(
        agency_id=agency.id, scopes=["referrals:read", "referrals:write"], purpose="risk_management"
    )

    response = request_token(issued.client.client_id, issued.client_secret, scope="referrals:read")

    assert response.json()["scope"] == "referrals:read"


def test_client_secret_is_stored_hashed(probation_client):
    probation_client.client.refresh_from_db()

    assert probation_client.client.client_secret != probation_client.client_secret
    assert probation_client.client.client_secret.startswith("sha256_client_secret$")


def test_access_token_is_stored_hashed(probation_client, django_db_blocker):
    from oauth2_provider.models import get_access_token_model

    token = request_token(probation_client.client.client_id, probation_client.client_secret).json()[
        "access_token"
    ]

    stored = get_access_token_model().objects.get()
    assert stored.token != token


def test_revoked_token_stops_working_at_once(api_client_for, make_agency):
    agency = make_agency(kind=AgencyKind.PROBATION)
    client = api_client_for(agency, scopes=["referrals:read"])
    assert client.get("/api/v1/referrals/").status_code == 200

    from rest_framework.test import APIClient

    revoke = APIClient().post(
        "/o/revoke_token/",
        {"token": client.access_token},
        format="multipart",
        HTTP_AUTHORIZATION=basic_auth(client.oauth_client.client_id, "wrong"),
    )
    assert revoke.status_code == 401  # only the client itself may revoke

    client.oauth_client.refresh_from_db()
    from oauth2_provider.models import get_access_token_model

    get_access_token_model().objects.filter(application=client.oauth_client).first().revoke()
    assert client.get("/api/v1/referrals/").status_code == 401


def test_client_of_an_inactive_agency_gets_no_token(probation_client):
    agency = probation_client.client.agency
    agency.active = False
    agency.save()

    response = request_token(probation_client.client.client_id, probation_client.client_secret)

    assert response.status_code == 401


def test_tokens_of_a_deactivated_agency_stop_working(api_client_for, make_agency):
    agency = make_agency(kind=AgencyKind.PROBATION)
    client = api_client_for(agency, scopes=["referrals:read"])
    assert client.get("/api/v1/referrals/").status_code == 200

    agency.active = False
    agency.save()

    response = client.get("/api/v1/referrals/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
