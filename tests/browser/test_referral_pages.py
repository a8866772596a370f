"""The referral pages in a real browser (issue 14, item 3): the demo's probation officer and the
programme provider's worker sign in with the passwords seed_demo printed, find the demo referral
in their list and open it; the provider's page names each withheld category with its reason and
holds none of the partner's details. Every page passes `check_page` (axe, CSP, GOV.UK's
JavaScript, a title of its own, no sideways scroll at 320 px)."""

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from referrals.models import Referral
from tests.browser.test_sign_in_page import sign_in
from tests.test_partner_safety_sweep import PARTNER_DETAILS

pytestmark = pytest.mark.django_db(transaction=True)

# The provider's moves, as its worker reads them, from a new referral to an accepted one.
ACCEPT_STEPS = ("Acknowledge the referral", "Start the assessment", "Accept him onto the programme")


@pytest.fixture
def passwords(transactional_db):
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return {line["username"]: line["password"] for line in lines if "username" in line}


def test_an_officer_finds_the_demo_referral_and_reads_it(page, live_server, check_page, passwords):
    sign_in(page, live_server, "probation.officer", passwords["probation.officer"])

    expect(page).to_have_url(re.compile(r"/referrals/$"))
    check_page("referrals")
    page.get_by_role("row", name=re.compile("Example")).get_by_role("link").first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Referral "))
    expect(page.locator("#subject")).to_contain_text("Example")
    check_page("referral-officer")
    page.get_by_role("link", name="Why can we see this?").click()
    expect(page.locator("#why")).to_contain_text("The man's identity")
    check_page("why")
    page.get_by_role("link", name="Back to the referral").click()
    page.get_by_role("link", name="Who accessed it").click()
    expect(page.locator("#accesses")).to_contain_text("Northshire Probation Service")
    check_page("accesses")
    page.get_by_role("link", name="Back to the referral").click()
    page.get_by_role("button", name="Amend").click()
    page.get_by_label("His phone").fill("01632 960555")
    page.get_by_label("Why are you making this change?").fill("He has a new phone.")
    check_page("amend")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.locator("#subject-contact")).to_contain_text("01632 960555")


def test_the_provider_sees_the_referral_without_her_details_and_with_the_reasons(
    page, live_server, check_page, passwords
):
    sign_in(page, live_server, "turning-point.worker", passwords["turning-point.worker"])
    page.get_by_role("row", name=re.compile("Example")).get_by_role("link").first.click()

    withheld = page.locator("#withheld")
    expect(withheld).to_contain_text("The partner's identity")
    expect(withheld).to_contain_text("The partner's contact details")
    text = page.locator("main").inner_text()
    for detail in PARTNER_DETAILS:
        assert detail not in text
    assert "Women's Aid" not in text
    check_page("referral-provider")


def test_the_status_filter_keeps_only_matching_referrals(page, live_server, check_page, passwords):
    sign_in(page, live_server, "probation.officer", passwords["probation.officer"])

    page.get_by_text("Filter, search and sort").click()
    page.get_by_label("Status", exact=True).select_option("withdrawn")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"/referrals/\?.*status=withdrawn"))
    expect(page.locator("#no-referrals")).to_be_visible()
    check_page("referrals-filtered")


def test_an_officer_refers_a_man_and_is_refused_a_couples_programme(
    page, live_server, check_page, passwords
):
    sign_in(page, live_server, "probation.officer", passwords["probation.officer"])
    page.get_by_role("button", name="Make a referral").click()
    check_page("refer")

    page.get_by_label("Relationship Counselling for Couples").check()
    page.get_by_label("Given name").fill("Dan")
    page.get_by_label("Family name").fill("Browser")
    page.get_by_label("Date of birth", exact=True).fill("1980-06-01")
    page.get_by_role("button", name="Continue").click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("never a response to domestic violence")
    check_page("refer-refused")

    page.get_by_label("Building Better Relationships").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#answers")).to_contain_text("Browser")
    check_page("refer-check")
    page.get_by_role("button", name="Send referral").click()

    expect(page.get_by_role("heading", name="Referral sent")).to_be_visible()
    reference = page.locator("#reference").inner_text()
    check_page("refer-sent")
    page.get_by_role("link", name="See the referral").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Referral {reference}")


def test_the_provider_reports_an_urgent_risk_change_and_the_officer_sees_the_banner(
    page, live_server, check_page, passwords
):
    sign_in(page, live_server, "turning-point.worker", passwords["turning-point.worker"])
    page.get_by_role("row", name=re.compile("Example")).get_by_role("link").first.click()
    for step in (*ACCEPT_STEPS, "He has started the programme"):
        page.get_by_role("button", name="Move the referral").click()
        if step == "Acknowledge the referral":
            check_page("move")
        page.get_by_label(step).check()
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".govuk-notification-banner--success")).to_be_visible()
    check_page("referral-provider-moved")

    page.get_by_role("button", name="Report: Attendance at a session").click()
    check_page("report-attendance")
    page.get_by_label("Date of the session").fill("2026-11-30")
    page.get_by_label("Attendance").select_option("attended")
    page.get_by_role("button", name="Save the report").click()
    page.get_by_role("button", name="Report: A change in risk").click()
    page.get_by_label("Risk level now").select_option("high")
    page.get_by_label(re.compile("^Urgent")).check()
    page.get_by_role("button", name="Save the report").click()
    expect(page.locator("#reports")).to_contain_text("attended")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, "probation.officer", passwords["probation.officer"])
    first_row = page.locator("#referrals tbody tr").first
    expect(first_row).to_contain_text("Urgent risk change")
    first_row.get_by_role("link").click()
    expect(page.locator("#urgent")).to_contain_text("now high")
    check_page("referral-officer-urgent")
    expect(page.locator("#changes-count")).to_be_visible()
    page.locator("#changes-link").click()
    expect(page.locator("#changes tbody tr").first).to_contain_text("Urgent risk change")
    expect(page.locator("#changes-count")).to_have_count(0)
    check_page("changes")


def test_a_withdrawn_consent_leaves_the_providers_page_on_its_next_load(
    page, browser, live_server, check_page, passwords
):
    provider = browser.new_context().new_page()
    sign_in(provider, live_server, "turning-point.worker", passwords["turning-point.worker"])
    provider.get_by_role("row", name=re.compile("Example")).get_by_role("link").first.click()
    expect(provider.locator("#subject-contact")).to_contain_text("1 Demo Street")

    sign_in(page, live_server, "probation.officer", passwords["probation.officer"])
    page.get_by_role("row", name=re.compile("Example")).get_by_role("link").first.click()
    page.get_by_role("link", name="Consents").click()
    check_page("consents")
    card = page.locator(".govuk-summary-card", has_text="The man's contact details")
    card.get_by_role("link", name=re.compile("^Withdraw")).click()
    expect(page.locator("#effect")).to_contain_text("very next request")
    check_page("consent-withdraw")
    page.get_by_label("Why is it withdrawn?").fill("He asked us to stop sharing it.")
    page.get_by_role("button", name="Withdraw the consent").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("withdrawn")

    provider.reload()
    expect(provider.locator("#subject-contact")).to_have_count(0)
    expect(provider.locator("#withheld")).to_contain_text("The man's contact details")
    provider.context.close()


def test_the_partner_service_records_a_contact_attempt(page, live_server, check_page, passwords):
    sign_in(page, live_server, "turning-point.worker", passwords["turning-point.worker"])
    page.get_by_role("row", name=re.compile("Example")).get_by_role("link").first.click()
    for step in (
        "Acknowledge the referral",
        "Start the assessment",
        "Accept him onto the programme",
    ):
        page.get_by_role("button", name="Move the referral").click()
        page.get_by_label(step).check()
        page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Sign out").click()
    Referral.objects.filter(subject_identity__family_name="Example").update(
        created_at=timezone.now() - timedelta(hours=2)
    )

    sign_in(page, live_server, "womens-aid.worker", passwords["womens-aid.worker"])
    page.get_by_role("row").nth(1).get_by_role("link").first.click()
    page.get_by_role("button", name="Partner contact task").click()
    check_page("partner-contact")
    moment = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("When was the attempt?").fill(moment)
    page.get_by_label("No answer").check()
    page.get_by_role("button", name="Record the attempt").click()

    expect(page.locator("#attempts")).to_contain_text("No answer")
    check_page("partner-contact-recorded")


def test_the_officer_withdraws_a_referral_after_checking(page, live_server, check_page, passwords):
    sign_in(page, live_server, "probation.officer", passwords["probation.officer"])
    page.get_by_role("row", name=re.compile("Example")).get_by_role("link").first.click()
    page.get_by_role("button", name="Move the referral").click()
    page.get_by_label("Withdraw the referral").check()
    page.get_by_label("Reason", exact=True).select_option("moved_area")
    page.get_by_label("Explain the reason").fill("He has moved to another area.")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#answers")).to_contain_text("He has moved to another area.")
    check_page("withdraw-check")
    page.get_by_role("button", name="Confirm").click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("withdrawn")
    expect(page.locator("#status")).to_have_text("withdrawn")
