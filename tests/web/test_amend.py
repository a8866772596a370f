"""Amend a referral on the web (issue 14, item 3): the referrer changes what it may, with a
reason; only changed answers are sent; someone else's change in between is never overwritten
(the form's ETag, compared under the lock) and the person is told; only the referrer amends."""

import re
from html import unescape

import pytest
from django.test import Client

from agencies.models import StaffMembership, StaffRole, User
from referrals.models import Amendment, Referral
from tests.web.conftest import OFFICER, PROVIDER_WORKER

pytestmark = pytest.mark.django_db


def form_of(browser, referral):
    """The form's fields as a browser would submit them untouched."""
    html = browser.get(f"/referrals/{referral.id}/amend/").content.decode()
    fields = {k: unescape(v) for k, v in re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', html)}
    fields.update(
        # A browser drops the newline that opens a textarea's content (HTML's parsing rule).
        (k, unescape(v).removeprefix("\n"))
        for k, v in re.findall(r'name="(\w+)"[^>]*>([^<]*)</textarea>', html)
    )
    fields.pop("csrfmiddlewaretoken", None)
    for select in ("risk_tool", "risk_level"):
        chosen = re.search(rf'name="{select}".*?<option value="([^"]*)" selected', html, re.S)
        fields[select] = chosen.group(1) if chosen else ""
    return fields


def a_colleague_of_the_referrer(referral):
    user = User.objects.create_user(username="second.officer")
    StaffMembership.objects.create(user=user, agency=referral.referrer, role=StaffRole.PRACTITIONER)
    return user


def test_the_referrer_amends_only_what_changed_with_a_reason(people, demo_referral):
    officer = people[OFFICER]
    answers = form_of(officer, demo_referral)

    response = officer.post(
        f"/referrals/{demo_referral.id}/amend/",
        {**answers, "subject_phone": "01632 960555", "amendment_reason": "He has a new phone."},
    )

    assert response.status_code == 302
    (amendment,) = Amendment.objects.filter(referral=demo_referral)
    assert set(amendment.changes) == {"subject.contact"}
    assert amendment.changes["subject.contact"]["new"]["phone"] == "01632 960555"
    assert amendment.reason == "He has a new phone."


def test_a_change_made_first_by_someone_else_is_never_overwritten(people, demo_referral):
    officer = people[OFFICER]
    read_first = form_of(officer, demo_referral)
    colleague = Client()
    colleague.force_login(a_colleague_of_the_referrer(demo_referral))
    theirs = form_of(colleague, demo_referral)
    colleague.post(
        f"/referrals/{demo_referral.id}/amend/",
        {**theirs, "risk_summary": "Escalating; new threats.", "amendment_reason": "New info."},
    )

    mine = officer.post(
        f"/referrals/{demo_referral.id}/amend/",
        {**read_first, "subject_phone": "01632 960555", "amendment_reason": "New phone."},
    )

    assert mine.status_code == 200
    html = mine.content.decode()
    assert "Someone changed this referral first" in html
    assert "Escalating; new threats." in html  # the form shows the referral as it now is
    referral = Referral.objects.get(id=demo_referral.id)
    assert referral.risk["summary"] == "Escalating; new threats."
    assert referral.subject_contact["phone"] != "01632 960555"
    assert Amendment.objects.filter(referral=demo_referral).count() == 1


def test_an_amendment_needs_a_reason_and_a_change(people, demo_referral):
    officer = people[OFFICER]
    answers = form_of(officer, demo_referral)

    no_reason = officer.post(
        f"/referrals/{demo_referral.id}/amend/", {**answers, "subject_phone": "01632 960555"}
    )
    no_change = officer.post(
        f"/referrals/{demo_referral.id}/amend/", {**answers, "amendment_reason": "Checking."}
    )

    assert "Enter why you are making this change" in no_reason.content.decode()
    assert "You have not changed anything" in no_change.content.decode()
    assert not Amendment.objects.filter(referral=demo_referral).exists()


def test_only_the_referrer_amends(people, demo_referral):
    worker = people[PROVIDER_WORKER]

    assert worker.get(f"/referrals/{demo_referral.id}/amend/").status_code == 404
    assert "/amend/" not in worker.get(f"/referrals/{demo_referral.id}/").content.decode()


def test_a_level_the_held_tool_lacks_is_an_error_summary_and_changes_nothing(people, demo_referral):
    officer = people[OFFICER]
    Referral.objects.filter(id=demo_referral.id).update(risk={"tool": "dash", "level": "high"})
    answers = form_of(officer, demo_referral)

    response = officer.post(
        f"/referrals/{demo_referral.id}/amend/",
        {**answers, "risk_level": "very_high", "amendment_reason": "New DASH."},
    )

    assert response.status_code == 200
    assert "govuk-error-summary" in response.content.decode()
    assert Referral.objects.get(id=demo_referral.id).risk == {"tool": "dash", "level": "high"}
    assert not Amendment.objects.filter(referral=demo_referral).exists()


def test_a_level_alone_over_a_tool_that_has_no_code_is_an_error_summary(people, demo_referral):
    officer = people[OFFICER]
    held = {"tool": "B-SAFER", "level": "high"}
    Referral.objects.filter(id=demo_referral.id).update(risk=held)
    answers = form_of(officer, demo_referral)

    response = officer.post(
        f"/referrals/{demo_referral.id}/amend/",
        # The tool's list holds no option for the held name, so none is selected: a browser
        # sends the list's first, empty one.
        {**answers, "risk_tool": "", "risk_level": "medium", "amendment_reason": "New assessment."},
    )

    assert response.status_code == 200
    assert "govuk-error-summary" in response.content.decode()
    assert Referral.objects.get(id=demo_referral.id).risk == held
    assert not Amendment.objects.filter(referral=demo_referral).exists()
