"""The agency directory and the programme catalogue."""

import pytest

from agencies.models import AgencyKind
from referrals.models import Programme
from tests.factories import ProgrammeFactory

pytestmark = pytest.mark.django_db

PROGRAMME = {
    "name": "Respectful Relationships",
    "approach": "social_educational",
    "modality": "group",
    "capacity": 10,
}


def test_returns_401_if_unauthenticated(client):
    assert client.get("/api/v1/agencies/").status_code == 401
    assert client.get("/api/v1/programmes/").status_code == 401


def test_any_valid_token_reads_the_directory(api_client_for, world):
    client = api_client_for(world[AgencyKind.COURT], scopes=["consent:read"])

    response = client.get("/api/v1/agencies/")

    assert response.status_code == 200
    listed = {a["id"]: a for a in response.json()["results"]}
    court = listed[str(world[AgencyKind.COURT].id)]
    assert court == {
        "id": str(world[AgencyKind.COURT].id),
        "name": world[AgencyKind.COURT].name,
        "kind": "court",
        "active": True,
    }
    assert len(listed) == 8


def test_directory_and_catalogue_reads_need_no_purpose_and_write_no_access_record(
    api_client_for, world
):
    from audit.models import AccessRecord

    client = api_client_for(world[AgencyKind.COURT], scopes=["referrals:read"], purpose=None)

    assert client.get("/api/v1/agencies/").status_code == 200
    assert client.get("/api/v1/programmes/").status_code == 200
    assert AccessRecord.objects.count() == 0


def test_any_valid_token_reads_the_catalogue(api_client_for, world):
    client = api_client_for(world[AgencyKind.VICTIM_SERVICE], scopes=["consent:read"])

    results = client.get("/api/v1/programmes/").json()["results"]

    assert [p["id"] for p in results] == [str(world["programme"].id)]
    assert results[0]["provider"] == str(world[AgencyKind.PROGRAMME_PROVIDER].id)
    assert results[0]["modality"] == "group"


def test_provider_lists_its_own_programme(api_client_for, world):
    provider = world[AgencyKind.PROGRAMME_PROVIDER]
    client = api_client_for(provider, scopes=["referrals:write"])

    response = client.post("/api/v1/programmes/", PROGRAMME, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["provider"] == str(provider.id)
    assert body["active"] is True
    assert Programme.objects.get(id=body["id"]).provider == provider


def test_provider_is_the_tokens_agency_whatever_the_body_says(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], scopes=["referrals:write"])

    response = client.post(
        "/api/v1/programmes/",
        {**PROGRAMME, "provider": str(world[AgencyKind.COURT].id)},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "provider", "message": "Unknown field (or read-only here)."}
    ]


def test_listing_a_programme_needs_referrals_write(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], scopes=["referrals:read"])

    assert client.post("/api/v1/programmes/", PROGRAMME, format="json").status_code == 403


# The hub operator cannot even hold referrals:write (tests/test_purpose_limitation.py).
@pytest.mark.parametrize("kind", [AgencyKind.PROBATION, AgencyKind.VICTIM_SERVICE])
def test_only_programme_providers_list_programmes(api_client_for, world, kind):
    client = api_client_for(world[kind], scopes=["referrals:write"])

    response = client.post("/api/v1/programmes/", PROGRAMME, format="json")

    assert response.status_code == 403
    assert Programme.objects.count() == 1


def test_unknown_approach_or_modality_is_a_400(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], scopes=["referrals:write"])

    response = client.post(
        "/api/v1/programmes/", {**PROGRAMME, "modality": "anger_lecture"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "modality"


def test_a_second_programme_of_the_same_name_is_a_422(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], scopes=["referrals:write"])
    client.post("/api/v1/programmes/", PROGRAMME, format="json")

    response = client.post("/api/v1/programmes/", PROGRAMME, format="json")

    assert response.status_code == 422
    assert Programme.objects.filter(name=PROGRAMME["name"]).count() == 1


def test_catalogue_is_cursor_paginated(api_client_for, world):
    for _ in range(4):
        ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER])
    client = api_client_for(world[AgencyKind.COURT])

    first = client.get("/api/v1/programmes/?page_size=3").json()
    second = client.get(first["next"]).json()

    assert len(first["results"]) == 3
    assert len(second["results"]) == 2
    assert second["next"] is None


def test_a_programme_change_is_logged_with_the_acting_agency_client_and_request_id(
    api_client_for, world
):
    from auditlog.models import LogEntry

    provider = world[AgencyKind.PROGRAMME_PROVIDER]
    client = api_client_for(provider, scopes=["referrals:write"])

    created = client.post(
        "/api/v1/programmes/", PROGRAMME, format="json", HTTP_X_REQUEST_ID="change-7"
    ).json()

    entry = LogEntry.objects.get(object_pk=created["id"])
    assert entry.action == LogEntry.Action.CREATE
    assert entry.cid == "change-7"
    assert entry.additional_data["agency"] == str(provider.id)
    assert entry.additional_data["client"] == client.oauth_client.client_id


def test_referral_change_log_holds_no_personal_data(api_client_for, world):
    from auditlog.models import LogEntry

    from tests.conftest import referral_body

    client = api_client_for(world[AgencyKind.PROBATION])
    created = client.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    ).json()

    entry = LogEntry.objects.get(object_pk=created["id"])
    logged = str(entry.changes) + str(entry.additional_data)
    assert "submitted" in logged
    for value in ("Adam", "Testcase", "Beth", "Refuge", "threats", "Common assault"):
        assert value not in logged


def test_a_bad_cursor_is_a_400_not_a_404(api_client_for, world):
    client = api_client_for(world[AgencyKind.COURT])

    response = client.get("/api/v1/programmes/?cursor=not-a-cursor")

    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "cursor", "message": "Invalid cursor."}]


def test_a_provider_changes_its_programme_with_if_match(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], scopes=["referrals:write"])
    url = f"/api/v1/programmes/{world['programme'].id}/"
    read = client.get(url)

    missing = client.patch(url, {"capacity": 8}, format="json")
    changed = client.patch(url, {"capacity": 8}, format="json", HTTP_IF_MATCH=read["ETag"])
    stale = client.patch(url, {"active": False}, format="json", HTTP_IF_MATCH=read["ETag"])

    assert (missing.status_code, changed.status_code, stale.status_code) == (428, 200, 412)
    assert changed.json()["capacity"] == 8
    assert changed.json()["active"] is True  # untouched by a partial change


def test_only_its_provider_changes_a_programme(api_client_for, world, make_agency):
    other = api_client_for(
        make_agency(kind=AgencyKind.PROGRAMME_PROVIDER), scopes=["referrals:write"]
    )
    url = f"/api/v1/programmes/{world['programme'].id}/"

    response = other.patch(
        url, {"active": False}, format="json", HTTP_IF_MATCH=other.get(url)["ETag"]
    )

    assert response.status_code == 403


def test_an_inactive_programme_takes_no_referrals(api_client_for, world):
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], scopes=["referrals:write"])
    url = f"/api/v1/programmes/{world['programme'].id}/"
    provider.patch(url, {"active": False}, format="json", HTTP_IF_MATCH=provider.get(url)["ETag"])
    referrer = api_client_for(world[AgencyKind.PROBATION])

    from tests.conftest import referral_body

    response = referrer.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    )

    assert response.status_code == 422
