"""Set-up without admin clicks: create_agency, create_client, seed_demo (one JSON object a line)."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from agencies.models import Agency, AgencyKind, Client
from referrals.models import Programme, Referral
from tests.conftest import request_token

pytestmark = pytest.mark.django_db


def run(*args: str) -> list[dict]:
    out = StringIO()
    call_command(*args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_create_agency_prints_its_id():
    (line,) = run("create_agency", "--name", "Eastshire Probation", "--kind", "probation")

    assert Agency.objects.get(id=line["id"]).kind == "probation"


def test_create_agency_refuses_an_unknown_kind():
    with pytest.raises(CommandError):
        run("create_agency", "--name", "X", "--kind", "counselling")


def test_create_client_prints_a_working_secret_once():
    (agency,) = run("create_agency", "--name", "Eastshire Police", "--kind", "police")

    (line,) = run(
        "create_client",
        "--agency",
        agency["id"],
        "--scopes",
        "referrals:read referrals:write",
        "--purpose",
        "risk_management",
    )

    client = Client.objects.get(client_id=line["client_id"])
    assert client.client_secret != line["client_secret"]
    assert client.default_purpose == "risk_management"
    token = request_token(line["client_id"], line["client_secret"])
    assert token.json()["scope"] == "referrals:read referrals:write"


@pytest.mark.parametrize(
    ("agency", "scopes"),
    [("not-a-uuid", "referrals:read"), ("00000000-0000-0000-0000-000000000000", "referrals:read")],
)
def test_create_client_refuses_an_unknown_agency(agency, scopes):
    with pytest.raises(CommandError):
        run("create_client", "--agency", agency, "--scopes", scopes)


def test_create_client_refuses_an_unknown_scope():
    (agency,) = run("create_agency", "--name", "Eastshire Court", "--kind", "court")

    with pytest.raises(CommandError, match="Unknown scope"):
        run("create_client", "--agency", agency["id"], "--scopes", "referrals:read everything")
    assert Client.objects.count() == 0


@override_settings(DEBUG=True)
def test_seed_demo_builds_a_world_and_prints_working_credentials():
    lines = run("seed_demo")

    assert {line["kind"] for line in lines} >= {
        "court",
        "probation",
        "police",
        "victim_service",
        "programme_provider",
        "children_services",
        "hub_operator",
    }
    clients = [line for line in lines if "client_id" in line]
    assert sum(line["kind"] == "programme_provider" for line in clients) == 2
    for line in clients:
        assert set(line) == {
            "agency",
            "kind",
            "client_id",
            "client_secret",
            "scopes",
            "purpose",
            "purposes",
        }
        assert line["purpose"]
        assert request_token(line["client_id"], line["client_secret"]).status_code == 200
    assert Programme.objects.count() >= 3
    assert Referral.objects.count() >= 3


@override_settings(DEBUG=True)
def test_seed_demo_is_idempotent_and_gives_fresh_secrets_each_run():
    first = [line for line in run("seed_demo") if "client_id" in line]
    counts = (Agency.objects.count(), Client.objects.count(), Referral.objects.count())

    second = [line for line in run("seed_demo") if "client_id" in line]

    assert (Agency.objects.count(), Client.objects.count(), Referral.objects.count()) == counts
    assert [line["client_id"] for line in first] == [line["client_id"] for line in second]
    for old, new in zip(first, second, strict=True):
        assert old["client_secret"] != new["client_secret"]
        assert request_token(old["client_id"], old["client_secret"]).status_code == 401
        assert request_token(new["client_id"], new["client_secret"]).status_code == 200


@override_settings(DEBUG=True)
def test_seed_demo_rotates_only_the_demo_clients_secrets():
    (agency,) = run("create_agency", "--name", "Real Probation", "--kind", "probation")
    (real,) = run("create_client", "--agency", agency["id"], "--scopes", "referrals:read")

    run("seed_demo")

    assert request_token(real["client_id"], real["client_secret"]).status_code == 200


@override_settings(DEBUG=False)
def test_seed_demo_refuses_with_debug_off_unless_forced():
    with pytest.raises(CommandError, match="DEBUG"):
        run("seed_demo")
    assert Agency.objects.count() == 0

    assert run("seed_demo", "--force")


@override_settings(DEBUG=True)
def test_seed_demo_prints_a_person_per_agency_who_signs_in_with_a_fresh_password(client):
    people = [line for line in run("seed_demo") if "username" in line]
    again = {line["username"]: line for line in run("seed_demo") if "username" in line}

    assert {person["kind"] for person in people} == {kind.value for kind in AgencyKind} - {"marac"}
    assert {person["role"] for person in people} >= {"practitioner", "dpo"}
    for person in people:
        assert set(person) == {"agency", "kind", "username", "password", "role"}
        fresh = again[person["username"]]["password"]
        assert fresh != person["password"]
        stale = client.post(
            "/accounts/login/", {"username": person["username"], "password": person["password"]}
        )
        assert stale.status_code == 200, "last run's password no longer signs in"
        signed_in = client.post(
            "/accounts/login/", {"username": person["username"], "password": fresh}
        )
        assert signed_in.status_code == 302, person["username"]
        assert client.get("/home/").context["membership"].agency.name == person["agency"]
        client.post("/accounts/logout/")
