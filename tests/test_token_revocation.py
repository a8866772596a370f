"""Tokens outlive none of their reasons (issue 12, item 4): deactivating a person, a client or an
agency revokes their tokens at once, and a replayed authorization code revokes what its first
exchange issued (RFC 6749 section 4.1.2). Every check goes through /o/token/ and the API."""

import datetime
import hashlib
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from rest_framework.test import APIClient

from agencies.models import AgencyKind, CodeExchange, StaffMembership, StaffRole, User
from tests.conftest import basic_auth, request_token
from tests.test_oauth_people import (
    authorize,
    exchange,
    people_app,  # noqa: F401 (a fixture)
    pkce_pair,
    staff_member,
)

pytestmark = pytest.mark.django_db

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def code_for(browser, app, user):
    browser.force_login(user)
    verifier, challenge = pkce_pair()
    redirected = authorize(browser, app, challenge)
    return parse_qs(urlparse(redirected["Location"]).query)["code"][0], verifier


def signed_in(browser, app, user):
    """The access and refresh tokens a staff member gets through authorize and /o/token/."""
    code, verifier = code_for(browser, app, user)
    response = exchange(app, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()


def refresh(app, refresh_token):
    return APIClient().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        format="multipart",
        HTTP_AUTHORIZATION=basic_auth(app.client.client_id, app.client_secret),
    )


def api_status(access_token):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return api.get("/api/v1/referrals/").status_code


def assert_refused(app, tokens, error="invalid_grant"):
    """The access token is refused by the API and the refresh token mints nothing."""
    assert api_status(tokens["access_token"]) == 401
    response = refresh(app, tokens["refresh_token"])
    assert response.status_code in (400, 401)
    assert response.json()["error"] == error
    assert "access_token" not in response.json()


def assert_usable(app, tokens):
    """The access token works and the refresh token mints a new pair; returns the new pair."""
    assert api_status(tokens["access_token"]) == 200
    response = refresh(app, tokens["refresh_token"])
    assert response.status_code == 200, response.content
    return response.json()


def assert_nothing_live(**which):
    assert not AccessToken.objects.filter(**which).exists()
    assert not RefreshToken.objects.filter(revoked__isnull=True, **which).exists()


# --- people ---------------------------------------------------------------------------------------


def test_deactivating_a_staff_member_revokes_their_tokens_at_once(client, people_app):  # noqa: F811
    user = staff_member(people_app.client.agency)
    tokens = signed_in(client, people_app, user)

    user.is_active = False
    user.save()

    assert_nothing_live(user=user)
    assert_refused(people_app, tokens)
    # Revoked, not merely refused while inactive: reactivating brings none of them back.
    user.is_active = True
    user.save()
    assert_refused(people_app, tokens)


def test_removing_a_staff_membership_revokes_the_persons_tokens(client, people_app):  # noqa: F811
    agency = people_app.client.agency
    user = staff_member(agency)
    tokens = signed_in(client, people_app, user)

    user.membership.delete()

    assert_nothing_live(user=user)
    StaffMembership.objects.create(user=user, agency=agency, role=StaffRole.PRACTITIONER)
    assert_refused(people_app, tokens)


def test_moving_a_staff_member_to_another_agency_revokes_their_tokens(
    client,
    people_app,  # noqa: F811
    make_agency,
):
    user = staff_member(people_app.client.agency)
    tokens = signed_in(client, people_app, user)
    membership = user.membership

    membership.agency = make_agency(kind=AgencyKind.POLICE)
    membership.save()

    assert_nothing_live(user=user)
    membership.agency = people_app.client.agency
    membership.save()
    assert_refused(people_app, tokens)


def test_a_refresh_token_of_someone_deactivated_without_a_save_mints_nothing(
    client,
    people_app,  # noqa: F811
):
    # A queryset update sends no signal, so nothing is revoked; the validator still refuses.
    user = staff_member(people_app.client.agency)
    tokens = signed_in(client, people_app, user)

    User.objects.filter(pk=user.pk).update(is_active=False)

    response = refresh(people_app, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert AccessToken.objects.filter(user=user).count() == 1  # only the first one


# --- clients ----------------------------------------------------------------------------------


def test_deactivating_a_client_revokes_its_own_tokens_and_its_credentials_get_none(
    api_client_for, make_agency
):
    api = api_client_for(make_agency(kind=AgencyKind.PROBATION), scopes=["referrals:read"])
    oauth_client = api.oauth_client
    assert api_status(api.access_token) == 200

    oauth_client.active = False
    oauth_client.save()

    assert_nothing_live(application=oauth_client)
    assert api_status(api.access_token) == 401
    refused = request_token(oauth_client.client_id, "whatever-the-secret")
    assert refused.status_code == 401
    oauth_client.active = True
    oauth_client.save()
    assert api_status(api.access_token) == 401


def test_a_deactivated_client_gets_no_token_for_its_real_credentials(make_agency):
    from agencies.services import client_create

    issued = client_create(
        agency_id=make_agency(kind=AgencyKind.PROBATION).id,
        scopes=["referrals:read"],
        purpose="risk_management",
    )
    issued.client.active = False
    issued.client.save()

    response = request_token(issued.client.client_id, issued.client_secret)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_deactivating_a_client_revokes_the_tokens_people_got_through_it(client, people_app):  # noqa: F811
    user = staff_member(people_app.client.agency)
    tokens = signed_in(client, people_app, user)

    people_app.client.active = False
    people_app.client.save()

    assert_nothing_live(application=people_app.client)
    assert_refused(people_app, tokens, error="invalid_client")
    people_app.client.active = True
    people_app.client.save()
    assert_refused(people_app, tokens)


# --- agencies ---------------------------------------------------------------------------------


def test_deactivating_an_agency_revokes_the_tokens_of_every_client_it_has(
    client,
    people_app,  # noqa: F811
    api_client_for,
    make_agency,
):
    agency = people_app.client.agency
    tokens = signed_in(client, people_app, staff_member(agency))
    machine = api_client_for(agency, scopes=["referrals:read"])
    elsewhere = api_client_for(make_agency(kind=AgencyKind.POLICE), scopes=["referrals:read"])

    agency.active = False
    agency.save()

    assert_nothing_live(application__agency=agency)
    agency.active = True
    agency.save()
    assert_refused(people_app, tokens)
    assert api_status(machine.access_token) == 401
    # Another agency's tokens are untouched.
    assert api_status(elsewhere.access_token) == 200


# --- unrelated saves ----------------------------------------------------------------------------


def test_saves_that_deactivate_nothing_revoke_nothing(
    client,
    people_app,  # noqa: F811
    api_client_for,
):
    agency = people_app.client.agency
    user = staff_member(agency)
    tokens = signed_in(client, people_app, user)
    machine = api_client_for(agency, scopes=["referrals:read"])
    last_login = User.objects.get(pk=user.pk).last_login

    client.force_login(user)  # a sign-in saves last_login (update_fields=["last_login"])
    user.refresh_from_db()
    user.first_name = "Renamed"
    user.save()
    people_app.client.name = "Renamed case system"
    people_app.client.save()
    agency.name = "Renamed agency"
    agency.save()
    membership = user.membership
    membership.role = StaffRole.MANAGER
    membership.save()
    StaffMembership.objects.get(pk=membership.pk).save()

    assert user.last_login > last_login
    assert api_status(machine.access_token) == 200
    assert_usable(people_app, tokens)


# --- authorization code replay (RFC 6749 section 4.1.2) -------------------------------------------


def test_a_replayed_code_is_refused_and_revokes_what_its_first_exchange_issued(
    client,
    people_app,  # noqa: F811
):
    code, verifier = code_for(client, people_app, staff_member(people_app.client.agency))
    first = exchange(people_app, code, verifier)
    assert first.status_code == 200
    assert api_status(first.json()["access_token"]) == 200

    replay = exchange(people_app, code, verifier)

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert "access_token" not in replay.json()
    assert_refused(people_app, first.json())


def test_a_replayed_code_also_revokes_the_tokens_refreshed_from_its_first_exchange(
    client,
    people_app,  # noqa: F811
):
    code, verifier = code_for(client, people_app, staff_member(people_app.client.agency))
    first = exchange(people_app, code, verifier).json()
    refreshed = assert_usable(people_app, first)
    assert api_status(refreshed["access_token"]) == 200

    assert exchange(people_app, code, verifier).json()["error"] == "invalid_grant"

    assert_refused(people_app, refreshed)
    assert not CodeExchange.objects.exists()


def test_a_replay_revokes_nothing_of_another_code(client, people_app):  # noqa: F811
    user = staff_member(people_app.client.agency)
    code, verifier = code_for(client, people_app, user)
    exchange(people_app, code, verifier)
    other = signed_in(client, people_app, user)

    exchange(people_app, code, verifier)

    assert_usable(people_app, other)


def test_only_a_digest_of_the_code_is_remembered(client, people_app):  # noqa: F811
    code, verifier = code_for(client, people_app, staff_member(people_app.client.agency))
    exchange(people_app, code, verifier)

    remembered = CodeExchange.objects.get()

    assert remembered.code_digest == hashlib.sha256(code.encode()).hexdigest()
    assert code not in str(list(CodeExchange.objects.values_list()))


def test_an_exchange_is_forgotten_once_its_tokens_can_no_longer_be_used(
    client,
    people_app,  # noqa: F811
    settings,
):
    user = staff_member(people_app.client.agency)
    code, verifier = code_for(client, people_app, user)
    exchange(people_app, code, verifier)
    remembered = CodeExchange.objects.get()
    # Its access token expired longer ago than a refresh token outlives it.
    lifetime = settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"]
    AccessToken.objects.filter(pk=remembered.access_token_id).update(
        expires=timezone.now() - datetime.timedelta(seconds=lifetime + 1)
    )

    signed_in(client, people_app, user)  # the next exchange sweeps

    assert not CodeExchange.objects.filter(pk=remembered.pk).exists()
    assert CodeExchange.objects.count() == 1  # the new exchange's


def test_an_exchange_whose_tokens_live_on_is_kept(client, people_app):  # noqa: F811
    user = staff_member(people_app.client.agency)
    code, verifier = code_for(client, people_app, user)
    first = exchange(people_app, code, verifier).json()
    assert_usable(people_app, first)  # rotation: the first access token is gone, the family lives

    signed_in(client, people_app, user)

    assert CodeExchange.objects.count() == 2
