"""The sign-in page, the signed-in home page and the accessibility statement in a real browser
(issue 14, items 1 and 2): a member of an agency's staff signs in and out, a wrong password
shows the error summary with focus on it, the first Tab reaches the skip link, and every page
passes the checks of `check_page` (conftest)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page, live_server, username, password):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_staff_member_signs_in_sees_their_agency_and_signs_out(
    page, live_server, check_page, officer
):
    sign_in(page, live_server, "jo.bloggs", PASSWORD)

    expect(page).to_have_url(re.compile(r"/referrals/$"))
    check_page("referrals-empty")
    page.get_by_role("link", name="Your account").click()
    expect(page).to_have_url(re.compile(r"/home/$"))
    expect(page.locator("#signed-in-as")).to_have_text(
        "You are signed in as Jo Bloggs of Northshire Probation."
    )
    check_page("home")

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    check_page("sign-in")
    page.goto(live_server.url + "/home/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/home/$"))


def test_a_wrong_password_shows_the_error_summary_with_focus_on_it(
    page, live_server, check_page, officer
):
    sign_in(page, live_server, "jo.bloggs", "not-the-password")

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Enter a correct user name and password.")
    expect(page).to_have_title("Error: Sign in \u2013 Referral hub")
    check_page("sign-in-error")
    # The summary's link leads to the first field.
    summary.get_by_role("link").click()
    expect(page.get_by_label("User name")).to_be_focused()


def test_empty_fields_are_named_in_the_summary_and_beside_each_field(
    page, live_server, check_page, officer
):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator(".govuk-error-summary")).to_be_focused()
    expect(page.locator(".govuk-error-summary__list li")).to_have_text(
        ["Enter your user name", "Enter your password"]
    )
    username = page.get_by_label("User name")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_have_accessible_description("Error: Enter your user name")
    check_page("sign-in-empty")


def test_the_first_tab_reaches_the_skip_link_which_leads_to_the_main_content(
    page, live_server, check_page
):
    page.goto(live_server.url + "/accounts/login/")
    check_page("sign-in")

    page.keyboard.press("Tab")

    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_the_accessibility_statement_is_linked_from_every_page(page, live_server, check_page):
    page.goto(live_server.url + "/accounts/login/")

    page.get_by_role("link", name="Accessibility statement").click()

    expect(page).to_have_url(re.compile(r"/accessibility/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Accessibility statement for the referral hub"
    )
    expect(page.get_by_text("WCAG) version 2.2 to level AA")).to_be_visible()
    check_page("accessibility")


def test_repeated_failures_lock_the_user_name_out_even_with_the_right_password(
    page, live_server, check_page, officer, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        sign_in(page, live_server, "jo.bloggs", "not-the-password")

    expect(page.get_by_role("heading", level=1)).to_have_text("Too many attempts to sign in")
    expect(page.locator("#locked-out")).to_contain_text("3 times")
    check_page("locked-out", status=429)
    sign_in(page, live_server, "jo.bloggs", PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text("Too many attempts to sign in")
    check_page("locked-out", status=429)
    page.goto(live_server.url + "/home/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/home/$"))
