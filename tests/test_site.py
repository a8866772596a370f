"""Settings, docs pages served offline, the admin, and health probes."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agencies.models import AgencyKind, StaffMembership, StaffRole, User
from tests.conftest import referral_body

ROOT = Path(__file__).resolve().parent.parent


def run_check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
    )


def test_hub_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_check(DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_hub_starts_without_a_secret_key_in_debug():
    assert run_check(DEBUG="1").returncode == 0


def test_debug_must_be_one_or_zero():
    result = run_check(DEBUG="yes", SECRET_KEY="k")

    assert result.returncode != 0


def test_production_defaults_are_safe(settings):
    assert settings.DEBUG is False
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SECURE_HSTS_SECONDS >= 31_536_000
    renderers = settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]
    assert not any("Browsable" in r for r in renderers)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_no_asset_from_elsewhere(client, path):
    response = client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        served = client.get(asset)
        assert served.status_code == 200, asset
        b"".join(served.streaming_content) if served.streaming else served.content


def test_schema_endpoint_serves_the_openapi_document(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"openapi: 3.1.0" in response.content


def test_healthz_is_alive(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_admin_manages_agencies_clients_and_programmes_but_never_referrals(
    client, api_client_for, world
):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    referrer.post("/api/v1/referrals/", referral_body(world["programme"].id), format="json")
    admin_user = User.objects.create_superuser("operator", password="a-long-test-password")
    StaffMembership.objects.create(
        user=admin_user, agency=world[AgencyKind.HUB_OPERATOR], role=StaffRole.ADMINISTRATOR
    )
    client.force_login(admin_user)

    index = client.get("/admin/").content.decode()

    assert "/admin/agencies/agency/" in index
    assert "/admin/agencies/client/" in index
    assert "/admin/referrals/programme/" in index
    assert "/admin/referrals/referral/" not in index
    assert client.get("/admin/referrals/referral/").status_code == 404
    client_page = client.get("/admin/agencies/client/add/").content.decode()
    assert 'name="client_secret"' not in client_page
    for page in ("/admin/agencies/agency/", "/admin/agencies/client/", "/admin/auditlog/logentry/"):
        body = client.get(page).content.decode()
        assert "Adam" not in body and "Beth Private" not in body


def test_sign_in_page_for_people_renders(client, db):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
