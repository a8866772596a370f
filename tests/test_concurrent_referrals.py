"""Simultaneous first referrals of one man all succeed, matched to one person (issue 11,
item 3): the request that loses the race to bind his identifier looks again inside the hub."""

import threading
from typing import Any

import pytest
from django.db import connection

import referrals.services
from agencies.models import AgencyKind
from referrals.models import PersonIdentifier, Referral
from tests.conftest import referral_body

REFERRALS = "/api/v1/referrals/"
UNSEEN = {"system": "uk.police.pnc", "value": "26/990001X"}
REFERRERS = (
    AgencyKind.POLICE,
    AgencyKind.PROBATION,
    AgencyKind.COURT,
    AgencyKind.CHILDREN_SERVICES,
)


def refer(client: Any, programme: Any) -> Any:
    body = referral_body(programme.id)
    body["subject"]["identity"]["identifiers"] = [UNSEEN]
    return client.post(REFERRALS, body, format="json")


@pytest.mark.django_db
def test_a_referral_that_loses_the_race_to_bind_an_identifier_gets_the_winners_person(
    api_client_for, world, monkeypatch
):
    """The race, staged: the second request's lookup ran before the first committed, so its
    insert meets the first's row; it must look again and find that person, never refuse."""
    police, probation = (api_client_for(world[kind]) for kind in REFERRERS[:2])
    first = refer(police, world["programme"])
    looked_up = referrals.services.person_held
    missed = []

    def before_the_first_committed(**kwargs: Any) -> Any:
        if not missed:
            missed.append(kwargs)
            return None
        return looked_up(**kwargs)

    monkeypatch.setattr(referrals.services, "person_held", before_the_first_committed)
    second = refer(probation, world["programme"])

    assert (first.status_code, second.status_code) == (201, 201), second.content
    assert missed, "the staged race did not run"
    man = first.json()["subject"]["identity"]["id"]
    assert second.json()["subject"]["identity"]["id"] == man
    assert list(PersonIdentifier.objects.values_list("person_id", flat=True)) == [
        Referral.objects.get(id=first.json()["id"]).subject_id
    ]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_referrals_of_one_man_all_succeed_matched_to_one_person(
    api_client_for, world
):
    clients = [api_client_for(world[kind]) for kind in REFERRERS]
    barrier = threading.Barrier(len(clients))
    answers: list[tuple[int, Any]] = []
    # Give this thread's connection back: the four requests need the pool's four at once.
    connection.close()

    def submit(client: Any) -> None:
        barrier.wait()
        try:
            response = refer(client, world["programme"])
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(status for status, _ in answers) == [201] * len(REFERRERS), answers
    assert len({body["subject"]["identity"]["id"] for _, body in answers}) == 1
    assert PersonIdentifier.objects.filter(system=UNSEEN["system"]).count() == 1
    assert Referral.objects.values("subject").distinct().count() == 1
