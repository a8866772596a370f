"""Amendments with optimistic concurrency: If-Match on the caller's view, old and new values kept,
and shown only to those who may see a changed category."""

import datetime

import pytest

from agencies.models import AgencyKind
from referrals.models import Amendment, Event, Referral
from tests.conftest import referral_body

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


@pytest.fixture
def scene(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = referrer.post(
        "/api/v1/referrals/",
        referral_body(
            world["programme"].id, partner_service=str(world[AgencyKind.VICTIM_SERVICE].id)
        ),
        format="json",
    )
    return {
        "world": world,
        "referrer": referrer,
        "provider": api_client_for(
            world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery"
        ),
        "url": f"/api/v1/referrals/{created.json()['id']}/",
        "etag": created["ETag"],
        "id": created.json()["id"],
    }


def amend(scene, body, etag=None, client=None):
    headers = {"HTTP_IF_MATCH": etag} if etag else {}
    return (client or scene["referrer"]).patch(scene["url"], body, format="json", **headers)


def test_an_amendment_needs_if_match_and_fails_when_stale(scene):
    missing = amend(scene, {"risk": {"level": "medium"}})
    stale = amend(scene, {"risk": {"level": "medium"}}, etag='"not-it"')
    done = amend(
        scene, {"risk": {"level": "medium"}, "amendment_reason": "New DASH."}, scene["etag"]
    )
    again = amend(scene, {"risk": {"level": "standard"}}, scene["etag"])

    assert (missing.status_code, stale.status_code, done.status_code, again.status_code) == (
        428,
        412,
        200,
        412,
    )
    assert done.json()["risk"] == {
        "level": "medium",
        "tool": "dash",
        "summary": "Escalating.",
        "marac": True,
    }
    assert done["ETag"] != scene["etag"]
    assert Referral.objects.get(id=scene["id"]).risk["level"] == "medium"


def test_the_amendment_keeps_old_and_new_values_and_the_reason(scene):
    amend(scene, {"risk": {"level": "medium"}, "amendment_reason": "New DASH."}, scene["etag"])

    amendment = Amendment.objects.get()
    assert amendment.reason == "New DASH."
    assert amendment.changes["risk"]["old"]["level"] == "high"
    assert amendment.changes["risk"]["new"]["level"] == "medium"


@pytest.mark.parametrize(
    "body",
    [{"programme": "x"}, {"partner_service": None}, {"observers": []}, {"status": "accepted"}, {}],
    ids=["programme", "partner_service", "observers", "status", "nothing"],
)
def test_what_may_not_be_amended_is_a_400(scene, body):
    response = amend(scene, body, scene["etag"])

    assert response.status_code == 400
    assert Amendment.objects.count() == 0


def test_only_the_referrer_amends(scene):
    etag = scene["provider"].get(scene["url"])["ETag"]

    response = amend(scene, {"risk": {"level": "medium"}}, etag, client=scene["provider"])

    assert response.status_code == 403


def test_a_closed_referral_cannot_be_amended(scene):
    Referral.objects.filter(id=scene["id"]).update(status="withdrawn")
    etag = scene["referrer"].get(scene["url"])["ETag"]

    assert amend(scene, {"risk": {"level": "medium"}}, etag).status_code == 409


def test_history_shows_an_amendment_only_to_those_who_may_see_the_changed_category(scene):
    amend(scene, {"partner": {"contact": {"phone": "01632 960999"}}}, scene["etag"])

    referrer_history = scene["referrer"].get(f"{scene['url']}history/").json()["results"]
    provider_history = scene["provider"].get(f"{scene['url']}history/").json()["results"]

    assert referrer_history[0]["changes"]["partner.contact"]["new"]["phone"] == "01632 960999"
    assert provider_history == []
    assert "960999" not in str(provider_history)
    recipients = set(Event.objects.filter(type="amendment").values_list("recipient_id", flat=True))
    assert recipients == {scene["world"][AgencyKind.PROBATION].id}
