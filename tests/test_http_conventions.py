"""HTTP conventions: problem bodies, status order (401, 403, then the rest), request ids,
body limits, throttling, health probes, and that a refused request writes nothing but its
access record.

Everything goes over HTTP with real tokens from /o/token/.
"""

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from rest_framework.test import APIClient

from agencies.models import AgencyKind
from audit.models import AccessRecord
from referrals.models import Modality, PartnerDisclosure, Person, PersonIdentifier, Referral
from tests import factories
from tests.conftest import SchemaCheckedClient, basic_auth, referral_body

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
REFERRALS = "/api/v1/referrals/"
AGENCIES = "/api/v1/agencies/"
PROBLEM_KEYS = {"type", "title", "status", "detail"}
# Rows that a refused request must never write (its access record aside).
DOMAIN_MODELS = (Referral, Person, PersonIdentifier, PartnerDisclosure, LogEntry)


# --- helpers -------------------------------------------------------------------------------------


def assert_problem(response: Any, status: int, *, validation: bool = False) -> dict[str, Any]:
    """An RFC 9457 problem with the given status; with `validation`, a well-formed `errors`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].split(";")[0].strip() == PROBLEM
    body = json.loads(response.content)
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if validation:
        assert isinstance(body.get("errors"), list) and body["errors"], body
        for error in body["errors"]:
            assert set(error) == {"field", "message"}, error
            assert isinstance(error["field"], str)
            assert isinstance(error["message"], str) and error["message"]
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


class Ledger:
    """What the database holds now, to prove what a request did (not) write."""

    def __init__(self) -> None:
        self.counts = self._counts()
        self.records = set(AccessRecord.objects.values_list("id", flat=True))

    @staticmethod
    def _counts() -> dict[str, int]:
        return {model.__name__: model.objects.count() for model in DOMAIN_MODELS}

    def new_access_records(self) -> list[AccessRecord]:
        return list(AccessRecord.objects.exclude(id__in=self.records))

    def assert_no_domain_writes(self) -> None:
        assert self._counts() == self.counts

    def assert_nothing_written(self) -> None:
        self.assert_no_domain_writes()
        assert self.new_access_records() == []

    def assert_only_access_record(
        self, status: int, outcome: str = "refused", *, by: Any = None
    ) -> AccessRecord:
        """Exactly one new access record, with this status and outcome, and nothing else.

        With `by` (a client from `api_client_for`), the record names its agency and client.
        """
        self.assert_no_domain_writes()
        records = self.new_access_records()
        assert len(records) == 1, [(r.method, r.path, r.status) for r in records]
        record = records[0]
        assert record.status == status
        assert record.outcome == outcome
        if by is not None:
            assert record.agency_id == by.agency.id
            assert record.client == by.oauth_client.client_id
        return record


def plain_client_like(client: SchemaCheckedClient) -> APIClient:
    """The same credentials without the schema check (for paths/methods the schema omits)."""
    plain = APIClient()
    plain.credentials(HTTP_AUTHORIZATION=f"Bearer {client.access_token}")
    return plain


@pytest.fixture
def referrer(api_client_for, world):
    """A probation client with every scope and a default purpose."""
    return api_client_for(world[AgencyKind.PROBATION])


@pytest.fixture
def body(world):
    return referral_body(world["programme"].id)


def expire_tokens_of(client: SchemaCheckedClient) -> None:
    get_access_token_model().objects.filter(application=client.oauth_client).update(
        expires=timezone.now() - timedelta(minutes=1)
    )


# --- 401 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [REFERRALS, AGENCIES])
@pytest.mark.parametrize("token", ["none", "garbage", "expired"])
def test_missing_garbage_or_expired_token_is_a_401_problem_with_a_challenge(
    api_client_for, world, path, token
):
    client = api_client_for(world[AgencyKind.PROBATION])
    if token == "none":
        client.credentials()
    elif token == "garbage":
        client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token-the-hub-ever-issued")
    else:
        expire_tokens_of(client)
    ledger = Ledger()

    response = client.get(path)

    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    if path == REFERRALS:
        record = ledger.assert_only_access_record(401)
        assert record.agency_id is None
    else:
        ledger.assert_no_domain_writes()


def test_expired_token_is_a_401_even_on_a_create(api_client_for, world, body):
    client = api_client_for(world[AgencyKind.PROBATION])
    expire_tokens_of(client)
    ledger = Ledger()

    response = client.post(REFERRALS, body, format="json")

    assert_problem(response, 401)
    assert "WWW-Authenticate" in response
    ledger.assert_only_access_record(401)


# --- 403 (scopes) and the order 401 -> 403 -> everything else ------------------------------------


def test_token_without_referrals_read_may_not_list_referrals(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION], scopes=["referrals:write"])
    ledger = Ledger()

    response = client.get(REFERRALS)

    body = assert_problem(response, 403)
    assert "referrals:read" in body["detail"]
    ledger.assert_only_access_record(403, by=client)


def test_token_without_referrals_write_may_not_create_a_referral(api_client_for, world, body):
    client = api_client_for(world[AgencyKind.PROBATION], scopes=["referrals:read"])
    ledger = Ledger()

    response = client.post(REFERRALS, body, format="json")

    problem = assert_problem(response, 403)
    assert "referrals:write" in problem["detail"]
    ledger.assert_only_access_record(403, by=client)


def test_a_token_without_scope_still_reads_the_agency_directory(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION], scopes=["consent:read"])

    response = client.get(AGENCIES)

    assert response.status_code == 200


def test_malformed_json_without_a_token_is_a_401_not_a_400(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])
    client.credentials()
    ledger = Ledger()

    response = client.post(REFERRALS, '{"programme": ', content_type="application/json")

    assert_problem(response, 401)
    ledger.assert_only_access_record(401)


def test_malformed_json_with_a_token_lacking_the_scope_is_a_403_not_a_400(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION], scopes=["referrals:read"])
    ledger = Ledger()

    response = client.post(REFERRALS, '{"programme": ', content_type="application/json")

    assert_problem(response, 403)
    ledger.assert_only_access_record(403, by=client)


def test_unknown_purpose_without_a_token_is_a_401(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])
    client.credentials()
    ledger = Ledger()

    response = client.get(REFERRALS, HTTP_X_PURPOSE="curiosity")

    assert_problem(response, 401)
    ledger.assert_only_access_record(401)


def test_unknown_purpose_with_a_token_lacking_the_scope_is_a_403(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION], scopes=["referrals:write"])
    ledger = Ledger()

    response = client.get(REFERRALS, HTTP_X_PURPOSE="curiosity")

    assert_problem(response, 403)
    ledger.assert_only_access_record(403, by=client)


def test_unacceptable_accept_without_a_token_is_a_401_not_a_406(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])
    client.credentials()

    response = client.get(REFERRALS, HTTP_ACCEPT="text/csv")

    assert_problem(response, 401)


def test_unsupported_content_type_without_a_token_is_a_401_not_a_415(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])
    client.credentials()
    ledger = Ledger()

    response = client.post(REFERRALS, "hello", content_type="text/plain")

    assert_problem(response, 401)
    ledger.assert_only_access_record(401)


def test_unsupported_content_type_with_a_token_lacking_the_scope_is_a_403(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION], scopes=["referrals:read"])
    ledger = Ledger()

    response = client.post(REFERRALS, "hello", content_type="text/plain")

    assert_problem(response, 403)
    ledger.assert_only_access_record(403, by=client)


def test_invalid_body_with_a_token_lacking_the_scope_is_a_403_not_a_400(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION], scopes=["referrals:read"])
    ledger = Ledger()

    response = client.post(REFERRALS, {"shoe_size": 11}, format="json")

    assert_problem(response, 403)
    ledger.assert_only_access_record(403, by=client)


# --- 400 -----------------------------------------------------------------------------------------


def test_malformed_json_is_a_400(referrer):
    ledger = Ledger()

    response = referrer.post(REFERRALS, '{"programme": ', content_type="application/json")

    assert_problem(response, 400)
    ledger.assert_only_access_record(400, by=referrer)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("subject", "identity", "date_of_birth"), "yesterday", "subject.identity.date_of_birth"),
        (("risk", "level"), "extreme", "risk.level"),
        (("children", 0, "age"), "six", "children.0.age"),
        (("programme",), "not-a-uuid", "programme"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_400_naming_its_path(referrer, body, path, value, field):
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    problem = assert_problem(response, 400, validation=True)
    assert field in error_fields(problem)
    ledger.assert_only_access_record(400, by=referrer)


def test_unknown_top_level_field_is_a_400_naming_it(referrer, body):
    body["shoe_size"] = 11
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    problem = assert_problem(response, 400, validation=True)
    assert error_fields(problem) == {"shoe_size"}
    ledger.assert_only_access_record(400, by=referrer)


def test_unknown_nested_field_is_a_400_naming_its_path(referrer, body):
    body["subject"]["identity"]["shoe_size"] = 11
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    problem = assert_problem(response, 400, validation=True)
    assert error_fields(problem) == {"subject.identity.shoe_size"}
    ledger.assert_only_access_record(400, by=referrer)


def test_read_only_field_in_a_create_is_a_400_not_silently_dropped(referrer, body):
    body["status"] = "accepted"
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    problem = assert_problem(response, 400, validation=True)
    assert "status" in error_fields(problem)
    ledger.assert_only_access_record(400, by=referrer)


def test_missing_given_name_is_a_400_naming_its_path(referrer, body):
    del body["subject"]["identity"]["given_name"]
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    problem = assert_problem(response, 400, validation=True)
    assert error_fields(problem) == {"subject.identity.given_name"}
    ledger.assert_only_access_record(400, by=referrer)


def test_missing_subject_and_programme_are_each_named(referrer):
    ledger = Ledger()

    response = referrer.post(REFERRALS, {}, format="json")

    problem = assert_problem(response, 400, validation=True)
    assert {"programme", "subject"} <= error_fields(problem)
    ledger.assert_only_access_record(400, by=referrer)


@pytest.mark.parametrize("path", [REFERRALS, AGENCIES])
def test_unknown_purpose_is_a_400(referrer, path):
    ledger = Ledger()

    response = referrer.get(path, HTTP_X_PURPOSE="curiosity")

    assert_problem(response, 400, validation=True)
    if path == REFERRALS:
        ledger.assert_only_access_record(400, by=referrer)
    else:
        ledger.assert_no_domain_writes()


def test_no_purpose_at_all_on_a_personal_data_request_is_a_400(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION], purpose=None)
    ledger = Ledger()

    response = client.get(REFERRALS)

    assert_problem(response, 400, validation=True)
    ledger.assert_only_access_record(400, by=client)


def test_no_purpose_at_all_on_a_create_is_a_400(api_client_for, world, body):
    client = api_client_for(world[AgencyKind.PROBATION], purpose=None)
    ledger = Ledger()

    response = client.post(REFERRALS, body, format="json")

    assert_problem(response, 400, validation=True)
    ledger.assert_only_access_record(400, by=client)


def test_a_client_without_default_purpose_may_name_one_per_request(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION], purpose=None)

    response = client.get(REFERRALS, HTTP_X_PURPOSE="risk_management")

    assert response.status_code == 200


def test_no_purpose_is_fine_where_no_personal_data_is_touched(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION], purpose=None)

    response = client.get(AGENCIES)

    assert response.status_code == 200


def test_emergency_justification_on_a_list_is_a_400(referrer):
    ledger = Ledger()

    response = referrer.get(
        REFERRALS, HTTP_X_EMERGENCY_JUSTIFICATION="Imminent threat to her life reported."
    )

    assert_problem(response, 400, validation=True)
    ledger.assert_only_access_record(400, by=referrer)


def test_emergency_justification_on_a_create_is_a_400(referrer, body):
    ledger = Ledger()

    response = referrer.post(
        REFERRALS,
        body,
        format="json",
        HTTP_X_EMERGENCY_JUSTIFICATION="Imminent threat to her life reported.",
    )

    assert_problem(response, 400, validation=True)
    ledger.assert_only_access_record(400, by=referrer)


def test_too_short_emergency_justification_on_a_read_is_a_400(referrer, body):
    created = referrer.post(REFERRALS, body, format="json")
    assert created.status_code == 201, created.content
    ledger = Ledger()

    response = referrer.get(
        f"{REFERRALS}{created.json()['id']}/", HTTP_X_EMERGENCY_JUSTIFICATION="urgent"
    )

    assert_problem(response, 400, validation=True)
    record = ledger.assert_only_access_record(400, by=referrer)
    assert record.disclosed == []


def test_long_enough_emergency_justification_on_a_read_is_served(referrer, body):
    created = referrer.post(REFERRALS, body, format="json")
    assert created.status_code == 201, created.content

    response = referrer.get(
        f"{REFERRALS}{created.json()['id']}/",
        HTTP_X_EMERGENCY_JUSTIFICATION="Police report an imminent threat.",
    )

    assert response.status_code == 200


# --- 422 -----------------------------------------------------------------------------------------


def test_unknown_programme_is_a_422(referrer, body):
    body["programme"] = str(uuid.uuid4())
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    assert_problem(response, 422)
    ledger.assert_only_access_record(422, by=referrer)


@pytest.mark.parametrize(
    "make_programme",
    [
        factories.CouplesProgrammeFactory,
        lambda provider: factories.ProgrammeFactory(provider=provider, modality=Modality.MEDIATION),
    ],
    ids=["couples", "mediation"],
)
def test_referral_to_couple_work_is_a_422_that_says_why(referrer, world, make_programme):
    programme = make_programme(provider=world[AgencyKind.PROGRAMME_PROVIDER])
    ledger = Ledger()

    response = referrer.post(REFERRALS, referral_body(programme.id), format="json")

    problem = assert_problem(response, 422)
    detail = problem["detail"].lower()
    assert "couple" in detail or "mediation" in detail
    assert "never" in detail or "refuse" in detail or "does not refer" in detail
    ledger.assert_only_access_record(422, by=referrer)


def test_inactive_programme_is_a_422(referrer, world):
    programme = factories.InactiveProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER])
    ledger = Ledger()

    response = referrer.post(REFERRALS, referral_body(programme.id), format="json")

    assert_problem(response, 422)
    ledger.assert_only_access_record(422, by=referrer)


def test_partner_service_that_is_not_a_victim_service_is_a_422(referrer, world, body):
    body["partner_service"] = str(world[AgencyKind.POLICE].id)
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    assert_problem(response, 422)
    ledger.assert_only_access_record(422, by=referrer)


def test_unknown_partner_service_is_a_422(referrer, body):
    body["partner_service"] = str(uuid.uuid4())
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    assert_problem(response, 422)
    ledger.assert_only_access_record(422, by=referrer)


def test_victim_service_as_an_observer_is_a_422(referrer, world, body):
    body["observers"] = [str(world[AgencyKind.COURT].id), str(world[AgencyKind.VICTIM_SERVICE].id)]
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    assert_problem(response, 422)
    ledger.assert_only_access_record(422, by=referrer)


def test_unknown_observer_is_a_422(referrer, world, body):
    body["observers"] = [str(world[AgencyKind.COURT].id), str(uuid.uuid4())]
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    assert_problem(response, 422)
    ledger.assert_only_access_record(422, by=referrer)


def test_a_valid_referral_is_created_with_one_served_record(referrer, body):
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    assert response.status_code == 201, response.content
    assert Referral.objects.count() == ledger.counts["Referral"] + 1
    records = ledger.new_access_records()
    assert [(r.status, r.outcome) for r in records] == [(201, "served")]


# --- 403 (role) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", [AgencyKind.PROGRAMME_PROVIDER, AgencyKind.VICTIM_SERVICE, AgencyKind.HUB_OPERATOR]
)
def test_agency_kind_that_may_not_refer_gets_a_403(api_client_for, world, body, kind):
    client = api_client_for(world[kind])
    ledger = Ledger()

    response = client.post(REFERRALS, body, format="json")

    assert_problem(response, 403)
    ledger.assert_only_access_record(403, by=client)


# --- 404, 405, 406, 415, 413 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/nope/", "/nope", "/nope/", f"{REFERRALS}not-a-uuid/", "/api/v2/referrals/"]
)
def test_unknown_url_is_a_404_problem(api_client_for, world, path):
    # A plain client: these paths are, rightly, not in the schema.
    client = plain_client_like(api_client_for(world[AgencyKind.PROBATION]))
    ledger = Ledger()

    response = client.get(path)

    body = assert_problem(response, 404)
    assert path not in body["detail"]
    ledger.assert_no_domain_writes()


def test_unknown_url_is_a_404_problem_whatever_the_accept(api_client_for, world):
    client = plain_client_like(api_client_for(world[AgencyKind.PROBATION]))

    response = client.get("/nope", HTTP_ACCEPT="text/html")

    assert_problem(response, 404)


def test_referral_the_caller_cannot_see_is_a_404_problem(referrer):
    ledger = Ledger()

    response = referrer.get(f"{REFERRALS}{uuid.uuid4()}/")

    assert_problem(response, 404)
    ledger.assert_only_access_record(404, by=referrer)


def test_method_the_resource_does_not_offer_is_a_405_problem(referrer):
    # A plain client: DELETE on referrals/ is (rightly) not an operation in the schema.
    client = plain_client_like(referrer)
    ledger = Ledger()

    response = client.delete(REFERRALS)

    assert_problem(response, 405)
    assert "GET" in response["Allow"] and "POST" in response["Allow"]
    ledger.assert_only_access_record(405, by=referrer)


def test_method_not_allowed_on_a_probe_is_a_405_problem():
    response = APIClient().post("/healthz")

    assert_problem(response, 405)


@pytest.mark.parametrize("path", [REFERRALS, AGENCIES])
def test_unacceptable_accept_is_a_406_problem(referrer, path):
    ledger = Ledger()

    response = referrer.get(path, HTTP_ACCEPT="text/csv")

    assert_problem(response, 406)
    if path == REFERRALS:
        ledger.assert_only_access_record(406, by=referrer)
    else:
        ledger.assert_no_domain_writes()


@pytest.mark.parametrize("path", [REFERRALS, AGENCIES])
def test_accept_of_only_problem_json_is_still_served(referrer, path):
    response = referrer.get(path, HTTP_ACCEPT=PROBLEM)

    assert response.status_code == 200
    assert "results" in response.json()


def test_unsupported_content_type_is_a_415_problem(referrer):
    ledger = Ledger()

    response = referrer.post(REFERRALS, "hello", content_type="text/plain")

    assert_problem(response, 415)
    ledger.assert_only_access_record(415, by=referrer)


def test_form_encoded_body_is_a_415_problem(referrer):
    ledger = Ledger()

    response = referrer.post(
        REFERRALS, "programme=x", content_type="application/x-www-form-urlencoded"
    )

    assert_problem(response, 415)
    ledger.assert_only_access_record(415, by=referrer)


def test_body_over_the_size_limit_is_a_413_problem(referrer, body):
    limit = settings.MAX_REQUEST_BODY_BYTES
    body["offence"]["summary"] = ""
    padding = limit + 1 - len(json.dumps(body))
    body["offence"]["summary"] = "x" * padding
    payload = json.dumps(body)
    assert len(payload.encode()) == limit + 1
    ledger = Ledger()

    response = referrer.post(REFERRALS, payload, content_type="application/json")

    problem = assert_problem(response, 413)
    assert "xxxxxxxxxx" not in response.content.decode()
    assert problem["status"] == 413
    # Refused before any token is read, so the record cannot name the agency.
    ledger.assert_only_access_record(413)


def test_body_at_the_size_limit_is_not_a_413(referrer):
    limit = 2048
    payload = json.dumps({"shoe_size": "x" * 2000})
    payload = payload[:-2] + "x" * (limit - len(payload)) + payload[-2:]
    assert len(payload.encode()) == limit

    with override_settings(MAX_REQUEST_BODY_BYTES=limit):
        response = referrer.post(REFERRALS, payload, content_type="application/json")

    assert response.status_code == 400


def test_size_limit_follows_the_settings(referrer, body):
    with override_settings(MAX_REQUEST_BODY_BYTES=100):
        response = referrer.post(REFERRALS, body, format="json")

    assert_problem(response, 413)


# --- 429 -----------------------------------------------------------------------------------------


@pytest.fixture
def two_per_minute():
    cache.clear()
    rates = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"client": "2/min"}}
    with override_settings(REST_FRAMEWORK=rates):
        yield
    cache.clear()


def test_third_request_in_a_minute_is_a_429_with_retry_after(referrer, two_per_minute):
    assert referrer.get(AGENCIES).status_code == 200
    assert referrer.get(AGENCIES).status_code == 200

    response = referrer.get(AGENCIES)

    assert_problem(response, 429)
    assert int(response["Retry-After"]) > 0


def test_throttled_personal_data_request_records_one_refusal(referrer, two_per_minute):
    assert referrer.get(REFERRALS).status_code == 200
    assert referrer.get(REFERRALS).status_code == 200
    ledger = Ledger()

    response = referrer.get(REFERRALS)

    assert_problem(response, 429)
    assert "Retry-After" in response
    ledger.assert_only_access_record(429, by=referrer)


def test_rate_limit_is_per_client(api_client_for, world, two_per_minute):
    first = api_client_for(world[AgencyKind.PROBATION])
    second = api_client_for(world[AgencyKind.PROBATION])
    for _ in range(2):
        assert first.get(AGENCIES).status_code == 200
    assert first.get(AGENCIES).status_code == 429

    assert second.get(AGENCIES).status_code == 200


# --- 500 -----------------------------------------------------------------------------------------


def test_unhandled_error_is_a_500_problem_without_its_text(referrer, monkeypatch):
    secret_text = "relation referrals_referral password=hunter2 does not exist"

    def broken(**kwargs):
        raise RuntimeError(secret_text)

    monkeypatch.setattr("referrals.selectors.referrals_visible_to", broken)
    referrer.raise_request_exception = False
    ledger = Ledger()

    response = referrer.get(REFERRALS)

    assert_problem(response, 500)
    content = response.content.decode()
    assert "hunter2" not in content
    assert "referrals_referral" not in content
    assert "RuntimeError" not in content
    ledger.assert_only_access_record(500, outcome="failed", by=referrer)


# --- X-Request-ID --------------------------------------------------------------------------------


def assert_generated_request_id(response: Any) -> str:
    value = response["X-Request-ID"]
    assert str(uuid.UUID(value)) == value
    return value


def test_request_id_is_echoed_when_safe(referrer):
    response = referrer.get(AGENCIES, HTTP_X_REQUEST_ID="caller-req.42:7")

    assert response["X-Request-ID"] == "caller-req.42:7"


def test_request_id_is_generated_when_absent(referrer):
    first = referrer.get(AGENCIES)
    second = referrer.get(AGENCIES)

    assert assert_generated_request_id(first) != assert_generated_request_id(second)


@pytest.mark.parametrize(
    "given", ["has spaces in it", "x" * 500, "<script>alert(1)</script>", "a/b", ""]
)
def test_unsafe_request_id_is_replaced_by_a_generated_one(referrer, given):
    response = referrer.get(AGENCIES, HTTP_X_REQUEST_ID=given)

    assert response["X-Request-ID"] != given
    assert_generated_request_id(response)


def test_request_id_is_on_error_responses_and_in_the_access_record(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])
    client.credentials()
    ledger = Ledger()

    response = client.get(REFERRALS, HTTP_X_REQUEST_ID="trace-401")

    assert_problem(response, 401)
    assert response["X-Request-ID"] == "trace-401"
    assert ledger.assert_only_access_record(401).request_id == "trace-401"


def test_generated_request_id_is_the_one_in_the_access_record(referrer):
    ledger = Ledger()

    response = referrer.get(REFERRALS, HTTP_X_PURPOSE="curiosity")

    assert_problem(response, 400)
    generated = assert_generated_request_id(response)
    assert ledger.assert_only_access_record(400, by=referrer).request_id == generated


def test_request_id_is_on_a_404_outside_drf():
    response = APIClient().get("/nope", HTTP_X_REQUEST_ID="trace-404")

    assert_problem(response, 404)
    assert response["X-Request-ID"] == "trace-404"


def test_request_id_is_on_a_413(referrer, body):
    with override_settings(MAX_REQUEST_BODY_BYTES=100):
        response = referrer.post(REFERRALS, body, format="json", HTTP_X_REQUEST_ID="trace-413")

    assert_problem(response, 413)
    assert response["X-Request-ID"] == "trace-413"


def test_request_id_is_on_the_probes():
    assert APIClient().get("/healthz", HTTP_X_REQUEST_ID="probe-1")["X-Request-ID"] == "probe-1"
    assert_generated_request_id(APIClient().get("/readyz"))


def test_request_id_is_on_token_responses(make_agency):
    from agencies.services import client_create

    issued = client_create(
        agency_id=make_agency(kind=AgencyKind.PROBATION).id, scopes=["referrals:read"]
    )
    granted = APIClient().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION=basic_auth(issued.client.client_id, issued.client_secret),
        HTTP_X_REQUEST_ID="token-ok",
    )
    refused = APIClient().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION=basic_auth(issued.client.client_id, "wrong"),
    )

    assert granted.status_code == 200
    assert granted["X-Request-ID"] == "token-ok"
    assert refused.status_code == 401
    assert_generated_request_id(refused)


# --- probes --------------------------------------------------------------------------------------


def test_healthz_is_200_without_a_token():
    response = APIClient().get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_is_200_when_the_database_answers():
    response = APIClient().get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_is_a_503_problem_when_the_database_fails(monkeypatch):
    class DownConnection:
        def cursor(self):
            raise OperationalError('could not connect to server at "db.internal" (10.0.0.7)')

    monkeypatch.setattr("hub.health.connection", DownConnection())

    response = APIClient().get("/readyz")

    assert_problem(response, 503)
    content = response.content.decode()
    assert "db.internal" not in content
    assert "10.0.0.7" not in content


def test_readyz_is_a_503_problem_while_a_migration_is_not_applied(monkeypatch):
    monkeypatch.setattr("hub.health._migrated", False)
    monkeypatch.setattr(
        "hub.health.MigrationExecutor.migration_plan", lambda self, targets: [("audit", "9999")]
    )

    response = APIClient().get("/readyz")

    assert_problem(response, 503)
    assert "migrate" in response.json()["detail"]


def test_readyz_asks_about_migrations_only_until_it_saw_them_applied(monkeypatch):
    monkeypatch.setattr("hub.health._migrated", False)
    assert APIClient().get("/readyz").status_code == 200
    monkeypatch.setattr(
        "hub.health.MigrationExecutor.migration_plan", lambda self, targets: [("audit", "9999")]
    )

    assert APIClient().get("/readyz").status_code == 200


# --- no personal data in problems ----------------------------------------------------------------


def test_problem_never_echoes_an_overlong_name(referrer, body):
    name = "Zebediah" + "q" * 492
    body["subject"]["identity"]["given_name"] = name
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    problem = assert_problem(response, 400, validation=True)
    assert "subject.identity.given_name" in error_fields(problem)
    assert "Zebediah" not in response.content.decode()
    ledger.assert_only_access_record(400, by=referrer)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("risk", "level"), "Beth says he threatened to kill her"),
        (("subject", "identity", "date_of_birth"), "Born in Leeds to Carol Smith"),
        (("children", 0, "age"), "Daisy, six, at St Anne's"),
        (("partner", "identity", "name"), ["Beth Private"]),
        (("subject", "contact", "phone"), "0" * 40 + " Beth's refuge line"),
        (("partner_service",), "Beth's refuge in Leeds"),
    ],
    ids=["choice", "date", "integer", "type", "length", "uuid"],
)
def test_problem_never_echoes_a_submitted_value(referrer, body, path, value):
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    ledger = Ledger()

    response = referrer.post(REFERRALS, body, format="json")

    assert_problem(response, 400, validation=True)
    content = response.content.decode()
    for fragment in ("Beth", "Leeds", "Carol", "Daisy", "St Anne"):
        assert fragment not in content
    ledger.assert_only_access_record(400, by=referrer)


def test_problem_never_echoes_personal_data_from_a_refused_create(referrer, world):
    programme = factories.CouplesProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER])

    response = referrer.post(REFERRALS, referral_body(programme.id), format="json")

    assert_problem(response, 422)
    content = response.content.decode()
    for value in ("Adam", "Testcase", "1985-01-02", "Beth Private", "Refuge, secret"):
        assert value not in content


def test_a_multipart_body_without_a_boundary_is_a_401_without_a_token_and_a_415_with_one(
    api_client_for, world
):
    headers = {"CONTENT_TYPE": "multipart/form-data"}
    anonymous = APIClient().generic("POST", REFERRALS, b"{}", **headers)
    client = api_client_for(world[AgencyKind.PROBATION])
    with_token = client.generic("POST", REFERRALS, b"{}", **headers)

    assert_problem(anonymous, 401)
    assert with_token.status_code in (400, 415)
    assert with_token["Content-Type"] == PROBLEM
