"""The demo world's people, each signed in through the sign-in page with the password seed_demo
printed for them (issue 14, item 4): the fixtures of the web pages' tests."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from referrals.models import Referral

PROVIDER_WORKER = "turning-point.worker"
OFFICER = "probation.officer"
PARTNER_SERVICE_NAME = "Northshire Women's Aid"


@pytest.fixture
def people():
    """The demo world; each demo person's browser session, signed in with their password."""
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    sessions = {}
    for line in out.getvalue().splitlines():
        seeded = json.loads(line)
        if "username" in seeded:
            browser = Client()
            response = browser.post(
                "/accounts/login/",
                {"username": seeded["username"], "password": seeded["password"]},
            )
            assert response.status_code == 302, seeded["username"]
            sessions[seeded["username"]] = browser
    return sessions


@pytest.fixture
def demo_referral():
    return Referral.objects.get(subject_identity__family_name="Example")
