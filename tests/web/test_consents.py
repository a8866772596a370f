"""Consents on the web (issue 14, item 3), without a browser: the referrer lists, records and
withdraws them, told the effect first; the withdrawal counts from the provider's very next page;
for the provider they do not exist; bad answers are an error summary that writes nothing."""

import pytest

from audit.models import AccessRecord
from consent.models import Consent
from tests.web.conftest import OFFICER, PROVIDER_WORKER

pytestmark = pytest.mark.django_db


def his_contact_consent(referral):
    return next(
        c
        for c in Consent.objects.filter(referral=referral, data_subject="subject")
        if c.provisions[0]["categories"] == ["subject.contact"]
    )


def test_the_officer_lists_the_referrals_consents(people, demo_referral):
    html = people[OFFICER].get(f"/referrals/{demo_referral.id}/consents/").content.decode()

    assert html.count('class="govuk-summary-card"') == 3
    assert "The man&#x27;s contact details" in html
    record = AccessRecord.objects.filter(channel="web").latest("at")
    assert record.referrals == [str(demo_referral.id)]


def test_consents_do_not_exist_for_the_provider(people, demo_referral):
    worker = people[PROVIDER_WORKER]

    assert worker.get(f"/referrals/{demo_referral.id}/consents/").status_code == 404
    consent = his_contact_consent(demo_referral)
    assert worker.get(f"/consents/{consent.id}/withdraw/").status_code == 404
    assert "/consents/" not in worker.get(f"/referrals/{demo_referral.id}/").content.decode()


def test_a_withdrawal_is_explained_then_counts_from_the_providers_next_page(people, demo_referral):
    officer, worker = people[OFFICER], people[PROVIDER_WORKER]
    consent = his_contact_consent(demo_referral)
    assert "1 Demo Street" in worker.get(f"/referrals/{demo_referral.id}/").content.decode()

    form = officer.get(f"/consents/{consent.id}/withdraw/").content.decode()
    assert "from their very next request" in form
    withdrawn = officer.post(
        f"/consents/{consent.id}/withdraw/", {"reason": "He asked the officer to stop it."}
    )

    assert withdrawn.status_code == 302
    assert withdrawn.headers["Location"] == f"/referrals/{demo_referral.id}/consents/"
    page = worker.get(f"/referrals/{demo_referral.id}/").content.decode()
    assert "1 Demo Street" not in page
    withheld = page[page.index('id="withheld"') :]
    assert "The man&#x27;s contact details" in withheld and "no_consent" in withheld


def test_a_withdrawal_needs_a_reason(people, demo_referral):
    consent = his_contact_consent(demo_referral)

    response = people[OFFICER].post(f"/consents/{consent.id}/withdraw/", {"reason": ""})

    assert response.status_code == 200
    assert "Enter why the consent is withdrawn" in response.content.decode()
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_the_officer_records_a_consent(people, demo_referral):
    before = Consent.objects.filter(referral=demo_referral).count()

    response = people[OFFICER].post(
        f"/referrals/{demo_referral.id}/consents/new/",
        {
            "data_subject": "partner",
            "type": "permit",
            "categories": ["partner.contact"],
            "recipient_kinds": ["police"],
            "purposes": ["risk_management"],
            "valid_from": "2026-12-01",
            "evidence_method": "verbal_recorded",
        },
    )

    assert response.status_code == 302
    assert Consent.objects.filter(referral=demo_referral).count() == before + 1


def test_a_consent_without_categories_is_an_error_summary_and_writes_nothing(people, demo_referral):
    before = Consent.objects.count()

    response = people[OFFICER].post(
        f"/referrals/{demo_referral.id}/consents/new/",
        {"data_subject": "partner", "type": "permit", "valid_from": "2026-12-01"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html and 'id="id_categories_error"' in html
    assert 'href="#id_categories_0"' in html
    assert Consent.objects.count() == before
