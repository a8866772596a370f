"""What people do to a referral on the web (issue 14, item 3), without a browser: the provider's
worker moves the demo referral along its lifecycle, records attendance and an urgent risk change,
and the probation officer sees the change tagged first in the list and in a banner on the
referral; the officer withdraws with a reason; each page offers only what the lifecycle table
gives the agency now, and a stale move is refused with the reason, changing nothing."""

import pytest

from referrals.models import Referral, Report, Status, Transition
from tests.web.conftest import OFFICER, PROVIDER_WORKER

pytestmark = pytest.mark.django_db


def move(browser, referral, to, **reason):
    return browser.post(f"/referrals/{referral.id}/move/", {"to": to, **reason})


def to_in_programme(worker, referral):
    for status in ("acknowledged", "assessment", "accepted", "in_programme"):
        response = move(worker, referral, status)
        assert response.status_code == 302, response.content.decode()[:2000]
    referral.refresh_from_db()
    assert referral.status == Status.IN_PROGRAMME


def test_the_provider_moves_the_referral_and_is_told_it_did(people, demo_referral):
    worker = people[PROVIDER_WORKER]

    page = worker.get(f"/referrals/{demo_referral.id}/move/").content.decode()
    assert "Acknowledge the referral" in page
    assert "Withdraw" not in page  # the referrer's move, not the provider's

    response = move(worker, demo_referral, "acknowledged")
    assert response.headers["Location"] == f"/referrals/{demo_referral.id}/"
    after = worker.get(response.headers["Location"]).content.decode()
    assert "The referral is now acknowledged." in after
    assert Transition.objects.filter(referral=demo_referral, to_status="acknowledged").exists()


def test_a_stale_move_is_refused_with_the_reason_and_changes_nothing(people, demo_referral):
    worker = people[PROVIDER_WORKER]
    move(worker, demo_referral, "acknowledged")
    moves = Transition.objects.filter(referral=demo_referral).count()

    response = move(worker, demo_referral, "acknowledged")  # a second tab, still on the old form

    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert Transition.objects.filter(referral=demo_referral).count() == moves


def test_attendance_and_an_urgent_risk_change_reach_the_officer_first(people, demo_referral):
    worker, officer = people[PROVIDER_WORKER], people[OFFICER]
    to_in_programme(worker, demo_referral)

    attended = worker.post(
        f"/referrals/{demo_referral.id}/reports/attendance/new/",
        {"session_date": "2026-11-30", "attendance": "absent_unexcused"},
    )
    urgent = worker.post(
        f"/referrals/{demo_referral.id}/reports/risk_change/new/",
        {"level": "high", "urgent": "on", "summary": "Made threats in the group session."},
    )

    assert attended.status_code == urgent.status_code == 302
    assert Report.objects.filter(referral=demo_referral).count() == 2
    page = officer.get(f"/referrals/{demo_referral.id}/").content.decode()
    banner = page[page.index('id="urgent"') :]
    assert "Urgent risk change" in page and "now high" in banner
    listing = officer.get("/referrals/").content.decode()
    first_row = listing[listing.index("<tbody") : listing.index("</tr>", listing.index("<tbody"))]
    assert "Urgent risk change" in first_row and "Example" in first_row


def test_a_report_the_status_does_not_allow_is_not_offered(people, demo_referral):
    worker = people[PROVIDER_WORKER]

    page = worker.get(f"/referrals/{demo_referral.id}/").content.decode()
    response = worker.get(f"/referrals/{demo_referral.id}/reports/attendance/new/")

    assert "Report: Attendance" not in page
    assert response.status_code == 404


def test_a_report_is_checked_by_the_apis_rules(people, demo_referral):
    worker = people[PROVIDER_WORKER]
    to_in_programme(worker, demo_referral)

    response = worker.post(
        f"/referrals/{demo_referral.id}/reports/attendance/new/",
        {"session_date": "2999-01-01", "attendance": "attended"},
    )

    assert response.status_code == 200
    assert 'id="id_session_date_error"' in response.content.decode()
    assert not Report.objects.filter(referral=demo_referral).exists()


def test_the_officer_withdraws_with_a_reason_checks_it_and_is_told(people, demo_referral):
    officer = people[OFFICER]
    reason = {"reason_code": "moved_area", "reason": "He has moved to another area."}

    without = move(officer, demo_referral, "withdrawn")
    check = move(officer, demo_referral, "withdrawn", **reason)
    demo_referral.refresh_from_db()
    assert "Choose a reason" in without.content.decode()
    assert "Check your answers" in check.content.decode()
    assert "He has moved to another area." in check.content.decode()
    assert demo_referral.status == Status.SUBMITTED  # nothing happens before the check

    withdrawn = move(officer, demo_referral, "withdrawn", confirm="yes", **reason)
    assert withdrawn.status_code == 302
    assert Referral.objects.get(id=demo_referral.id).status == Status.WITHDRAWN
    after = officer.get(withdrawn.headers["Location"]).content.decode()
    assert "The referral is now withdrawn." in after


def test_a_non_party_cannot_reach_the_move_page(people, demo_referral):
    court = people["court.officer"]
    other = Referral.objects.exclude(referrer__name="Northshire Magistrates' Court").exclude(
        observers__name="Northshire Magistrates' Court"
    )
    stranger = other.exclude(provider__name="Northshire Magistrates' Court").first()

    assert court.get(f"/referrals/{stranger.id}/move/").status_code == 404
