"""The partner service's contact task on the web (issue 14, item 3): once the man is accepted,
the victim service's worker sees the task with her details and records attempts; for the
provider and the referrer it does not exist; a bad attempt is an error summary that writes
nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals.models import PartnerDisclosure, Referral
from tests.web.conftest import OFFICER, PROVIDER_WORKER

pytestmark = pytest.mark.django_db
WORKER = "womens-aid.worker"


def an_hour_ago():
    return (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def accepted(people, demo_referral):
    # Made two hours ago, so that an attempt an hour ago is after it and in the past.
    Referral.objects.filter(id=demo_referral.id).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    for status in ("acknowledged", "assessment", "accepted"):
        response = people[PROVIDER_WORKER].post(
            f"/referrals/{demo_referral.id}/move/", {"to": status}
        )
        assert response.status_code == 302
    return demo_referral


def test_the_partner_service_sees_the_task_and_records_an_attempt(people, accepted):
    worker = people[WORKER]
    page = worker.get(f"/referrals/{accepted.id}/").content.decode()
    assert "Partner contact task" in page

    task = worker.get(f"/referrals/{accepted.id}/partner-contact/").content.decode()
    assert "01632 960002" in task  # her phone: her support service may see it
    recorded = worker.post(
        f"/referrals/{accepted.id}/partner-contact/",
        {"attempted_at": an_hour_ago(), "outcome": "no_answer", "notes": "Try again."},
    )

    assert recorded.status_code == 302
    assert "No answer" in worker.get(recorded.headers["Location"]).content.decode()
    assert PartnerDisclosure.objects.filter(referral=accepted, kind="contact_attempt").exists()


@pytest.mark.parametrize("who", [PROVIDER_WORKER, OFFICER])
def test_the_task_does_not_exist_for_anyone_else(people, accepted, who):
    browser = people[who]

    assert browser.get(f"/referrals/{accepted.id}/partner-contact/").status_code == 404
    assert "Partner contact task" not in browser.get(f"/referrals/{accepted.id}/").content.decode()


def test_an_attempt_without_an_outcome_is_an_error_summary(people, accepted):
    response = people[WORKER].post(
        f"/referrals/{accepted.id}/partner-contact/", {"attempted_at": an_hour_ago()}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Choose what happened" in html and 'href="#id_outcome_0"' in html
    assert not PartnerDisclosure.objects.filter(referral=accepted, kind="contact_attempt").exists()
