"""Make a referral on the web (issue 14, item 3), without a browser: the API's validation on the
form (errors on their fields, nothing written), a couples programme refused with the reason
before the answers are checked, check your answers, one referral whatever the clicks, the
confirmation with its reference, an access record of the person on the web channel; and no
way in for an agency that does not refer."""

import re

import pytest

from agencies.models import Agency
from audit.models import AccessRecord
from referrals.models import Modality, Programme, Referral
from tests.web.conftest import OFFICER, PROVIDER_WORKER

pytestmark = pytest.mark.django_db


def answers(**extra):
    group = Programme.objects.get(name="Building Better Relationships")
    return {
        "programme": str(group.id),
        "given_name": "Dan",
        "family_name": "Webform",
        "date_of_birth": "1980-06-01",
        "mandate": "court_mandated",
        "offence_summary": "Assault on his partner.",
        "court": "Northshire Magistrates' Court",
        "court_order_made_on": "2026-11-02",
        "risk_tool": "dash",
        "risk_level": "high",
        "partner_name": "Private Person",
        "partner_phone": "01632 960999",
        **extra,
    }


def draft_of(response):
    return re.search(r"draft=([A-Za-z0-9_-]+)", response.headers["Location"]).group(1)


def test_an_officer_refers_a_man_checks_the_answers_and_gets_a_reference(people):
    officer = people[OFFICER]
    before = Referral.objects.count()

    continued = officer.post("/referrals/new/", answers())
    assert continued.status_code == 302
    check = officer.get(continued.headers["Location"])
    assert "Check your answers" in check.content.decode()
    assert "Webform" in check.content.decode()
    assert Referral.objects.count() == before  # nothing sent yet

    sent = officer.post("/referrals/new/check/", {"draft": draft_of(continued)})
    assert sent.status_code == 302
    referral = Referral.objects.get(subject_identity__family_name="Webform")
    assert sent.headers["Location"] == f"/referrals/{referral.id}/sent/"
    confirmation = officer.get(sent.headers["Location"]).content.decode()
    assert str(referral.id)[:8] in confirmation
    assert referral.referrer.name == "Northshire Probation Service"
    assert referral.partner_contact == {"phone": "01632 960999"}
    assert referral.offence["court_order"] == {
        "court": "Northshire Magistrates' Court",
        "made_on": "2026-11-02",
    }
    record = AccessRecord.objects.filter(channel="web", status=201).latest("at")
    assert record.referrals == [str(referral.id)] and record.person


def test_sending_twice_makes_one_referral(people):
    officer = people[OFFICER]
    draft = draft_of(officer.post("/referrals/new/", answers()))

    first = officer.post("/referrals/new/check/", {"draft": draft})
    second = officer.post("/referrals/new/check/", {"draft": draft})

    assert first.headers["Location"] == second.headers["Location"]
    assert Referral.objects.filter(subject_identity__family_name="Webform").count() == 1


def test_a_couples_programme_is_refused_with_the_reason_and_nothing_is_written(people):
    couples = Programme.objects.get(modality=Modality.COUPLES)
    before = Referral.objects.count()

    response = people[OFFICER].post("/referrals/new/", answers(programme=str(couples.id)))

    assert response.status_code == 200  # the form again, with its error summary
    html = response.content.decode()
    assert "There is a problem" in html
    assert "couple work and mediation are never a response to domestic violence" in html
    assert Referral.objects.count() == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("given_name", "", "Enter his given name"),
        ("date_of_birth", "2999-01-01", "date"),
        ("risk_level", "very_high", "risk"),
    ],
)
def test_the_apis_validation_puts_each_error_on_its_field(people, field, value, message):
    before = Referral.objects.count()

    response = people[OFFICER].post("/referrals/new/", answers(**{field: value}))

    assert response.status_code == 200  # the form again, with its error summary
    html = response.content.decode()
    assert f'href="#id_{field}"' in html
    assert f'id="id_{field}_error"' in html
    assert message.lower() in html.lower()
    assert Referral.objects.count() == before


def test_a_programme_provider_cannot_refer(people):
    assert people[PROVIDER_WORKER].get("/referrals/new/").status_code == 404
    assert "Make a referral" not in people[PROVIDER_WORKER].get("/referrals/").content.decode()


def test_children_and_observers_reach_the_referral(people):
    officer = people[OFFICER]
    police = Agency.objects.get(name="Northshire Police")
    draft = draft_of(
        officer.post(
            "/referrals/new/",
            answers(
                child_1_name="Amy",
                child_1_date_of_birth="2020-02-02",
                observers=[str(police.id)],
            ),
        )
    )
    check = officer.get(f"/referrals/new/check/?draft={draft}").content.decode()
    assert "Amy" in check and "Northshire Police" in check

    officer.post("/referrals/new/check/", {"draft": draft})

    referral = Referral.objects.get(subject_identity__family_name="Webform")
    assert [c["name"] for c in referral.children] == ["Amy"]
    assert list(referral.observers.all()) == [police]


def test_a_child_too_old_to_be_one_is_an_error_on_its_field(people):
    response = people[OFFICER].post(
        "/referrals/new/", answers(child_1_name="Old", child_1_date_of_birth="1990-01-01")
    )

    html = response.content.decode()
    assert 'href="#id_child_1_date_of_birth"' in html
    assert not Referral.objects.filter(subject_identity__family_name="Webform").exists()
