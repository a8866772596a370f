"""The demo world, seen by each agency: different parts of one referral, and never the partner's
details for the men's programme, whichever endpoint it calls."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from referrals.models import Referral
from tests.conftest import SchemaCheckedClient, request_token

pytestmark = pytest.mark.django_db

# What the demo partner told the police, and where and how she can be reached.
PARTNER_DETAILS = (
    "Sarah Sample",
    "Withheld refuge address",
    "01632 960002",
    "Weekday mornings only",
    "threats began last year",
    "Attends nursery",
)


@pytest.fixture
def demo():
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    clients = {}
    for line in out.getvalue().splitlines():
        seeded = json.loads(line)
        token = request_token(seeded["client_id"], seeded["client_secret"]).json()["access_token"]
        client = SchemaCheckedClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        clients[seeded["agency"]] = client
    referral = Referral.objects.get(subject_identity__family_name="Example")
    return clients, referral


def view(client, referral):
    response = client.get(f"/api/v1/referrals/{referral.id}/")
    assert response.status_code == 200
    return response.json()


def test_the_demo_shows_each_agency_a_different_part_of_one_referral(demo):
    clients, referral = demo

    provider = view(clients["Turning Point Programmes"], referral)
    womens_aid = view(clients["Northshire Women's Aid"], referral)
    court = view(clients["Northshire Magistrates' Court"], referral)
    probation = view(clients["Northshire Probation Service"], referral)

    assert provider["subject"]["identity"]["family_name"] == "Example"
    assert provider["risk"]["level"] == "high"
    assert "partner" not in provider and "children" not in provider
    assert womens_aid["partner"]["contact"]["safe_contact"].startswith("Weekday mornings")
    assert womens_aid["risk"]["level"] == "high"
    assert "subject" not in womens_aid
    assert court["offence"]["summary"].startswith("Assault")
    assert {"category": "risk", "reason": "no_agreement"} in court["withheld"]
    assert probation["withheld"] == []


def test_a_programme_provider_finds_none_of_the_partners_details_anywhere(demo, api_client_for):
    _, referral = demo
    # Every scope there is, so that only the disclosure decision stands in the way.
    provider = api_client_for(referral.provider, purpose="programme_delivery")
    rid = referral.id
    calls = [
        "/api/v1/referrals/",
        f"/api/v1/referrals/{rid}/",
        "/api/v1/consents/",
        f"/api/v1/consents/?referral={rid}",
        "/api/v1/sharing-agreements/",
        "/api/v1/programmes/",
        "/api/v1/agencies/",
    ]
    explain = {
        "referral": str(rid),
        "agency": str(referral.provider_id),
        "purpose": "programme_delivery",
    }
    responses = [provider.get(path) for path in calls]
    responses.append(provider.get("/api/v1/sharing-agreements/explain/", explain))
    for purpose in ("programme_delivery", "partner_safety", "risk_management", "marac"):
        responses.append(provider.get(f"/api/v1/referrals/{rid}/", HTTP_X_PURPOSE=purpose))
    responses.append(
        provider.get(
            f"/api/v1/referrals/{rid}/",
            HTTP_X_EMERGENCY_JUSTIFICATION="Testing whether an emergency opens anything",
        )
    )

    for response in responses:
        assert response.status_code == 200, response.request["PATH_INFO"]
        body = response.content.decode()
        for detail in PARTNER_DETAILS:
            assert detail not in body, (response.request["PATH_INFO"], detail)
        assert str(referral.partner_id) not in body
        # Who supports her: organisational outputs (the directory, the provider's own
        # agreements) name victim services, but nothing about this referral does.
        path = response.request["PATH_INFO"]
        if path.startswith(
            ("/api/v1/referrals/", "/api/v1/consents/", "/api/v1/sharing-agreements/explain/")
        ):
            assert str(referral.partner_service_id) not in body, path


def test_admin_and_schema_show_no_partner_details_either(demo, client):
    for path in ("/api/schema/", "/api/docs/", "/healthz"):
        body = APIClient().get(path).content.decode()
        for detail in PARTNER_DETAILS:
            assert detail not in body
