"""*What's changed* on the web (issue 14, item 3): the agency's change feed as a page, urgent
risk changes first, a count in the header that looking clears, and no personal data in either
(ids and kinds only, as the feed holds them)."""

import re

import pytest

from audit.models import AccessRecord
from tests.test_partner_safety_sweep import PARTNER_DETAILS
from tests.web.conftest import OFFICER, PROVIDER_WORKER

pytestmark = pytest.mark.django_db


def waiting(browser):
    html = browser.get("/home/").content.decode()
    found = re.search(r'id="changes-count">(\d+)', html)
    return int(found.group(1)) if found else 0


def test_looking_at_whats_changed_clears_the_count_in_the_header(people):
    officer = people[OFFICER]
    assert waiting(officer) > 0  # the demo's referrals were made

    page = officer.get("/changes/").content.decode()

    assert "New referral" in page
    assert waiting(officer) == 0
    assert "Nothing has changed since you last looked" in officer.get("/changes/").content.decode()
    record = AccessRecord.objects.filter(channel="web", path="/changes/").earliest("at")
    assert record.person and record.referrals


def test_an_urgent_risk_change_comes_first_and_names_no_one(people, demo_referral):
    officer, worker = people[OFFICER], people[PROVIDER_WORKER]
    officer.get("/changes/")
    for status in ("acknowledged", "assessment"):
        worker.post(f"/referrals/{demo_referral.id}/move/", {"to": status})
    worker.post(
        f"/referrals/{demo_referral.id}/reports/risk_change/new/",
        {"level": "high", "urgent": "on", "summary": "Threats in the group session."},
    )

    assert waiting(officer) >= 3
    page = officer.get("/changes/").content.decode()
    rows = page[page.index("<tbody") :]
    assert rows.index("Urgent risk change") < rows.index("Moved on")
    for personal in (*PARTNER_DETAILS, "Example", "Daniel", "Threats in the group session"):
        assert personal not in page
