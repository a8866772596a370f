"""Why we see what we see, and who accessed a referral, on the web (issue 14, item 3): the
API's explain and accesses as pages, one access record each, naming agreements and agencies
only where the naming rule allows (never the partner's support service to the provider)."""

import pytest

from audit.models import AccessRecord
from tests.web.conftest import OFFICER, PARTNER_SERVICE_NAME, PROVIDER_WORKER

pytestmark = pytest.mark.django_db


def test_the_provider_is_told_what_each_category_rests_on(people, demo_referral):
    html = people[PROVIDER_WORKER].get(f"/referrals/{demo_referral.id}/why/").content.decode()

    assert "Probation to programme provider: programme delivery" in html
    assert "public_task" in html
    partner_row = html[html.index("The partner&#x27;s identity") :]
    assert "No" in partner_row[:400]
    assert PARTNER_SERVICE_NAME not in html and "Women&#x27;s Aid" not in html
    record = AccessRecord.objects.filter(channel="web", path__endswith="/why/").get()
    assert record.referrals == [str(demo_referral.id)]


def test_the_referrer_sees_who_accessed_what_it_supplied(people, demo_referral):
    people[PROVIDER_WORKER].get(f"/referrals/{demo_referral.id}/")

    html = people[OFFICER].get(f"/referrals/{demo_referral.id}/accesses/").content.decode()

    rows = html[html.index('id="accesses"') :]
    assert "Turning Point Programmes" in rows
    assert "programme_delivery" in rows


def test_the_provider_never_sees_the_partner_services_accesses(people, demo_referral):
    people["womens-aid.worker"].get(f"/referrals/{demo_referral.id}/")

    html = people[PROVIDER_WORKER].get(f"/referrals/{demo_referral.id}/accesses/").content.decode()

    assert PARTNER_SERVICE_NAME not in html and "victim" not in html.lower()
    assert "partner_safety" not in html
