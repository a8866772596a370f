"""The change feed: each party's own ordered stream, ids and types only, nothing lost or
repeated across pages, even while events are written."""

import threading
from uuid import uuid4

import pytest

from agencies.models import AgencyKind
from referrals.models import Event, Referral
from tests.conftest import referral_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(api_client_for, world):
    clients = {
        "referrer": api_client_for(world[AgencyKind.PROBATION]),
        "provider": api_client_for(
            world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery"
        ),
        "victim_service": api_client_for(
            world[AgencyKind.VICTIM_SERVICE], purpose="partner_safety"
        ),
        "police": api_client_for(world[AgencyKind.POLICE]),
    }
    return {"world": world, **clients}


def refer(scene, **extra):
    body = referral_body(scene["world"]["programme"].id, **extra)
    # Each of another man: a second open referral of one man to one programme is a 409.
    body["subject"]["identity"]["identifiers"] = [{"system": "test.pnc", "value": str(uuid4())}]
    return scene["referrer"].post("/api/v1/referrals/", body, format="json").json()["id"]


def read_feed(client, page_size=100):
    seen, url = [], f"/api/v1/events/?page_size={page_size}"
    while url:
        page = client.get(url).json()
        seen += page["results"]
        url = page["next"]
    return seen


def test_returns_401_if_unauthenticated(client):
    assert client.get("/api/v1/events/").status_code == 401


def test_the_feed_needs_referrals_read(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION], scopes=["consent:read"])

    assert client.get("/api/v1/events/").status_code == 403


def test_each_party_hears_of_a_new_referral_and_its_moves_in_order(scene):
    referral_id = refer(scene, partner_service=str(scene["world"][AgencyKind.VICTIM_SERVICE].id))
    scene["provider"].post(
        f"/api/v1/referrals/{referral_id}/transitions/", {"to": "acknowledged"}, format="json"
    )

    for role in ("referrer", "provider", "victim_service"):
        events = read_feed(scene[role])
        assert [(e["type"], e["referral"]) for e in events] == [
            ("created", referral_id),
            ("transition", referral_id),
        ]
        assert [e["position"] for e in events] == [1, 2]
        assert events[1]["about"]["to"] == "acknowledged"
    assert read_feed(scene["police"]) == []


def test_events_carry_ids_and_types_only(scene):
    referral_id = refer(scene)
    Referral.objects.filter(id=referral_id).update(status="accepted")
    scene["provider"].post(
        f"/api/v1/referrals/{referral_id}/reports/",
        {
            "kind": "risk_change",
            "level": "high",
            "summary": "Threatened her by text.",
            "urgent": True,
        },
        format="json",
    )

    feed = str(read_feed(scene["referrer"]))

    assert "urgent_risk_change" in feed
    for value in ("Threatened", "Adam", "Beth", "high"):
        assert value not in feed


def test_paging_loses_and_repeats_nothing(scene):
    ids = [refer(scene) for _ in range(7)]

    events = read_feed(scene["referrer"], page_size=3)

    assert [e["referral"] for e in events] == ids
    assert [e["position"] for e in events] == list(range(1, 8))
    page = scene["referrer"].get(f"/api/v1/events/?after={events[-1]['position']}").json()
    assert page == {"results": [], "next": None}


@pytest.mark.parametrize(
    "query", ["after=-1", "after=soon", "page_size=0", "page_size=100000", "colour=red"]
)
def test_bad_feed_queries_are_a_400(scene, query):
    assert scene["referrer"].get(f"/api/v1/events/?{query}").status_code == 400


def test_no_event_for_a_change_that_rolled_back(scene):
    body = referral_body(
        scene["world"]["programme"].id, observers=["00000000-0000-4000-8000-000000000000"]
    )

    assert scene["referrer"].post("/api/v1/referrals/", body, format="json").status_code == 422
    assert Event.objects.count() == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_feed_read_while_events_are_written_loses_nothing(api_client_for, world):
    from django.db import connection

    referrers = [api_client_for(world[AgencyKind.PROBATION]) for _ in range(3)]
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER])
    written = []
    lock = threading.Lock()

    def write(client):
        try:
            for _ in range(5):
                body = referral_body(world["programme"].id)
                body["subject"]["identity"].pop("identifiers")
                response = client.post("/api/v1/referrals/", body, format="json")
                assert response.status_code == 201
                with lock:
                    written.append(response.json()["id"])
        finally:
            connection.close()

    seen, after = [], 0
    threads = [threading.Thread(target=write, args=(c,)) for c in referrers]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads) or len(seen) < len(written):
        page = provider.get(f"/api/v1/events/?after={after}&page_size=2").json()
        for event in page["results"]:
            seen.append(event)
            after = event["position"]
    for thread in threads:
        thread.join()

    assert [e["position"] for e in seen] == list(range(1, 16))
    assert sorted(e["referral"] for e in seen) == sorted(written)
