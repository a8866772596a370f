"""Conditional requests by the RFC (issue 13, item 7): If-Match on every PATCH.

- Of two writers holding one ETag, exactly one succeeds (200) and the other gets 412; what is
  stored is the winner's change. Each PATCH takes the row lock first, then computes the current
  ETag from the locked row, then compares, then writes (PostgreSQL; SQLite serialises writes).
- Tags are compared strongly (RFC 9110 13.1.1): `W/` before the current tag is a 412, and
  `If-Match: *` is a 428 (the guard needs the ETag read). The referral amendment's weak and `*`
  cases are in tests/test_protocol_faults.py.

The race is made real, not left to scheduling: the first writer to reach the write holds its
transaction open (its change made, not committed) until the second writer has either reached
the write too or is waiting for a lock in the database.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

import referrals.services
import sharing_policies.services
from agencies.models import AgencyKind
from referrals.models import Amendment, Programme, Referral
from sharing_policies.models import AgreementVersion
from tests.conftest import agreement_body, referral_body

P = AgencyKind.PROBATION
PROVIDER = AgencyKind.PROGRAMME_PROVIDER
HOLD_AT_MOST = 10.0  # seconds: the first writer waits no longer for the second


def lock_waiters() -> int:
    """Sessions of this test database waiting for a lock (a row lock shows as a wait on the
    holder's transaction id)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()"
        )
        return cursor.fetchone()[0]


class FirstWriterHeld:
    """A service wrapped so that the first writer to reach it makes its change and then keeps
    its transaction open until the second writer has reached the service as well (it compared
    before the first committed) or waits for a lock (it queues behind the first)."""

    def __init__(self, service: Callable[..., Any]) -> None:
        self.service = service
        self.guard = threading.Lock()
        self.writers = 0
        self.second_arrived = threading.Event()
        self.held = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.guard:
            self.writers += 1
            first = self.writers == 1
        if not first:
            self.second_arrived.set()
            return self.service(*args, **kwargs)
        result = self.service(*args, **kwargs)
        deadline = time.monotonic() + HOLD_AT_MOST
        while time.monotonic() < deadline:
            if self.second_arrived.wait(0.02) or lock_waiters():
                self.held = True
                break
        return result


def race(writers: list[tuple[Any, str, dict[str, Any], str]]) -> list[tuple[int, Any]]:
    """Each (client, url, body, etag) PATCHes at once; their (status, body) in writer order."""
    barrier = threading.Barrier(len(writers))
    answers: list[tuple[int, Any] | None] = [None] * len(writers)
    # Give this thread's connection back: the writers need the pool's connections.
    connection.close()

    def write(index: int, client: Any, url: str, body: dict[str, Any], etag: str) -> None:
        barrier.wait()
        try:
            response = client.patch(url, body, format="json", HTTP_IF_MATCH=etag)
            answers[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [
        threading.Thread(target=write, args=(index, *writer))
        for index, writer in enumerate(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers), answers
    return answers  # type: ignore[return-value]


def winner_of(answers: list[tuple[int, Any]]) -> int:
    """Exactly one writer got 200 and the other 412: the index of the one that did."""
    statuses = [status for status, _ in answers]
    assert sorted(statuses) == [200, 412], answers
    return statuses.index(200)


# --- Two writers, one ETag: exactly one wins ----------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_programme_changes_with_one_etag_exactly_one_succeeds(
    api_client_for, world, monkeypatch
):
    writers = [api_client_for(world[PROVIDER], scopes=["referrals:write"]) for _ in range(2)]
    url = f"/api/v1/programmes/{world['programme'].id}/"
    etags = [client.get(url)["ETag"] for client in writers]
    assert etags[0] == etags[1]
    held = FirstWriterHeld(referrals.services.programme_change)
    monkeypatch.setattr(referrals.services, "programme_change", held)
    capacities = [21, 42]

    answers = race(
        [
            (client, url, {"capacity": capacity}, etag)
            for client, capacity, etag in zip(writers, capacities, etags, strict=True)
        ]
    )

    assert held.held, "the staged race did not run"
    winner = winner_of(answers)
    assert answers[winner][1]["capacity"] == capacities[winner]
    assert Programme.objects.get(id=world["programme"].id).capacity == capacities[winner]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_agreement_changes_with_one_etag_exactly_one_succeeds(
    api_client_for, world, monkeypatch
):
    writers = [api_client_for(world[P]) for _ in range(2)]
    created = writers[0].post(
        "/api/v1/sharing-agreements/",
        agreement_body(world[P], world[AgencyKind.POLICE], ["risk"], ["marac"]),
        format="json",
    )
    assert created.status_code == 201, created.content
    agreement_id = created.json()["id"]
    url = f"/api/v1/sharing-agreements/{agreement_id}/"
    etags = [client.get(url)["ETag"] for client in writers]
    assert etags[0] == etags[1] == created["ETag"]
    held = FirstWriterHeld(sharing_policies.services.agreement_change)
    monkeypatch.setattr(sharing_policies.services, "agreement_change", held)
    names = ["Renamed by the first", "Renamed by the second"]

    answers = race(
        [
            (client, url, {"name": name}, etag)
            for client, name, etag in zip(writers, names, etags, strict=True)
        ]
    )

    assert held.held, "the staged race did not run"
    winner = winner_of(answers)
    assert answers[winner][1]["version"] == 2
    versions = AgreementVersion.objects.filter(agreement_id=agreement_id).order_by("version")
    assert [(v.version, v.name) for v in versions] == [
        (1, "Test agreement"),
        (2, names[winner]),
    ]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_amendments_with_one_etag_exactly_one_succeeds(api_client_for, world, monkeypatch):
    writers = [api_client_for(world[P]) for _ in range(2)]
    created = writers[0].post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    )
    assert created.status_code == 201, created.content
    referral_id = created.json()["id"]
    url = f"/api/v1/referrals/{referral_id}/"
    etags = [client.get(url)["ETag"] for client in writers]
    assert etags[0] == etags[1]
    held = FirstWriterHeld(referrals.services.referral_amend)
    monkeypatch.setattr(referrals.services, "referral_amend", held)
    summaries = ["Calmer, says the first.", "Worse, says the second."]

    answers = race(
        [
            (client, url, {"risk": {"summary": summary}, "amendment_reason": "Review."}, etag)
            for client, summary, etag in zip(writers, summaries, etags, strict=True)
        ]
    )

    assert held.held, "the staged race did not run"
    winner = winner_of(answers)
    assert answers[winner][1]["risk"]["summary"] == summaries[winner]
    assert Referral.objects.get(id=referral_id).risk["summary"] == summaries[winner]
    (amendment,) = Amendment.objects.filter(referral_id=referral_id)
    assert amendment.changes["risk"]["new"]["summary"] == summaries[winner]


# --- Strong comparison, both engines (the amendment's: tests/test_protocol_faults.py) ------------


@pytest.mark.django_db
def test_a_weak_validator_of_the_current_programme_tag_is_a_412(api_client_for, world):
    client = api_client_for(world[PROVIDER], scopes=["referrals:write"])
    url = f"/api/v1/programmes/{world['programme'].id}/"
    etag = client.get(url)["ETag"]

    weak = client.patch(url, {"capacity": 8}, format="json", HTTP_IF_MATCH=f"W/{etag}")
    star = client.patch(url, {"capacity": 8}, format="json", HTTP_IF_MATCH="*")

    assert (weak.status_code, star.status_code) == (412, 428)
    assert Programme.objects.get(id=world["programme"].id).capacity == 12
    assert client.get(url)["ETag"] == etag


@pytest.mark.django_db
def test_a_weak_validator_of_the_current_agreement_tag_is_a_412(api_client_for, world):
    client = api_client_for(world[P])
    created = client.post(
        "/api/v1/sharing-agreements/",
        agreement_body(world[P], world[AgencyKind.POLICE], ["risk"], ["marac"]),
        format="json",
    )
    url = f"/api/v1/sharing-agreements/{created.json()['id']}/"

    weak = client.patch(
        url, {"status": "suspended"}, format="json", HTTP_IF_MATCH=f"W/{created['ETag']}"
    )
    star = client.patch(url, {"status": "suspended"}, format="json", HTTP_IF_MATCH="*")

    assert (weak.status_code, star.status_code) == (412, 428)
    assert AgreementVersion.objects.filter(agreement_id=created.json()["id"]).count() == 1
    assert client.get(url)["ETag"] == created["ETag"]
