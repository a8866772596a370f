"""Reports back: the provider writes them, each kind in its statuses; the referrer always sees
them; an urgent risk change reaches the referrer and the partner service at once."""

import datetime

import pytest

from agencies.models import AgencyKind
from referrals.models import Event, Referral, Report
from tests.conftest import referral_body

pytestmark = pytest.mark.django_db

TOMORROW = str(datetime.date.today() + datetime.timedelta(days=1))
REPORTS = {
    "assessment": {"kind": "assessment", "suitable": True, "summary": "Motivated."},
    "attendance": {"kind": "attendance", "session_date": "2026-11-01", "attendance": "attended"},
    "risk_change": {"kind": "risk_change", "level": "high", "summary": "New threats."},
    "completion": {"kind": "completion", "completed": True, "summary": "All 26 sessions."},
}
ALLOWED = {
    "submitted": set(),
    "acknowledged": {"risk_change"},
    "assessment": {"assessment", "risk_change"},
    "accepted": {"risk_change"},
    "in_programme": {"attendance", "risk_change", "completion"},
    "declined": set(),
    "completed": set(),
    "terminated": set(),
    "withdrawn": set(),
}


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
    }
    created = clients["referrer"].post(
        "/api/v1/referrals/",
        referral_body(
            world["programme"].id, partner_service=str(world[AgencyKind.VICTIM_SERVICE].id)
        ),
        format="json",
    )
    return {"world": world, "id": created.json()["id"], **clients}


def write(client, referral_id, body):
    return client.post(f"/api/v1/referrals/{referral_id}/reports/", body, format="json")


def test_each_kind_only_in_the_statuses_design_allows(scene):
    for status, allowed in ALLOWED.items():
        Referral.objects.filter(id=scene["id"]).update(status=status)
        for kind, body in REPORTS.items():
            response = write(scene["provider"], scene["id"], body)
            expected = 201 if kind in allowed else 409
            assert response.status_code == expected, (status, kind, response.json())


def test_only_the_provider_writes_reports(scene):
    Referral.objects.filter(id=scene["id"]).update(status="assessment")

    for role in ("referrer", "victim_service"):
        assert write(scene[role], scene["id"], REPORTS["assessment"]).status_code == 403
    assert Report.objects.count() == 0


def test_the_referrer_always_sees_the_reports_in_its_view(scene):
    Referral.objects.filter(id=scene["id"]).update(status="in_programme")
    written = write(scene["provider"], scene["id"], REPORTS["attendance"]).json()

    view = scene["referrer"].get(f"/api/v1/referrals/{scene['id']}/").json()
    listed = scene["referrer"].get(f"/api/v1/referrals/{scene['id']}/reports/").json()

    assert view["programme_progress"]["reports"] == [written]
    assert listed == {"results": [written], "withheld": []}
    assert written["attendance"] == "attended"


def test_others_see_reports_only_as_the_decision_allows(scene):
    Referral.objects.filter(id=scene["id"]).update(status="in_programme")
    write(scene["provider"], scene["id"], REPORTS["attendance"])

    listed = scene["victim_service"].get(f"/api/v1/referrals/{scene['id']}/reports/").json()

    assert listed == {
        "results": [],
        "withheld": [{"category": "programme.progress", "reason": "no_agreement"}],
    }


def test_an_urgent_risk_change_reaches_the_referrer_and_the_partner_service(scene):
    world = scene["world"]
    Referral.objects.filter(id=scene["id"]).update(status="accepted")

    write(scene["provider"], scene["id"], {**REPORTS["risk_change"], "urgent": True})

    urgent = Event.objects.filter(type="urgent_risk_change")
    assert {e.recipient_id for e in urgent} == {
        world[AgencyKind.PROBATION].id,
        world[AgencyKind.VICTIM_SERVICE].id,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "gossip"},
        {"kind": "attendance", "session_date": TOMORROW, "attendance": "attended"},
        {"kind": "attendance", "session_date": "2026-11-01", "attendance": "late"},
        {"kind": "assessment", "suitable": True, "mood": "fine"},
        {"kind": "completion"},
        {"kind": {}, "completed": False},
        ["not", "an", "object"],
    ],
    ids=[
        "unknown-kind",
        "future-session",
        "unknown-attendance",
        "unknown-field",
        "missing-field",
        "kind-not-a-string",
        "body-not-an-object",
    ],
)
def test_bad_reports_are_a_400_and_write_nothing(scene, body):
    Referral.objects.filter(id=scene["id"]).update(status="in_programme")

    response = write(scene["provider"], scene["id"], body)

    assert response.status_code == 400
    assert Report.objects.count() == 0


def test_a_non_party_cannot_see_or_write_reports(api_client_for, make_agency, scene):
    stranger = api_client_for(make_agency(kind=AgencyKind.PROGRAMME_PROVIDER))

    assert stranger.get(f"/api/v1/referrals/{scene['id']}/reports/").status_code == 404
    assert write(stranger, scene["id"], REPORTS["risk_change"]).status_code == 404
