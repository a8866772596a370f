"""The referral pages for people (issue 14, items 1 and 3), through the same use cases as the API
(issue 13, item 1): the demo's people sign in with the passwords seed_demo printed, and see
exactly what their agency's API client sees; each page that shows personal data leaves one
access record naming the person and the channel `web`; a page refused to a non-party is a 404,
recorded; and nothing a provider's worker is shown holds the partner's details or names the
partner service."""

import re

import pytest
from django.test import Client

from audit.models import AccessRecord
from referrals.models import Referral
from tests.test_partner_safety_sweep import PARTNER_DETAILS
from tests.web.conftest import OFFICER, PARTNER_SERVICE_NAME, PROVIDER_WORKER

pytestmark = pytest.mark.django_db
OFFICER_AGENCY = "Northshire Probation Service"


def web_records():
    return AccessRecord.objects.filter(channel="web", path__startswith="/referrals/")


def test_a_signed_in_officer_lands_on_their_agencys_referrals(people):
    response = people[OFFICER].get("/", follow=True)

    assert response.redirect_chain[-1][0] == "/referrals/"
    html = response.content.decode()
    assert "Example" in html  # the man's name: probation may see it
    assert "risk_management" in html  # the purpose they act for, shown


def test_the_referral_page_shows_what_the_api_shows_and_names_each_withheld_category(
    people, demo_referral
):
    html = people[PROVIDER_WORKER].get(f"/referrals/{demo_referral.id}/").content.decode()

    assert "Example" in html
    withheld_table = html[
        html.index('id="withheld"') : html.index("</table>", html.index('id="withheld"'))
    ]
    shown = re.findall(r"<td[^>]*>([^<]+)</td><td[^>]*><code>([a-z_]+)</code>", withheld_table)
    record = web_records().latest("at")
    decided = [(w["category"], w["reason"]) for w in record.decisions[0]["withheld"]]
    assert {category for category, _ in decided} >= {"partner.identity", "partner.contact"}
    assert [reason for _, reason in shown] == [reason for _, reason in decided]
    assert len(shown) == len(decided)
    assert "The partner&#x27;s identity" in html


def test_every_page_with_personal_data_leaves_one_access_record_naming_the_person(
    people, demo_referral
):
    before = web_records().count()

    people[OFFICER].get("/referrals/")
    people[OFFICER].get(f"/referrals/{demo_referral.id}/")

    records = list(web_records().order_by("at")[before:])
    assert [(r.path, r.status, r.outcome) for r in records] == [
        ("/referrals/", 200, "served"),
        (f"/referrals/{demo_referral.id}/", 200, "served"),
    ]
    officer = people[OFFICER].session["_auth_user_id"]
    assert {r.person for r in records} == {str(officer)}
    assert all(r.client == "" and r.purpose == "risk_management" for r in records)
    assert str(demo_referral.id) in records[1].referrals
    assert "risk" in records[1].disclosed


def test_a_referral_page_refused_to_a_non_party_is_a_404_and_recorded(people, demo_referral):
    court_clerk = people["court.officer"]
    other = Referral.objects.exclude(
        referrer__name="Northshire Magistrates' Court",
    ).exclude(observers__name="Northshire Magistrates' Court")
    stranger = (
        other.exclude(provider__name="Northshire Magistrates' Court")
        .exclude(partner_service__name="Northshire Magistrates' Court")
        .first()
    )
    assert stranger is not None, "the demo has a referral the court is not party to"

    response = court_clerk.get(f"/referrals/{stranger.id}/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    record = AccessRecord.objects.filter(channel="web", status=404).latest("at")
    assert record.referrals == [str(stranger.id)]
    assert record.outcome == "refused" and record.flagged
    assert record.disclosed == []


def test_no_page_a_provider_worker_sees_holds_the_partners_details_or_her_service(people):
    worker = people[PROVIDER_WORKER]
    listing = worker.get("/referrals/")
    pages = [listing] + [
        worker.get(f"/referrals/{referral.id}/")
        for referral in Referral.objects.filter(provider__name="Turning Point Programmes")
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        for detail in PARTNER_DETAILS:
            assert detail not in html, (page.request["PATH_INFO"], detail)
        assert PARTNER_SERVICE_NAME not in html
        assert "Women&#x27;s Aid" not in html


def test_a_person_changes_their_purpose_among_those_their_role_allows(people):
    officer = people[OFFICER]

    changed = officer.post("/referrals/", {"purpose": "court_compliance"})
    assert changed.status_code == 302 and changed.headers["Location"] == "/referrals/"
    officer.get("/referrals/")
    assert web_records().latest("at").purpose == "court_compliance"

    refused = officer.post("/referrals/", {"purpose": "partner_safety"})
    assert refused.status_code == 200  # the form again, with its error summary
    assert "There is a problem" in refused.content.decode()
    officer.get("/referrals/")
    assert web_records().latest("at").purpose == "court_compliance"


def test_a_bad_filter_is_an_error_summary_and_reads_nothing(people):
    before = AccessRecord.objects.count()

    response = people[OFFICER].get("/referrals/?status=nonsense")

    assert response.status_code == 200  # the form again, with its error summary
    assert "There is a problem" in response.content.decode()
    assert AccessRecord.objects.count() == before


def test_someone_who_acts_for_no_agency_is_refused_the_referral_pages(db, django_user_model):
    django_user_model.objects.create_user(username="nobody", password="a long password 1")
    browser = Client()
    browser.post("/accounts/login/", {"username": "nobody", "password": "a long password 1"})

    response = browser.get("/referrals/")

    assert response.status_code == 403
    assert "no agency" in response.content.decode()


def test_every_demo_person_reaches_their_agencys_referrals(people):
    for username, browser in people.items():
        response = browser.get("/referrals/")

        assert response.status_code == 200, username
        assert "Referrals" in response.content.decode()


def test_the_tabs_count_the_agencys_referrals_and_keep_the_filters(people, demo_referral):
    officer = people[OFFICER]
    html = officer.get("/referrals/?sort=oldest").content.decode()

    open_count = int(re.search(r'id="tab-open"[^>]*>[^<]*<span[^>]*>\((\d+)\)', html).group(1))
    all_count = int(re.search(r'id="tab-all"[^>]*>[^<]*<span[^>]*>\((\d+)\)', html).group(1))
    assert open_count == all_count == Referral.objects.filter(referrer__name=OFFICER_AGENCY).count()
    assert 'href="/referrals/?sort=oldest&amp;tab=ended"' in html

    ended = officer.get("/referrals/?tab=ended").content.decode()
    assert "Example" not in ended and "Your agency is party to no referral" in ended


def test_a_referral_is_found_by_its_reference(people, demo_referral):
    officer = people[OFFICER]

    found = officer.get(f"/referrals/?reference={str(demo_referral.id)[:8]}").content.decode()
    missed = officer.get("/referrals/?reference=ffffffff0").content.decode()
    bad = officer.get("/referrals/?reference=not-hex").content.decode()

    assert "Example" in found
    assert "Example" not in missed
    assert "There is a problem" in bad and "Enter a reference" in bad


def test_the_oldest_first_sort_pages_forward_through_every_referral(people):
    officer = people[OFFICER]
    mine = Referral.objects.filter(referrer__name=OFFICER_AGENCY).order_by("created_at", "id")

    html = officer.get("/referrals/?sort=oldest&tab=all").content.decode()

    shown = re.findall(r'href="/referrals/([0-9a-f-]{36})/"', html)
    assert shown == [str(r.id) for r in mine][: len(shown)] and shown
