"""Small protocol faults (issue 11, item 6): what Accept, HEAD, OPTIONS and If-Match get.

- A success is never labelled a problem: a client that accepts only application/problem+json
  gets its success as plain application/json (RFC 9110 lets a server disregard Accept; errors
  stay problems whatever Accept says).
- HEAD needs GET's scopes and is served and recorded like GET, without a body; OPTIONS needs a
  valid token and no scope, answers the Allow header and reads nothing.
- If-Match: * is a 428 (the lost-update guard needs the ETag read); a weak validator never
  matches (strong comparison, RFC 9110 13.1.1).

HEAD and OPTIONS are not operations in the schema, so those requests go through a plain client.
"""

import json

import pytest
from rest_framework.test import APIClient

from agencies.models import AgencyKind
from audit.models import AccessRecord
from referrals.models import Referral
from tests.conftest import referral_body

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
REFERRALS = "/api/v1/referrals/"
AMENDMENT = {"risk": {"summary": "Calmer since the spring."}, "amendment_reason": "Review."}


def plain(client) -> APIClient:
    """The same token without the schema check."""
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {client.access_token}")
    return other


def new_records(before: set) -> list[AccessRecord]:
    return list(AccessRecord.objects.exclude(id__in=before).order_by("at"))


def record_ids() -> set:
    return set(AccessRecord.objects.values_list("id", flat=True))


@pytest.fixture
def referrer(api_client_for, world):
    return api_client_for(world[AgencyKind.PROBATION])


@pytest.fixture
def referral(referrer, world):
    created = referrer.post(REFERRALS, referral_body(world["programme"].id), format="json")
    assert created.status_code == 201, created.content
    return {"url": f"{REFERRALS}{created.json()['id']}/", "etag": created["ETag"]}


def media_type(response) -> str:
    return response["Content-Type"].split(";")[0].strip()


# --- Accept: application/problem+json ------------------------------------------------------------


def test_a_read_accepting_only_problem_json_is_served_as_plain_json(referrer, referral):
    response = referrer.get(referral["url"], HTTP_ACCEPT=PROBLEM)

    assert response.status_code == 200
    assert media_type(response) == "application/json"
    assert response.json()["id"] in referral["url"]


@pytest.mark.parametrize("path", [REFERRALS, "/api/v1/agencies/", "/api/v1/referrals/states/"])
def test_a_list_accepting_only_problem_json_is_never_labelled_a_problem(referrer, path):
    response = referrer.get(path, HTTP_ACCEPT=PROBLEM)

    assert response.status_code == 200
    assert media_type(response) == "application/json"


def test_an_error_accepting_only_json_is_still_a_problem(referrer):
    response = referrer.get(f"{REFERRALS}00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404
    assert media_type(response) == PROBLEM


# --- HEAD ----------------------------------------------------------------------------------------


def test_head_on_a_referral_is_served_like_get_without_a_body_and_recorded(referrer, referral):
    before = record_ids()

    response = plain(referrer).head(referral["url"])

    assert response.status_code == 200
    assert response.content == b""
    assert response["ETag"] == referral["etag"]
    assert response.get("Cache-Control") == referrer.get(referral["url"]).get("Cache-Control")
    (record, _get) = new_records(before)
    assert (record.method, record.outcome, record.status, record.flagged) == (
        "HEAD",
        "served",
        200,
        False,
    )
    assert [str(r) for r in record.referrals] == [referral["url"].split("/")[-2]]


@pytest.mark.parametrize("path", [REFERRALS, "/api/v1/consents/", "/api/v1/audit/events/"])
def test_head_with_every_scope_is_served_on_scoped_lists(referrer, path):
    response = plain(referrer).head(path, HTTP_X_PURPOSE="audit" if "audit" in path else None)

    assert response.status_code == 200, response.content
    assert response.content == b""


def test_head_needs_the_scopes_of_get(api_client_for, world, referral):
    writer = api_client_for(world[AgencyKind.PROBATION], scopes=["referrals:write"])
    before = record_ids()

    response = plain(writer).head(referral["url"])

    assert response.status_code == 403
    (record,) = new_records(before)
    assert (record.method, record.outcome, record.flagged) == ("HEAD", "refused", True)


# --- OPTIONS -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("{referral}", {"GET", "HEAD", "PATCH", "OPTIONS"}),
        (REFERRALS, {"GET", "HEAD", "POST", "OPTIONS"}),
        ("/api/v1/consents/", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("/api/v1/audit/events/", {"GET", "HEAD", "OPTIONS"}),
        ("/api/v1/sharing-agreements/", {"GET", "HEAD", "POST", "OPTIONS"}),
    ],
)
def test_options_answers_what_the_endpoint_allows_and_records_nothing(
    referrer, referral, path, allowed
):
    before = record_ids()

    response = plain(referrer).options(path.format(referral=referral["url"]))

    assert response.status_code == 204, response.content
    assert response.content == b""
    assert {m.strip() for m in response["Allow"].split(",")} == allowed
    assert new_records(before) == []


def test_options_needs_a_token_but_no_scope(api_client_for, world, referral):
    scopeless = api_client_for(world[AgencyKind.PROBATION], scopes=["consent:read"], purpose=None)

    with_token = plain(scopeless).options(referral["url"])
    without = APIClient().options(referral["url"])

    assert with_token.status_code == 204
    assert without.status_code == 401
    assert media_type(without) == PROBLEM


# --- If-Match ------------------------------------------------------------------------------------


def test_if_match_star_is_a_428_asking_for_the_etag_read(referrer, referral):
    before = Referral.objects.get().risk

    response = referrer.patch(referral["url"], AMENDMENT, format="json", HTTP_IF_MATCH="*")

    assert response.status_code == 428
    assert media_type(response) == PROBLEM
    assert "ETag" in json.loads(response.content)["detail"]
    assert Referral.objects.get().risk == before


def test_weak_if_match_never_matches(referrer, referral):
    response = referrer.patch(
        referral["url"], AMENDMENT, format="json", HTTP_IF_MATCH=f"W/{referral['etag']}"
    )

    assert response.status_code == 412
    assert media_type(response) == PROBLEM


def test_the_strong_etag_read_still_matches(referrer, referral):
    response = referrer.patch(
        referral["url"], AMENDMENT, format="json", HTTP_IF_MATCH=f'"other", {referral["etag"]}'
    )

    assert response.status_code == 200, response.content
    assert response.json()["risk"]["summary"] == "Calmer since the spring."
