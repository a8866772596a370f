"""The partner-safety sweep over the web pages (issue 14): signed in as the programme
provider's worker, every page reachable by following links from the root, with the demo
referral at each step of its lifecycle, holds none of the seeded partner's details and never
names the service that supports her. Crawled, so that a page added later is swept from its
first day."""

import re
from urllib.parse import urlsplit

import pytest

from tests.test_partner_safety_sweep import PARTNER_DETAILS
from tests.web.conftest import PARTNER_SERVICE_NAME, PROVIDER_WORKER

pytestmark = pytest.mark.django_db

LINK = re.compile(r'href="(/[^"#]*)"')
# Links that change state or leave the pages (signing out is a form, not a link).
NOT_FOLLOWED = ("/static/", "/api/", "/accounts/logout/", "/admin/")


def crawl(browser, start="/"):
    """Every page reachable from `start` by GET through the hub's own links: path -> html."""
    seen, queue, pages = set(), [start], {}
    while queue:
        path = queue.pop()
        if path in seen or path.startswith(NOT_FOLLOWED):
            continue
        seen.add(path)
        response = browser.get(path, follow=True)
        final = response.redirect_chain[-1][0] if response.redirect_chain else path
        html = response.content.decode()
        pages[urlsplit(final).path + ("?" + urlsplit(final).query if "?" in final else "")] = html
        queue.extend(link.replace("&amp;", "&") for link in LINK.findall(html))
    return pages


def assert_nothing_of_hers(pages):
    for path, html in pages.items():
        for detail in PARTNER_DETAILS:
            assert detail not in html, (path, detail)
        assert PARTNER_SERVICE_NAME not in html, path
        assert "Women&#x27;s Aid" not in html, path


def test_no_page_the_provider_reaches_holds_her_details_at_any_step(people, demo_referral):
    worker = people[PROVIDER_WORKER]
    pages = {}
    for status in (None, "acknowledged", "assessment", "accepted", "in_programme"):
        if status:
            assert (
                worker.post(f"/referrals/{demo_referral.id}/move/", {"to": status}).status_code
                == 302
            )
        pages.update(crawl(worker))

    assert f"/referrals/{demo_referral.id}/" in pages
    assert any(path.startswith(f"/referrals/{demo_referral.id}/reports/") for path in pages)
    assert "/changes/" in pages and f"/referrals/{demo_referral.id}/move/" in pages
    assert_nothing_of_hers(pages)
