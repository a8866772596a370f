"""Floods and credential guessing are slowed, and recorded without growing the trail without
bound (issue 12, items 2 and 3; DESIGN.md *Audit*).

Each test replays an attack found against the hub: forged bearer tokens by the thousand, wrong
client secrets, wrong staff passwords, and the admin reached by anyone.
"""

import importlib
import time
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import clear_url_caches
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import AgencyKind, StaffMembership, StaffRole, User
from agencies.services import client_create
from audit.bursts import close_bursts
from audit.chain import chain_verify
from audit.models import AccessRecord
from tests.conftest import basic_auth, request_token

SECRET_PASSWORD = "the-right-long-password"
WRONG_SECRET = "wrong-secret-that-must-never-be-recorded"


@pytest.fixture(autouse=True)
def no_window_ends_during_a_test(monkeypatch):
    """Rate windows are fixed (core.throttles): a test that crossed a minute's end would start
    counting again. Its clock stands still, thirty seconds into a minute."""
    monkeypatch.setattr("core.throttles.clock", lambda: 1_800_000_030.0)


def forged(path="/api/v1/referrals/"):
    return APIClient().get(path, HTTP_AUTHORIZATION="Bearer forged-token-0000")


def records_after_every_burst_closed():
    close_bursts(now=timezone.now() + timedelta(hours=1))
    return list(AccessRecord.objects.order_by("at"))


def requests_counted(records):
    return sum(r.burst["count"] if r.burst else 1 for r in records)


def assert_is_a_429_problem(response):
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) >= 1
    assert response.json()["status"] == 429


def test_a_flood_of_forged_tokens_is_slowed_and_fills_at_most_four_records(db, settings):
    settings.FAILED_REQUEST_RATE_LIMIT = "10/min"

    answers = [forged().status_code for _ in range(300)]

    assert answers[:10] == [401] * 10
    assert set(answers[10:]) == {429}
    assert_is_a_429_problem(forged())
    records = records_after_every_burst_closed()
    assert len(records) == 4
    assert requests_counted(records) == 301, "every refused request is counted, none lost"
    assert all(r.flagged and r.outcome == "refused" for r in records)
    folded = [r for r in records if r.burst]
    assert {r.status for r in folded} == {401, 429}
    for record in folded:
        assert set(record.burst) == {"count", "first_at", "last_at"}
        assert record.burst["first_at"] <= record.burst["last_at"]


def test_a_single_refused_request_keeps_a_record_of_its_own_at_once(db):
    forged()

    (record,) = AccessRecord.objects.all()
    assert (record.status, record.burst, record.path) == (401, None, "/api/v1/referrals/")


def test_a_closed_burst_is_written_when_the_same_source_fails_again(db, settings):
    settings.REFUSAL_BURST_SECONDS = 1
    for _ in range(5):
        forged()
    time.sleep(1.1)

    forged()

    records = list(AccessRecord.objects.order_by("at"))
    assert [r.burst["count"] if r.burst else 1 for r in records] == [1, 4, 1]


def test_audit_seal_writes_closed_bursts_into_the_chain(db, settings):
    settings.REFUSAL_BURST_SECONDS = 1
    for _ in range(6):
        forged()
    time.sleep(1.1)

    call_command("audit_seal", stdout=StringIO())

    (folded,) = AccessRecord.objects.exclude(burst=None)
    assert folded.burst["count"] == 5
    assert hasattr(folded, "seal")
    assert chain_verify().intact


def test_wrong_client_secrets_are_slowed_then_refused_even_with_the_right_one(
    make_agency, settings
):
    settings.TOKEN_RATE_LIMIT = "5/min"
    issued = client_create(agency_id=make_agency().id, scopes=["referrals:read"])
    client_id = issued.client.client_id

    answers = [request_token(client_id, WRONG_SECRET).status_code for _ in range(40)]
    right = request_token(client_id, issued.client_secret)

    assert answers[:5] == [401] * 5
    assert set(answers[5:]) == {429}
    assert_is_a_429_problem(right)
    records = records_after_every_burst_closed()
    assert {r.tried for r in records} == {client_id}
    assert {r.path for r in records} == {"/o/token/"}
    assert requests_counted(records) == 41
    assert len(records) <= 4
    for record in AccessRecord.objects.values():
        assert WRONG_SECRET not in str(record)
        assert issued.client_secret not in str(record)


def test_token_requests_from_one_address_are_limited_whatever_client_id_they_name(db, settings):
    settings.TOKEN_ADDRESS_RATE_LIMIT = "3/min"

    answers = [request_token(f"client-{n}", WRONG_SECRET).status_code for n in range(6)]

    assert answers == [401, 401, 401, 429, 429, 429]
    assert {r.tried for r in records_after_every_burst_closed()} == {
        f"client-{n}" for n in range(6)
    }


def test_an_address_that_keeps_failing_is_refused_even_a_valid_token(
    api_client_for, world, settings
):
    reader = api_client_for(world[AgencyKind.PROBATION])
    settings.FAILED_REQUEST_RATE_LIMIT = "3/min"
    for _ in range(3):
        request_token("no-such-client", WRONG_SECRET)

    response = reader.get("/api/v1/programmes/")

    assert_is_a_429_problem(response)


def test_a_secret_sent_as_the_client_id_is_never_recorded(db):
    APIClient().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION=basic_auth("has spaces and " + WRONG_SECRET, "x"),
    )

    (record,) = AccessRecord.objects.all()
    assert record.tried == "?"
    assert WRONG_SECRET not in str(AccessRecord.objects.values().get())


# --- staff sign-in and the admin ----------------------------------------------------------------


@pytest.fixture
def operator_staff(world):
    user = User.objects.create_user(
        username="operator-staff", password=SECRET_PASSWORD, is_staff=True, is_superuser=True
    )
    StaffMembership.objects.create(
        user=user, agency=world[AgencyKind.HUB_OPERATOR], role=StaffRole.ADMINISTRATOR
    )
    return user


def sign_in(client, path, username, password):
    return client.post(path, {"username": username, "password": password})


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_staff_sign_in_locks_out_after_five_failures_and_each_is_recorded(
    client, operator_staff, settings, path
):
    settings.AXES_FAILURE_LIMIT = 5

    failures = [sign_in(client, path, "operator-staff", "wrong").status_code for _ in range(5)]
    locked = sign_in(client, path, "operator-staff", SECRET_PASSWORD)

    assert failures == [200] * 4 + [429]
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    records = records_after_every_burst_closed()
    assert {r.tried for r in records} == {"operator-staff"}
    assert {r.path for r in records} == {path}
    assert requests_counted(records) == 6
    assert {r.status for r in records} == {401, 429}
    for record in AccessRecord.objects.values():
        assert SECRET_PASSWORD not in str(record) and "wrong" not in str(record["tried"])


def test_a_successful_sign_in_before_the_limit_resets_the_count(client, operator_staff, settings):
    settings.AXES_FAILURE_LIMIT = 3
    sign_in(client, "/accounts/login/", "operator-staff", "wrong")
    sign_in(client, "/accounts/login/", "operator-staff", "wrong")

    signed_in = sign_in(client, "/accounts/login/", "operator-staff", SECRET_PASSWORD)

    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(operator_staff.pk)


def test_the_admin_is_for_the_hub_operators_staff_only(client, world, operator_staff):
    probation_staff = User.objects.create_user(
        username="probation-staff", password=SECRET_PASSWORD, is_staff=True, is_superuser=True
    )
    StaffMembership.objects.create(
        user=probation_staff, agency=world[AgencyKind.PROBATION], role=StaffRole.ADMINISTRATOR
    )
    nobodys = User.objects.create_superuser("root", password=SECRET_PASSWORD)

    answers = {}
    for user in (probation_staff, nobodys, operator_staff):
        client.force_login(user)
        answers[user.username] = client.get("/admin/agencies/agency/").status_code

    assert answers == {"probation-staff": 302, "root": 302, "operator-staff": 200}


@pytest.fixture
def admin_switched_off(settings):
    import hub.urls

    settings.ADMIN_ENABLED = False
    clear_url_caches()
    importlib.reload(hub.urls)
    yield
    settings.ADMIN_ENABLED = True
    clear_url_caches()
    importlib.reload(hub.urls)


def test_with_admin_enabled_off_the_admin_is_not_served(client, operator_staff, admin_switched_off):
    client.force_login(operator_staff)

    assert client.get("/admin/").status_code == 404
    assert client.get("/admin/login/").status_code == 404
    assert client.get("/accounts/login/").status_code == 200


REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_cache(settings):
    import redis

    server = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        server.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"hub-test-{uuid.uuid4()}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_TEST_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield server, prefix
    for key in server.scan_iter(f"{prefix}:*"):
        server.delete(key)


def test_with_redis_the_counters_live_in_the_shared_cache(db, settings, redis_cache):
    server, prefix = redis_cache
    settings.FAILED_REQUEST_RATE_LIMIT = "5/min"

    answers = [forged().status_code for _ in range(6)]

    assert answers == [401] * 5 + [429]
    counters = [int(server.get(key)) for key in server.scan_iter(f"{prefix}:*throttle:failed:*")]
    assert counters == [5], "another app server on this Redis reads the same count"


def test_the_hub_operators_dpo_finds_a_flood_as_one_record_with_its_count(api_client_for, world):
    for _ in range(5):
        forged()
    request_token("no-such-client", WRONG_SECRET)
    close_bursts(now=timezone.now() + timedelta(hours=1))
    dpo = api_client_for(world[AgencyKind.HUB_OPERATOR], scopes=["audit:read"])

    found = dpo.get("/api/v1/audit/events/?outcome=refused").json()["results"]

    forged_ones = [r for r in found if r["path"] == "/api/v1/referrals/"]
    assert sorted((r["burst"] or {}).get("count", 1) for r in forged_ones) == [1, 4]
    (token_failure,) = [r for r in found if r["path"] == "/o/token/"]
    assert token_failure["tried"] == "no-such-client"
    assert {r["channel"] for r in found} == {"api"}


def test_an_agency_dpo_never_sees_what_was_tried_against_the_hub(api_client_for, world):
    request_token("no-such-client", WRONG_SECRET)
    dpo = api_client_for(world[AgencyKind.PROBATION], scopes=["audit:read"])

    found = dpo.get("/api/v1/audit/events/").json()["results"]

    assert all(r["tried"] is None and r["burst"] is None for r in found)
    assert all(r["path"] != "/o/token/" for r in found)
