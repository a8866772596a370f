"""Referrals over HTTP: who may create, who may see, what each sees, and what is recorded."""

import uuid

import pytest

from agencies.models import AgencyKind
from audit.models import AccessRecord
from referrals.models import Person, Referral
from tests import factories
from tests.conftest import referral_body

pytestmark = pytest.mark.django_db

VICTIM_CONFIDENTIAL = ["children", "partner.contact", "partner.disclosures", "partner.identity"]


def create_referral(client, programme, **extra):
    response = client.post(
        "/api/v1/referrals/", referral_body(programme.id, **extra), format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def man(n):
    """The subject of referral_body, as the n-th man (one open referral each: DESIGN.md)."""
    subject = referral_body("")["subject"]
    subject["identity"]["identifiers"] = [{"system": "test.pnc", "value": f"85/{n:06d}B"}]
    return subject


def withheld_categories(view):
    return sorted(w["category"] for w in view["withheld"])


# --- authentication and scopes first ------------------------------------------------------------


def test_returns_401_if_unauthenticated(client):
    response = client.get("/api/v1/referrals/")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path", "scopes"),
    [
        ("get", "/api/v1/referrals/", ["referrals:write"]),
        ("post", "/api/v1/referrals/", ["referrals:read"]),
        ("get", f"/api/v1/referrals/{uuid.uuid4()}/", ["consent:read"]),
    ],
    ids=["list-needs-read", "create-needs-write", "read-needs-read"],
)
def test_returns_403_without_the_scope_the_endpoint_needs(
    api_client_for, world, method, path, scopes
):
    client = api_client_for(world[AgencyKind.PROBATION], scopes=scopes)

    response = getattr(client, method)(path, {}, format="json")

    assert response.status_code == 403
    assert "scope" in response.json()["detail"]


# --- who may refer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        AgencyKind.COURT,
        AgencyKind.PROBATION,
        AgencyKind.POLICE,
        AgencyKind.CHILDREN_SERVICES,
        AgencyKind.MARAC,
    ],
)
def test_referrer_kinds_may_refer(api_client_for, world, kind):
    client = api_client_for(world[kind])

    view = create_referral(client, world["programme"])

    assert view["referrer"] == str(world[kind].id)
    assert view["provider"] == str(world[AgencyKind.PROGRAMME_PROVIDER].id)
    assert view["status"] == "submitted"


@pytest.mark.parametrize(
    "kind",
    [AgencyKind.PROGRAMME_PROVIDER, AgencyKind.VICTIM_SERVICE, AgencyKind.HUB_OPERATOR],
)
def test_other_kinds_may_not_refer(api_client_for, world, kind):
    client = api_client_for(world[kind])

    response = client.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    )

    assert response.status_code == 403
    assert Referral.objects.count() == 0


# --- what each party sees -----------------------------------------------------------------------


def test_create_answers_with_the_referrers_view_exactly_as_a_read_returns_it(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])

    created = client.post("/api/v1/referrals/", referral_body(world["programme"].id), format="json")
    read = client.get(f"/api/v1/referrals/{created.json()['id']}/")

    assert created.json() == read.json()
    assert created["ETag"] == read["ETag"]
    assert created["Location"].endswith(f"/api/v1/referrals/{created.json()['id']}/")


def test_referrer_sees_every_category_it_supplied(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])

    view = create_referral(
        client,
        world["programme"],
        partner_service=str(world[AgencyKind.VICTIM_SERVICE].id),
        observers=[str(world[AgencyKind.COURT].id)],
    )

    assert view["withheld"] == []
    assert view["subject"]["identity"]["given_name"] == "Adam"
    assert view["subject"]["identity"]["id"]
    assert view["subject"]["contact"]["phone"] == "01632 960100"
    assert view["offence"]["summary"] == "Common assault."
    assert view["risk"]["level"] == "high"
    assert view["programme_progress"] == {"reports": []}
    assert view["partner"]["identity"]["name"] == "Beth Private"
    assert view["partner"]["contact"]["safe_contact"] == "Mornings"
    assert [d["summary"] for d in view["partner"]["disclosures"]] == [
        "She said the threats began in spring."
    ]
    assert view["partner_service"] == str(world[AgencyKind.VICTIM_SERVICE].id)
    assert view["observers"] == [str(world[AgencyKind.COURT].id)]
    assert view["children"] == [{"age": 6, "notes": "Primary school."}]


def test_programme_provider_never_sees_partner_or_children(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = create_referral(
        referrer, world["programme"], partner_service=str(world[AgencyKind.VICTIM_SERVICE].id)
    )
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery")

    view = provider.get(f"/api/v1/referrals/{created['id']}/").json()

    assert "partner" not in view
    assert "children" not in view
    assert "partner_service" not in view
    body = str(view)
    for secret in ("Beth Private", "Refuge, secret", "threats began", "Primary school"):
        assert secret not in body
    reasons = {w["category"]: w["reason"] for w in view["withheld"]}
    assert {c: reasons[c] for c in VICTIM_CONFIDENTIAL} == dict.fromkeys(
        VICTIM_CONFIDENTIAL, "victim_confidential"
    )


def test_provider_sees_admin_and_its_own_progress_and_every_other_category_is_listed_withheld(
    api_client_for, world
):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = create_referral(referrer, world["programme"])
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery")

    view = provider.get(f"/api/v1/referrals/{created['id']}/").json()

    assert view["id"] == created["id"]
    assert view["programme_progress"] == {"reports": []}
    assert "subject" not in view
    assert "offence" not in view
    assert "risk" not in view
    assert view["withheld"] == [
        {"category": "subject.identity", "reason": "no_agreement"},
        {"category": "subject.contact", "reason": "no_agreement"},
        {"category": "offence", "reason": "no_agreement"},
        {"category": "risk", "reason": "no_agreement"},
        {"category": "partner.identity", "reason": "victim_confidential"},
        {"category": "partner.contact", "reason": "victim_confidential"},
        {"category": "partner.disclosures", "reason": "victim_confidential"},
        {"category": "children", "reason": "victim_confidential"},
    ]


def test_withheld_lists_categories_even_when_the_referral_holds_no_data_in_them(
    api_client_for, world
):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    minimal = {
        "programme": str(world["programme"].id),
        "subject": {
            "identity": {"given_name": "Carl", "family_name": "Bare", "date_of_birth": "1990-05-05"}
        },
    }
    created = referrer.post("/api/v1/referrals/", minimal, format="json").json()
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery")

    view = provider.get(f"/api/v1/referrals/{created['id']}/").json()

    assert len(view["withheld"]) == 8


def test_partner_service_sees_its_own_role_but_not_the_partners_details(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = create_referral(
        referrer, world["programme"], partner_service=str(world[AgencyKind.VICTIM_SERVICE].id)
    )
    victim_service = api_client_for(world[AgencyKind.VICTIM_SERVICE], purpose="partner_safety")

    view = victim_service.get(f"/api/v1/referrals/{created['id']}/").json()

    assert view["partner_service"] == str(world[AgencyKind.VICTIM_SERVICE].id)
    assert "partner" not in view
    assert {"category": "partner.identity", "reason": "no_agreement"} in view["withheld"]


def test_observer_sees_the_referral_but_not_who_supports_the_partner(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = create_referral(
        referrer,
        world["programme"],
        partner_service=str(world[AgencyKind.VICTIM_SERVICE].id),
        observers=[str(world[AgencyKind.COURT].id)],
    )
    court = api_client_for(world[AgencyKind.COURT], purpose="court_compliance")

    view = court.get(f"/api/v1/referrals/{created['id']}/").json()

    assert view["observers"] == [str(world[AgencyKind.COURT].id)]
    assert "partner_service" not in view
    assert str(world[AgencyKind.VICTIM_SERVICE].id) not in str(view)


# --- non-parties --------------------------------------------------------------------------------


def test_agency_cannot_read_another_agencys_referral(api_client_for, world, make_agency):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = create_referral(referrer, world["programme"])
    other = api_client_for(make_agency(kind=AgencyKind.PROBATION))

    response = other.get(f"/api/v1/referrals/{created['id']}/")

    assert response.status_code == 404
    assert (
        response.json()["detail"]
        == (other.get(f"/api/v1/referrals/{uuid.uuid4()}/").json()["detail"])
    )


def test_agency_cannot_list_another_agencys_referral(api_client_for, world, make_agency):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    create_referral(referrer, world["programme"])
    other = api_client_for(make_agency(kind=AgencyKind.PROBATION))

    response = other.get("/api/v1/referrals/")

    assert response.status_code == 200
    assert response.json() == {"results": [], "next": None}


def test_a_victim_service_that_is_not_the_partner_service_cannot_see_the_referral(
    api_client_for, world, make_agency
):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = create_referral(
        referrer, world["programme"], partner_service=str(world[AgencyKind.VICTIM_SERVICE].id)
    )
    other = api_client_for(make_agency(kind=AgencyKind.VICTIM_SERVICE), purpose="partner_safety")

    assert other.get(f"/api/v1/referrals/{created['id']}/").status_code == 404


# --- lists --------------------------------------------------------------------------------------


def test_each_list_item_is_exactly_what_a_read_returns(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    ids = [create_referral(referrer, world["programme"], subject=man(n))["id"] for n in range(3)]
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery")

    listed = provider.get("/api/v1/referrals/").json()["results"]

    assert sorted(item["id"] for item in listed) == sorted(ids)
    for item in listed:
        assert item == provider.get(f"/api/v1/referrals/{item['id']}/").json()


def test_list_is_cursor_paginated_newest_first_without_repeats(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    ids = [create_referral(referrer, world["programme"], subject=man(n))["id"] for n in range(5)]

    seen = []
    url = "/api/v1/referrals/?page_size=2"
    while url:
        page = referrer.get(url).json()
        assert len(page["results"]) <= 2
        seen += [item["id"] for item in page["results"]]
        url = page["next"]

    assert seen == list(reversed(ids))


def test_list_costs_a_bounded_number_of_queries(
    api_client_for, world, django_assert_max_num_queries
):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    for n in range(6):
        create_referral(referrer, world["programme"], subject=man(n))

    with django_assert_max_num_queries(12):
        response = referrer.get("/api/v1/referrals/")

    assert len(response.json()["results"]) == 6


# --- people -------------------------------------------------------------------------------------


def test_subject_is_matched_to_an_existing_person_by_a_strong_identifier(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])

    first = create_referral(client, world["programme"])
    # To another programme: a second open one to the same programme would be a duplicate (409).
    second = create_referral(
        client, factories.ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER])
    )

    assert first["subject"]["identity"]["id"] == second["subject"]["identity"]["id"]


def test_subject_is_never_matched_by_name_and_date_of_birth_alone(api_client_for, world):
    client = api_client_for(world[AgencyKind.PROBATION])
    body = referral_body(world["programme"].id)
    del body["subject"]["identity"]["identifiers"]

    first = client.post("/api/v1/referrals/", body, format="json").json()
    second = client.post("/api/v1/referrals/", body, format="json").json()

    assert first["subject"]["identity"]["id"] != second["subject"]["identity"]["id"]
    assert Person.objects.count() == 4  # two men, two partners


# --- access records -----------------------------------------------------------------------------


def test_a_read_writes_one_access_record_with_the_categories_disclosed_and_withheld(
    api_client_for, world
):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = create_referral(referrer, world["programme"])
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery")
    before = AccessRecord.objects.count()

    provider.get(f"/api/v1/referrals/{created['id']}/", HTTP_X_REQUEST_ID="req-42")

    assert AccessRecord.objects.count() == before + 1
    record = AccessRecord.objects.latest("at")
    assert record.agency_id == world[AgencyKind.PROGRAMME_PROVIDER].id
    assert record.client == provider.oauth_client.client_id
    assert record.purpose == "programme_delivery"
    assert record.method == "GET"
    assert record.path == f"/api/v1/referrals/{created['id']}/"
    assert record.status == 200
    assert record.outcome == "served"
    assert record.request_id == "req-42"
    assert record.referrals == [created["id"]]
    assert record.disclosed == ["programme.progress", "referral.admin"]
    assert {w["category"]: w["reason"] for w in record.withheld}["partner.contact"] == (
        "victim_confidential"
    )
    assert record.persons == [created["subject"]["identity"]["id"]]


def test_an_access_record_holds_no_personal_data(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    create_referral(referrer, world["programme"])

    for record in AccessRecord.objects.all():
        stored = str(
            [
                record.referrals,
                record.persons,
                record.disclosed,
                record.withheld,
                record.decisions,
                record.path,
            ]
        )
        for value in ("Adam", "Testcase", "Beth", "Refuge", "threats", "85/000001A"):
            assert value not in stored


def test_create_and_list_are_recorded_too(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = create_referral(referrer, world["programme"])
    referrer.get("/api/v1/referrals/")

    create_record, list_record = AccessRecord.objects.order_by("at")
    assert (create_record.method, create_record.status) == ("POST", 201)
    assert create_record.referrals == [created["id"]]
    assert (list_record.method, list_record.status) == ("GET", 200)
    assert list_record.referrals == [created["id"]]


def test_a_non_partys_attempt_is_recorded_as_refused(api_client_for, world, make_agency):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = create_referral(referrer, world["programme"])
    stranger_agency = make_agency(kind=AgencyKind.POLICE)
    stranger = api_client_for(stranger_agency)

    stranger.get(f"/api/v1/referrals/{created['id']}/")

    record = AccessRecord.objects.latest("at")
    assert record.agency_id == stranger_agency.id
    assert (record.status, record.outcome, record.flagged) == (404, "refused", True)
    assert record.disclosed == []


def test_a_failed_create_leaves_no_referral_and_one_refused_record(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    body = referral_body(world["programme"].id, observers=[str(uuid.uuid4())])

    response = referrer.post("/api/v1/referrals/", body, format="json")

    assert response.status_code == 422
    assert Referral.objects.count() == 0
    assert Person.objects.count() == 0
    assert list(AccessRecord.objects.values_list("status", "outcome")) == [(422, "refused")]


def test_emergency_justification_on_a_read_is_recorded_and_flagged(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = create_referral(referrer, world["programme"])

    response = referrer.get(
        f"/api/v1/referrals/{created['id']}/",
        HTTP_X_EMERGENCY_JUSTIFICATION="Threat to life reported by police at 02:10",
    )

    assert response.status_code == 200
    record = AccessRecord.objects.latest("at")
    assert record.flagged is True
    assert record.justification == "Threat to life reported by police at 02:10"


# --- list filters -------------------------------------------------------------------------------


def test_list_filters_by_status_programme_and_dates(api_client_for, world):
    from tests.factories import ProgrammeFactory

    referrer = api_client_for(world[AgencyKind.PROBATION])
    other_programme = ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER])
    first = create_referral(referrer, world["programme"])
    second = create_referral(referrer, other_programme)
    Referral.objects.filter(id=second["id"]).update(status="acknowledged")

    def listed(query):
        response = referrer.get(f"/api/v1/referrals/?{query}")
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["results"]]

    assert listed("status=acknowledged") == [second["id"]]
    assert listed(f"programme={world['programme'].id}") == [first["id"]]
    assert listed(f"created_after={first['created_at']}") == [second["id"], first["id"]]
    assert listed(f"created_before={second['created_at']}") == [first["id"]]
    assert listed("updated_since=2999-01-01T00:00:00Z") == []


@pytest.mark.parametrize(
    "query", ["status=paused", "programme=nope", "created_after=yesterday", "colour=red"]
)
def test_bad_list_filters_are_a_400(api_client_for, world, query):
    referrer = api_client_for(world[AgencyKind.PROBATION])

    assert referrer.get(f"/api/v1/referrals/?{query}").status_code == 400
