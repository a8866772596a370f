"""Idempotency-Key on POST referrals/: a retried create gives the first result, never a twin."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from agencies.models import AgencyKind
from referrals.models import IdempotencyKey, Referral
from tests.conftest import referral_body

pytestmark = pytest.mark.django_db


def create(client, body, key):
    return client.post("/api/v1/referrals/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_body_return_the_first_result(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])
    body = referral_body(world["programme"].id)

    first = create(client, body, "case-42-referral")
    retry = create(client, body, "case-42-referral")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json()["id"] == first.json()["id"]
    assert Referral.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])
    create(client, referral_body(world["programme"].id), "case-42-referral")

    other = referral_body(world["programme"].id, offence={"summary": "Something else."})
    response = create(client, other, "case-42-referral")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert Referral.objects.count() == 1


def test_keys_are_scoped_to_the_client(api_client_for, world):
    body = referral_body(world["programme"].id)
    first = create(api_client_for(world[AgencyKind.PROBATION]), body, "shared-key")
    second = create(api_client_for(world[AgencyKind.POLICE]), body, "shared-key")

    assert first.json()["id"] != second.json()["id"]


def test_keys_expire_after_24_hours(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])
    body = referral_body(world["programme"].id)
    first = create(client, body, "old-key")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    # Another man: the same one again would be a duplicate referral (409), key or no key.
    body["subject"]["identity"]["identifiers"] = [{"system": "test.pnc", "value": "85/000002B"}]

    again = create(client, body, "old-key")

    assert again.json()["id"] != first.json()["id"]


def test_a_malformed_key_is_a_400(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])

    response = create(client, referral_body(world["programme"].id), "x" * 300)

    assert response.status_code == 400
    assert Referral.objects.count() == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_double_submit_creates_one_referral(api_client_for, world):
    from django.db import connection

    from tests.conftest import SchemaCheckedClient

    first = api_client_for(world[AgencyKind.PROBATION])
    second = SchemaCheckedClient()  # the same client's token, as a retrying system would send
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {first.access_token}")
    clients = [first, second]
    body = referral_body(world["programme"].id)
    barrier = threading.Barrier(2)
    answers = []

    def submit(client):
        barrier.wait()
        try:
            response = create(client, body, "double-click")
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [status for status, _ in answers] == [201, 201]
    assert answers[0][1] == answers[1][1]
    assert Referral.objects.count() == 1
