"""The idle timeout in a real browser (issue 14, item 1): before the session ends the page warns
in a dialog; staying signed in renews the session; doing nothing ends it, and the person lands
on the sign-in page told why, with the session gone on the server too."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD
from tests.browser.test_sign_in_page import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def short_sessions(settings):
    settings.SESSION_COOKIE_AGE = 8
    settings.WEB_IDLE_WARNING_SECONDS = 6


def test_the_page_warns_then_signs_out_after_the_idle_time(
    page, live_server, check_page, officer, short_sessions
):
    sign_in(page, live_server, "jo.bloggs", PASSWORD)
    dialog = page.locator("#timeout-warning")
    expect(dialog).to_be_visible(timeout=5000)  # 2 s after the page loaded
    check_page("timeout-warning")

    page.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    # Past the end of the session the sign-in began (8 s): the extension renewed it.
    page.wait_for_timeout(6500)
    assert page.evaluate("fetch('/home/', {redirect: 'manual'}).then((r) => r.status)") == 200

    expect(page).to_have_url(re.compile(r"/accounts/login/\?timed_out=1$"), timeout=15000)
    expect(page.locator("#timed-out")).to_contain_text("signed out because you did nothing")
    check_page("timed-out")
    page.goto(live_server.url + "/referrals/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/referrals/$"))
