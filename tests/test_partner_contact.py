"""Proactive contact with the partner: her support service's task alone, never the programme's."""

import datetime

import pytest
from django.utils import timezone

from agencies.models import AgencyKind
from referrals.models import Event, PartnerContactTask
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted(api_client_for, world):
    """A referral with a partner service, moved to accepted by the provider."""
    clients = {
        "referrer": api_client_for(world[AgencyKind.PROBATION]),
        "provider": api_client_for(
            world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery"
        ),
        "victim_service": api_client_for(
            world[AgencyKind.VICTIM_SERVICE], purpose="partner_safety"
        ),
        "observer": api_client_for(world[AgencyKind.COURT], purpose="court_compliance"),
    }
    referral = factories.AcceptedReferralFactory(
        referrer=world[AgencyKind.PROBATION],
        programme=world["programme"],
        extra={
            "partner_service": world[AgencyKind.VICTIM_SERVICE],
            "observers": [world[AgencyKind.COURT]],
        },
        subject_identifiers=None,
        client=clients["referrer"],
        provider_client=clients["provider"],
    )
    referral_id = str(referral.id)
    return {"world": world, "id": referral_id, **clients}


def url(scene):
    return f"/api/v1/referrals/{scene['id']}/partner-contact/"


def attempt(**extra):
    return {
        "attempted_at": timezone.now().isoformat(),  # after the referral was made
        "outcome": "reached",
        "notes": "Safety plan reviewed.",
        **extra,
    }


def test_acceptance_opens_a_task_for_the_partner_service_only(accepted):
    task = PartnerContactTask.objects.get()

    assert task.partner_service == accepted["world"][AgencyKind.VICTIM_SERVICE]
    told = set(
        Event.objects.filter(type="partner_contact_task").values_list("recipient_id", flat=True)
    )
    assert told == {accepted["world"][AgencyKind.VICTIM_SERVICE].id}
    response = accepted["victim_service"].get(url(accepted))
    assert response.status_code == 200
    assert response.json()["task"]["id"] == str(task.id)


@pytest.mark.parametrize("role", ["referrer", "provider", "observer"])
def test_for_everyone_else_the_task_does_not_exist(accepted, role):
    assert accepted[role].get(url(accepted)).status_code == 404
    assert accepted[role].post(url(accepted), attempt(), format="json").status_code == 404
    feed = str(accepted[role].get("/api/v1/events/").json())
    assert "partner_contact_task" not in feed
    history = str(accepted[role].get(f"/api/v1/referrals/{accepted['id']}/history/").json())
    assert "partner_contact" not in history


def test_the_partner_service_records_attempts_as_its_own_disclosures(accepted):
    response = accepted["victim_service"].post(url(accepted), attempt(), format="json")

    assert response.status_code == 201
    (recorded,) = response.json()["attempts"]
    assert recorded["outcome"] == "reached"
    assert recorded["supplier"] == str(accepted["world"][AgencyKind.VICTIM_SERVICE].id)
    view = accepted["victim_service"].get(f"/api/v1/referrals/{accepted['id']}/").json()
    assert [e["kind"] for e in view["partner"]["disclosures"]] == ["contact_attempt"]


def test_the_provider_never_sees_an_attempt(accepted):
    accepted["victim_service"].post(
        url(accepted), attempt(notes="She is at the refuge."), format="json"
    )

    view = accepted["provider"].get(f"/api/v1/referrals/{accepted['id']}/").json()

    assert "partner" not in view
    assert "refuge" not in str(view)


def test_contact_details_come_with_the_task_only_as_the_decision_allows(accepted):
    document = accepted["victim_service"].get(url(accepted)).json()

    assert "partner" not in document
    assert {w["category"] for w in document["withheld"]} >= {"partner.contact"}


@pytest.mark.parametrize(
    "body",
    [
        attempt(outcome="maybe"),
        attempt(attempted_at=(timezone.now() + datetime.timedelta(days=1)).isoformat()),
        attempt(colour="red"),
        {"outcome": "reached"},
    ],
    ids=["unknown-outcome", "in-the-future", "unknown-field", "no-time"],
)
def test_bad_attempts_are_a_400(accepted, body):
    assert accepted["victim_service"].post(url(accepted), body, format="json").status_code == 400


@pytest.mark.parametrize("basis", ["consent", "public_task"])
def test_explain_never_names_an_agreement_that_leads_back_to_the_partner_service(accepted, basis):
    world = accepted["world"]
    service, court = world[AgencyKind.VICTIM_SERVICE], world[AgencyKind.COURT]
    assert (
        accepted["victim_service"].post(url(accepted), attempt(), format="json").status_code == 201
    )
    published = accepted["victim_service"].post(
        "/api/v1/sharing-agreements/",
        {
            "name": "Contact outcomes to the court",
            "provider": str(service.id),
            "recipient": str(court.id),
            "recipient_kind": None,
            "purposes": ["court_compliance"],
            "grants": [{"category": "partner.disclosures", "lawful_basis": basis}],
            "valid_from": str(datetime.date.today()),
            "valid_to": None,
            "status": "active",
        },
        format="json",
    )
    assert published.status_code == 201

    explained = accepted["observer"].get(
        "/api/v1/sharing-agreements/explain/",
        {"referral": accepted["id"], "agency": str(court.id), "purpose": "court_compliance"},
    )

    assert explained.status_code == 200
    body = explained.content.decode()
    assert published.json()["id"] not in body
    assert str(service.id) not in body
    (disclosures,) = [
        c for c in explained.json()["categories"] if c["category"] == "partner.disclosures"
    ]
    assert disclosures["disclosed"] is (basis == "public_task")
