"""What real referral forms carry (issue 11, item 5): risk as its tool grades it, duplicate
referrals, aliases, the relationship to the partner, children by name and date of birth, and
dates that must make sense (contact attempts, agreement reviews). Over HTTP, real tokens."""

import datetime

import pytest
from django.utils import timezone

from agencies.models import AgencyKind
from referrals.models import Referral
from tests import factories
from tests.conftest import referral_body

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
P = AgencyKind.PROBATION
REFERRALS = "/api/v1/referrals/"


@pytest.fixture
def referrer(api_client_for, world):
    return api_client_for(world[P])


def create(client, world, **extra):
    return client.post(REFERRALS, referral_body(world["programme"].id, **extra), format="json")


def fields_of(response):
    return {e["field"] for e in response.json().get("errors", [])}


def amend(client, referral_id, body):
    etag = client.get(f"{REFERRALS}{referral_id}/")["ETag"]
    return client.patch(f"{REFERRALS}{referral_id}/", body, format="json", HTTP_IF_MATCH=etag)


def subject(value="PNC-FORMS-0001"):
    return {
        "identity": {
            "given_name": "Adam",
            "family_name": "Testcase",
            "date_of_birth": "1985-01-02",
            "identifiers": [{"system": "uk.police.pnc", "value": value}],
        }
    }


# --- risk as the tool grades it ------------------------------------------------------------


def test_the_risk_tools_and_their_levels_are_served_with_the_lifecycle(referrer):
    states = referrer.get(f"{REFERRALS}states/").json()
    assert states["risk_tools"] == {
        "dash": ["standard", "medium", "high"],
        "oasys_rosh": ["low", "medium", "high", "very_high"],
        "sara": ["low", "medium", "high"],
        "other": ["low", "medium", "high", "very_high"],
    }


@pytest.mark.parametrize(
    ("tool", "level"),
    [("oasys_rosh", "very_high"), ("sara", "low"), ("dash", "standard"), ("other", "very_high")],
)
def test_each_tool_accepts_its_own_levels(referrer, world, tool, level):
    response = create(referrer, world, risk={"tool": tool, "level": level})
    assert response.status_code == 201, response.content
    assert response.json()["risk"] == {"tool": tool, "level": level}


@pytest.mark.parametrize(
    ("tool", "level", "allowed"),
    [("dash", "very_high", "standard, medium, high"), ("sara", "very_high", "low, medium, high")],
)
def test_a_level_the_tool_lacks_is_a_400_naming_the_allowed_levels(
    referrer, world, tool, level, allowed
):
    response = create(referrer, world, risk={"tool": tool, "level": level})
    assert response.status_code == 400
    assert fields_of(response) == {"risk.level"}
    assert allowed in response.json()["detail"]
    assert not Referral.objects.exists()


def test_a_tool_name_sent_as_free_text_is_matched_without_regard_to_case(referrer, world):
    dash = create(referrer, world, risk={"tool": "DASH", "level": "high"})
    rosh = create(
        referrer,
        world,
        subject=subject("PNC-FORMS-0002"),
        risk={"tool": "OASys RoSH", "level": "very_high"},
    )
    assert dash.status_code == rosh.status_code == 201
    assert dash.json()["risk"]["tool"] == "dash"
    assert rosh.json()["risk"]["tool"] == "oasys_rosh"


def test_an_unknown_tool_or_a_level_without_its_tool_is_a_400(referrer, world):
    unknown = create(referrer, world, risk={"tool": "gut feeling", "level": "high"})
    toolless = create(referrer, world, risk={"level": "very_high"})
    assert (unknown.status_code, fields_of(unknown)) == (400, {"risk.tool"})
    assert (toolless.status_code, fields_of(toolless)) == (400, {"risk.tool"})


def test_an_amendment_to_a_level_its_tool_lacks_is_a_400(referrer, world):
    referral_id = create(referrer, world).json()["id"]
    refused = amend(referrer, referral_id, {"risk": {"tool": "dash", "level": "very_high"}})
    regraded = amend(referrer, referral_id, {"risk": {"tool": "oasys_rosh", "level": "very_high"}})
    assert (refused.status_code, fields_of(refused)) == (400, {"risk.level"})
    assert regraded.status_code == 200
    assert regraded.json()["risk"]["level"] == "very_high"


def test_an_amended_level_alone_is_checked_against_the_tool_held(referrer, world):
    referral_id = create(referrer, world).json()["id"]  # graded with dash
    refused = amend(referrer, referral_id, {"risk": {"level": "very_high"}})
    accepted = amend(referrer, referral_id, {"risk": {"level": "standard"}})

    assert (refused.status_code, fields_of(refused)) == (400, {"risk.level"})
    assert accepted.status_code == 200 and accepted.json()["risk"]["tool"] == "dash"


# --- duplicate referrals --------------------------------------------------------------------


def test_a_second_open_referral_of_the_same_man_to_the_same_programme_is_a_409_naming_the_first(
    referrer, world
):
    first = create(referrer, world, subject=subject())
    second = create(referrer, world, subject=subject())
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["referral"] == first.json()["id"]
    assert first.json()["id"] in second.json()["detail"]
    assert Referral.objects.count() == 1


def test_another_agencys_open_referral_of_the_same_man_is_never_a_conflict(
    referrer, api_client_for, world
):
    first = create(referrer, world, subject=subject())
    police = create(api_client_for(world[AgencyKind.POLICE]), world, subject=subject())
    assert police.status_code == 201
    assert first.json()["id"] not in police.content.decode()
    man = first.json()["subject"]["identity"]["id"]
    assert Referral.objects.filter(subject_id=man).count() == 2


def test_a_closed_referral_another_programme_or_a_man_without_identifiers_is_no_duplicate(
    referrer, world
):
    first = create(referrer, world, subject=subject()).json()["id"]
    other_programme = factories.ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER])
    elsewhere = referrer.post(
        REFERRALS, referral_body(other_programme.id, subject=subject()), format="json"
    )
    withdrawn = referrer.post(
        f"{REFERRALS}{first}/transitions/",
        {"to": "withdrawn", "reason_code": "other", "reason": "Sent in error."},
        format="json",
    )
    again = create(referrer, world, subject=subject())
    nameless = {"identity": {k: v for k, v in subject()["identity"].items() if k != "identifiers"}}
    unidentified = [create(referrer, world, subject=nameless) for _ in range(2)]
    assert elsewhere.status_code == 201
    assert withdrawn.status_code == 200
    assert again.status_code == 201
    assert [r.status_code for r in unidentified] == [201, 201]


# --- aliases, the relationship, children ------------------------------------------------------


FORM = {
    "subject": {**subject(), "identity": {**subject()["identity"], "aliases": ["Ad Test"]}},
    "partner": {
        "identity": {
            "name": "Beth Private",
            "relationship": {"status": "former", "separated_on": "2026-01-15"},
        }
    },
    "children": [
        {"name": "Cara Private", "date_of_birth": "2020-02-29", "notes": "Year 1."},
        {"age": 3},
    ],
}


def age_of(born):
    return TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))


def test_aliases_relationship_and_named_children_are_kept_in_their_categories(
    referrer, api_client_for, world
):
    created = create(referrer, world, **FORM)
    assert created.status_code == 201, created.content
    view = created.json()
    assert view["subject"]["identity"]["aliases"] == ["Ad Test"]
    assert view["partner"]["identity"]["relationship"] == {
        "status": "former",
        "separated_on": "2026-01-15",
    }
    assert view["children"][0] == {
        "name": "Cara Private",
        "date_of_birth": "2020-02-29",
        "age": age_of(datetime.date(2020, 2, 29)),
        "notes": "Year 1.",
    }
    assert view["children"][1] == {"age": 3}
    stored = Referral.objects.get(id=view["id"])
    assert stored.subject_identity["aliases"] == ["Ad Test"]
    assert stored.partner_identity["relationship"]["status"] == "former"
    assert stored.children[0]["name"] == "Cara Private"
    # The men's programme never sees the partner's relationship nor the children.
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery")
    seen = provider.get(f"{REFERRALS}{view['id']}/").content.decode()
    for detail in ("Cara Private", "2020-02-29", "2026-01-15", "separated_on"):
        assert detail not in seen


def with_relationship(**relationship):
    return {"partner": {"identity": {"name": "B", "relationship": relationship}}}


SEPARATION = "partner.identity.relationship.separated_on"
TOMORROW = str(TODAY + datetime.timedelta(days=1))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (with_relationship(status="current", separated_on="2026-01-15"), SEPARATION),
        (with_relationship(status="former", separated_on=TOMORROW), SEPARATION),
        (with_relationship(status="estranged"), "partner.identity.relationship.status"),
        ({"children": [{"date_of_birth": "2020-02-29", "age": 1}]}, "children.0.age"),
        ({"children": [{"date_of_birth": "2001-01-01"}]}, "children.0.date_of_birth"),
        ({"children": [{"date_of_birth": TOMORROW}]}, "children.0.date_of_birth"),
        (
            {"subject": {"identity": {**subject()["identity"], "aliases": "Ad"}}},
            "subject.identity.aliases",
        ),
    ],
)
def test_an_impossible_relationship_child_or_alias_list_is_a_400(referrer, world, change, field):
    response = create(referrer, world, **change)
    assert response.status_code == 400
    assert fields_of(response) == {field}


def test_aliases_relationship_and_children_can_be_amended(referrer, world):
    referral_id = create(referrer, world).json()["id"]
    response = amend(referrer, referral_id, {**FORM, "amendment_reason": "MARAC form."})
    assert response.status_code == 200, response.content
    view = response.json()
    assert view["subject"]["identity"]["aliases"] == ["Ad Test"]
    assert view["partner"]["identity"]["relationship"]["status"] == "former"
    assert view["children"][0]["age"] == age_of(datetime.date(2020, 2, 29))


# --- dates that must make sense ---------------------------------------------------------------


def test_a_contact_attempt_dated_before_its_referral_existed_is_a_422(api_client_for, world):
    referrer = api_client_for(world[P])
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery")
    service = api_client_for(world[AgencyKind.VICTIM_SERVICE], purpose="partner_safety")
    referral_id = create(
        referrer, world, partner_service=str(world[AgencyKind.VICTIM_SERVICE].id)
    ).json()["id"]
    for to in ("acknowledged", "assessment", "accepted"):
        provider.post(f"{REFERRALS}{referral_id}/transitions/", {"to": to}, format="json")
    url = f"{REFERRALS}{referral_id}/partner-contact/"
    before = (timezone.now() - datetime.timedelta(days=3)).isoformat()
    after = timezone.now().isoformat()
    refused = service.post(url, {"attempted_at": before, "outcome": "reached"}, format="json")
    recorded = service.post(url, {"attempted_at": after, "outcome": "reached"}, format="json")
    assert (refused.status_code, fields_of(refused)) == (422, {"attempted_at"})
    assert recorded.status_code == 201
    assert len(recorded.json()["attempts"]) == 1


def agreement(world, **dates):
    return {
        "name": "Forms agreement",
        "provider": str(world[P].id),
        "recipient": str(world[AgencyKind.COURT].id),
        "recipient_kind": None,
        "purposes": ["court_compliance"],
        "grants": [{"category": "offence", "lawful_basis": "public_task"}],
        "valid_from": str(TODAY - datetime.timedelta(days=400)),
        "valid_to": str(TODAY + datetime.timedelta(days=365)),
        "status": "active",
        **dates,
    }


def test_an_agreement_review_date_outside_its_validity_is_a_422(referrer, world):
    url = "/api/v1/sharing-agreements/"
    late = referrer.post(
        url, agreement(world, review_date=str(TODAY + datetime.timedelta(days=400))), format="json"
    )
    early = referrer.post(
        url, agreement(world, review_date=str(TODAY - datetime.timedelta(days=500))), format="json"
    )
    made = referrer.post(url, agreement(world, review_date=str(TODAY)), format="json")
    assert (late.status_code, fields_of(late)) == (422, {"review_date"})
    assert (early.status_code, fields_of(early)) == (422, {"review_date"})
    assert made.status_code == 201
    # A change of validity that leaves the review outside it is refused as well.
    shortened = referrer.patch(
        f"{url}{made.json()['id']}/",
        {"valid_to": str(TODAY - datetime.timedelta(days=1))},
        format="json",
        HTTP_IF_MATCH=made["ETag"],
    )
    assert (shortened.status_code, fields_of(shortened)) == (422, {"review_date"})


def test_an_agreement_whose_review_is_overdue_says_so_and_the_hub_operator_lists_them(
    referrer, api_client_for, world
):
    url = "/api/v1/sharing-agreements/"
    overdue = referrer.post(
        url, agreement(world, review_date=str(TODAY - datetime.timedelta(days=10))), format="json"
    ).json()
    current = referrer.post(
        url, agreement(world, review_date=str(TODAY + datetime.timedelta(days=10))), format="json"
    ).json()
    assert overdue["review_overdue"] is True
    assert current["review_overdue"] is False
    operator = api_client_for(world[AgencyKind.HUB_OPERATOR], purpose="audit")
    listed = operator.get(url, {"review_overdue": "true"})
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["results"]] == [overdue["id"]]
    others = operator.get(url, {"review_overdue": "false"}).json()["results"]
    assert [a["id"] for a in others] == [current["id"]]
    assert operator.get(url, {"review_overdue": "maybe"}).status_code == 400


def test_a_childs_age_is_read_from_the_date_of_birth_and_never_goes_stale(referrer, world):
    born = datetime.date(timezone.localdate().year - 7, 1, 1)  # seven today, whatever the day
    children = [{"name": "Child A", "date_of_birth": str(born), "notes": "Year 1."}]
    referral_id = create(referrer, world, children=children).json()["id"]
    # As if recorded two years ago, when the stored age was right.
    stored = Referral.objects.get(id=referral_id)
    Referral.objects.filter(id=referral_id).update(children=[{**stored.children[0], "age": 4}])

    (child,) = referrer.get(f"{REFERRALS}{referral_id}/").json()["children"]

    assert child["age"] == 7 and child["date_of_birth"] == str(born)
