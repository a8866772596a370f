"""The demo world, seen by each agency: different parts of one referral, and never the partner's
details for the men's programme, whichever endpoint it calls."""

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from agencies.models import Agency
from consent.models import Consent
from referrals.models import Person, Programme, Referral
from sharing_policies.models import Agreement
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
    "Lily Sample",
    "2022-04-09",
    "2026-05-20",
)


@pytest.fixture
def demo():
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    clients = {}
    for line in out.getvalue().splitlines():
        seeded = json.loads(line)
        if "client_id" not in seeded:
            continue  # a demo person, for the web pages
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


def sweep_paths(referral) -> list[tuple[str, dict]]:
    """Every GET operation in the committed schema, with its path filled in for the demo
    referral: an endpoint added later is swept from its first day."""
    from consent.models import Consent
    from sharing_policies.models import Agreement
    from tests.conftest import openapi_schema

    values = {
        "referral_id": str(referral.id),
        "consent_id": str(Consent.objects.filter(referral=referral).first().id),
        "agreement_id": str(Agreement.objects.filter(provider=referral.provider).first().id),
        "person_id": str(referral.subject_id),
        "programme_id": str(referral.programme_id),
    }
    queries = {
        "/api/v1/sharing-agreements/explain/": {
            "referral": str(referral.id),
            "agency": str(referral.provider_id),
            "purpose": "programme_delivery",
        },
    }
    calls = []
    for template, operations in openapi_schema()["paths"].items():
        if "get" not in operations:
            continue
        names = re.findall(r"\{([^}]+)\}", template)
        missing = [n for n in names if n not in values]
        assert not missing, f"give the sweep a value for {missing} in {template}"
        path = template
        for name in names:
            path = path.replace("{" + name + "}", values[name])
        calls.append((path, queries.get(template, {})))
        if template.endswith("/consents/"):
            calls.append((path, {"referral": str(referral.id)}))
    return calls


def test_a_programme_provider_finds_none_of_the_partners_details_anywhere(demo, api_client_for):
    _, referral = demo
    # Every scope there is, so that only the disclosure decision stands in the way.
    provider = api_client_for(referral.provider, purpose="programme_delivery")
    calls = sweep_paths(referral)
    assert len(calls) >= 10
    rid = referral.id
    responses = [provider.get(path, query) for path, query in calls]
    for purpose in ("programme_delivery", "partner_safety", "risk_management", "marac"):
        responses.append(provider.get(f"/api/v1/referrals/{rid}/", HTTP_X_PURPOSE=purpose))
    responses.append(
        provider.get(
            f"/api/v1/referrals/{rid}/",
            HTTP_X_EMERGENCY_JUSTIFICATION="Testing whether an emergency opens anything",
        )
    )

    for response in responses:
        path = response.request["PATH_INFO"]
        # Some endpoints do not exist for a provider at all (404), or are the hub operator's
        # (403): that is a pass too.
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode()
        for detail in PARTNER_DETAILS:
            assert detail not in body, (path, detail)
        assert str(referral.partner_id) not in body, path
        # Who supports her: organisational outputs (the directory, the provider's own
        # agreements) name victim services, but nothing about this referral does.
        if not path.startswith(("/api/v1/agencies/", "/api/v1/sharing-agreements/")) or (
            "explain" in path
        ):
            assert str(referral.partner_service_id) not in body, path


def test_admin_and_schema_show_no_partner_details_either(demo, client):
    for path in ("/api/schema/", "/api/docs/", "/healthz"):
        body = APIClient().get(path).content.decode()
        for detail in PARTNER_DETAILS:
            assert detail not in body


def test_the_dpo_search_export_and_reports_hold_none_of_the_seeded_partners_details(demo):
    clients, referral = demo
    # Every demo agency reads the referral, its history and its accesses (emergency included),
    # so that the audit trail holds every kind of record there is.
    for name, client in clients.items():
        client.get(f"/api/v1/referrals/{referral.id}/")
        client.get(f"/api/v1/referrals/{referral.id}/history/")
        client.get(f"/api/v1/referrals/{referral.id}/accesses/")
        client.get(
            f"/api/v1/referrals/{referral.id}/",
            HTTP_X_EMERGENCY_JUSTIFICATION=f"Emergency test read by {name}",
        )
    operator = clients["Referral Hub Operator"]
    responses = [
        operator.get("/api/v1/audit/events/", {"page_size": 200}),
        operator.get("/api/v1/audit/events/export/"),
        operator.get("/api/v1/audit/events/export/", HTTP_ACCEPT="text/csv"),
        operator.get(f"/api/v1/audit/subjects/{referral.subject_id}/report/"),
        operator.get(
            f"/api/v1/audit/subjects/{referral.subject_id}/report/", HTTP_ACCEPT="text/html"
        ),
    ]

    for response in responses:
        assert response.status_code == 200, response.request["PATH_INFO"]
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        for detail in PARTNER_DETAILS:
            assert detail not in raw.decode(), (response.request["PATH_INFO"], detail)
    assert str(referral.partner_id) not in responses[3].content.decode()


UUID_PATTERN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def told(response) -> str:
    """A response's body and headers as text (a streamed body read once and kept)."""
    if not hasattr(response, "told"):
        if response.streaming:
            raw = b"".join(response.streaming_content)
            response.streaming_content = [raw]
        else:
            raw = response.content
        response.told = raw.decode() + "\n" + json.dumps(dict(response.headers))
    return response.told


def every_page(client, path, query=None):
    responses = [client.get(path, query or {})]
    while (
        responses[-1].status_code == 200
        and not responses[-1].streaming
        and isinstance(responses[-1].json(), dict)
        and responses[-1].json().get("next")
    ):
        responses.append(client.get(responses[-1].json()["next"]))
    return responses


def one_hop(uuid: str, referral, provider, dpo) -> list:
    """Every GET the schema has where this id names something, as the provider asks it (its
    DPO for the audit endpoints); nothing for an id that names nothing one can look up."""
    api = "/api/v1"
    if Referral.objects.filter(id=uuid).exists():
        explain = {"referral": uuid, "agency": str(referral.provider_id)}
        return [
            provider.get(f"{api}/referrals/{uuid}/"),
            provider.get(f"{api}/referrals/{uuid}/history/"),
            provider.get(f"{api}/referrals/{uuid}/reports/"),
            provider.get(f"{api}/referrals/{uuid}/partner-contact/"),
            *every_page(provider, f"{api}/referrals/{uuid}/accesses/"),
            *every_page(provider, f"{api}/consents/", {"referral": uuid}),
            provider.get(
                f"{api}/sharing-agreements/explain/", {**explain, "purpose": "programme_delivery"}
            ),
            *every_page(dpo, f"{api}/audit/events/", {"referral": uuid}),
        ]
    if Agreement.objects.filter(id=uuid).exists():
        return [provider.get(f"{api}/sharing-agreements/{uuid}/")]
    if Consent.objects.filter(id=uuid).exists():
        return [provider.get(f"{api}/consents/{uuid}/")]
    if Person.objects.filter(id=uuid).exists():
        return [
            dpo.get(f"{api}/audit/subjects/{uuid}/report/"),
            *every_page(dpo, f"{api}/audit/events/", {"person": uuid}),
        ]
    if Agency.objects.filter(id=uuid).exists():
        return every_page(dpo, f"{api}/audit/events/", {"agency": uuid})
    if Programme.objects.filter(id=uuid).exists():
        return [provider.get(f"{api}/programmes/{uuid}/")]
    return []


def test_following_every_id_one_hop_as_the_provider_finds_no_victim_service(demo, api_client_for):
    clients, referral = demo
    # Every demo agency reads the referral (an emergency read too), so that the trail holds
    # every kind of record: the women's aid's reads of the provider's reports among them.
    for client in clients.values():
        client.get(f"/api/v1/referrals/{referral.id}/")
        client.get(f"/api/v1/referrals/{referral.id}/accesses/")
        client.get(
            f"/api/v1/referrals/{referral.id}/",
            HTTP_X_EMERGENCY_JUSTIFICATION="Testing an emergency read",
        )
    provider = api_client_for(referral.provider, purpose="programme_delivery")
    dpo = api_client_for(referral.provider, scopes=["audit:read"], purpose=None)
    services = {
        str(a) for a in Agency.objects.filter(kind="victim_service").values_list("id", flat=True)
    }
    assert services

    first = []
    for path, query in sweep_paths(referral):
        client = dpo if path.startswith("/api/v1/audit/") else provider
        first.extend(every_page(client, path, query))
    first.append(dpo.get("/api/v1/audit/events/export/", HTTP_ACCEPT="text/csv"))
    # The directory lists every agency, victim services too, by design: nothing is followed
    # from it, and it is the one response that may name one.
    first = [r for r in first if r.request["PATH_INFO"] != "/api/v1/agencies/"]
    found = {u.lower() for r in first for u in UUID_PATTERN.findall(told(r))}
    hops = [r for uuid in sorted(found) for r in one_hop(uuid, referral, provider, dpo)]

    assert len(hops) > 10
    for response in first + hops:
        where = (response.request["PATH_INFO"], response.request.get("QUERY_STRING"))
        assert response.status_code in (200, 403, 404), (where, response.status_code)
        named = [s for s in services if s in told(response).lower()]
        assert not named, (where, named)
