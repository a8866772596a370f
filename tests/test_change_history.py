"""Model changes recorded with django-auditlog: agencies, clients (never their secrets),
agreements and programmes in full; referrals and consents by status, ids and parties only.
The actor of an API change is the token's agency, client and person."""

import datetime
import json
from urllib.parse import parse_qs, urlparse

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from agencies.models import Agency, AgencyKind, Client
from agencies.services import client_create
from consent.models import Consent
from referrals.models import Referral
from sharing_policies.models import Agreement
from tests.conftest import SchemaCheckedClient, referral_body
from tests.test_oauth_people import REDIRECT, exchange, pkce_pair, staff_member

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
P = AgencyKind.PROBATION
PERSONAL_VALUES = (
    "Adam",
    "Testcase",
    "2 Test Road",
    "Common assault",
    "Escalating",
    "Beth Private",
    "Refuge, secret",
    "threats began in spring",
    "Primary school",
    "F-1",
    "She changed her mind",
)


def entries_for(model, object_id):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_pk=str(object_id)
    ).order_by("timestamp", "id")


def logged_text(entries):
    return json.dumps([[e.changes, e.additional_data] for e in entries], default=str)


def test_an_agency_change_is_recorded(capsys):
    call_command("create_agency", "--name", "North Probation", "--kind", "probation")
    agency_id = json.loads(capsys.readouterr().out)["id"]
    agency = Agency.objects.get(id=agency_id)
    agency.active = False
    agency.save()

    created, deactivated = entries_for(Agency, agency_id)

    assert created.action == LogEntry.Action.CREATE
    assert deactivated.changes_dict["active"] == ["True", "False"]


def test_a_clients_change_log_never_holds_its_secret(capsys, make_agency):
    agency = make_agency(kind=P)
    call_command("create_client", "--agency", str(agency.id), "--scopes", "referrals:read")
    issued = json.loads(capsys.readouterr().out)

    (entry,) = entries_for(Client, Client.objects.get(client_id=issued["client_id"]).pk)

    assert entry.action == LogEntry.Action.CREATE
    assert "client_secret" not in entry.changes_dict
    stored = Client.objects.get(client_id=issued["client_id"]).client_secret
    for secret in (issued["client_secret"], stored, stored[-20:]):
        assert secret not in json.dumps(list(LogEntry.objects.values()), default=str)


def test_an_agreement_change_names_the_agency_client_and_request(api_client_for, world):
    client = api_client_for(world[P])
    body = {
        "name": "Progress to the court",
        "provider": str(world[P].id),
        "recipient": str(world[AgencyKind.COURT].id),
        "recipient_kind": None,
        "purposes": ["court_compliance"],
        "grants": [{"category": "risk", "lawful_basis": "public_task"}],
        "valid_from": str(TODAY),
        "valid_to": None,
        "status": "active",
    }
    created = client.post(
        "/api/v1/sharing-agreements/", body, format="json", HTTP_X_REQUEST_ID="agree-1"
    )
    assert created.status_code == 201

    entries = entries_for(Agreement, created.json()["id"])

    assert entries.exists()
    assert all(e.additional_data["agency"] == str(world[P].id) for e in entries)
    assert all(e.additional_data["client"] == client.oauth_client.client_id for e in entries)
    assert {e.cid for e in entries} == {"agree-1"}


def test_a_referrals_change_log_holds_its_status_and_parties_never_its_data(api_client_for, world):
    referrer = api_client_for(world[P])
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER])
    referral = referrer.post(
        "/api/v1/referrals/",
        referral_body(
            world["programme"].id, partner_service=str(world[AgencyKind.VICTIM_SERVICE].id)
        ),
        format="json",
    ).json()
    moved = provider.post(
        f"/api/v1/referrals/{referral['id']}/transitions/", {"to": "acknowledged"}, format="json"
    )
    assert moved.status_code == 200

    created, acknowledged = entries_for(Referral, referral["id"])

    assert created.changes_dict["referrer"][1] == str(world[P].id)
    assert created.changes_dict["partner_service"][1] == str(world[AgencyKind.VICTIM_SERVICE].id)
    assert acknowledged.changes_dict["status"] == ["submitted", "acknowledged"]
    assert acknowledged.additional_data["agency"] == str(world[AgencyKind.PROGRAMME_PROVIDER].id)
    assert acknowledged.additional_data["client"] == provider.oauth_client.client_id
    logged = logged_text([created, acknowledged])
    for value in PERSONAL_VALUES:
        assert value not in logged


def test_a_consents_change_log_holds_its_status_never_its_provisions_or_evidence(
    api_client_for, world
):
    referrer = api_client_for(world[P])
    referral = referrer.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    ).json()
    consent = referrer.post(
        "/api/v1/consents/",
        {
            "referral": referral["id"],
            "data_subject": "partner",
            "provisions": [{"type": "deny", "categories": ["partner.contact"]}],
            "valid_from": str(TODAY),
            "evidence": {"method": "signed_form", "reference": "F-1"},
        },
        format="json",
    ).json()
    withdrawn = referrer.post(
        f"/api/v1/consents/{consent['id']}/withdraw/",
        {"reason": "She changed her mind"},
        format="json",
    )
    assert withdrawn.status_code == 200

    created, withdrawal = entries_for(Consent, consent["id"])

    assert created.changes_dict["data_subject"][1] == "partner"
    assert "withdrawn_at" in withdrawal.changes_dict
    assert withdrawal.additional_data["agency"] == str(world[P].id)
    logged = logged_text([created, withdrawal])
    for value in (*PERSONAL_VALUES, "partner.contact", "signed_form"):
        assert value not in logged


def test_a_persons_change_names_the_person_behind_the_token(client, world):
    agency = world[P]
    app = client_create(
        agency_id=agency.id,
        scopes=["referrals:read", "referrals:write"],
        purpose="risk_management",
        grant_type=Client.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT,
    )
    officer = staff_member(agency)
    client.force_login(officer)
    verifier, challenge = pkce_pair()
    redirected = client.post(
        "/o/authorize/",
        {
            "client_id": app.client.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "referrals:read referrals:write",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "allow": "Authorize",
        },
    )
    code = parse_qs(urlparse(redirected["Location"]).query)["code"][0]
    token = exchange(app, code, verifier).json()["access_token"]
    api = SchemaCheckedClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    created = api.post("/api/v1/referrals/", referral_body(world["programme"].id), format="json")

    assert created.status_code == 201
    (entry,) = entries_for(Referral, created.json()["id"])
    assert entry.additional_data == {
        "agency": str(agency.id),
        "client": app.client.client_id,
        "person": str(officer.id),
        "request_id": entry.cid,
    }


def test_oauth_tokens_never_reach_the_change_log(api_client_for, world):
    client = api_client_for(world[P])
    client.get("/api/v1/referrals/")

    assert client.access_token not in json.dumps(list(LogEntry.objects.values()), default=str)
    tracked = {e.content_type.model for e in LogEntry.objects.all()}
    assert not tracked & {"accesstoken", "refreshtoken", "grant", "idtoken"}
