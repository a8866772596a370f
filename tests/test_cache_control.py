"""Responses that carry personal data are never cached (DESIGN.md, *Errors and HTTP
conventions*; issue 12, item 5): `Cache-Control: no-store` on every endpoint that touches
personal data, from the committed schema, including the subject report's download."""

import re
import uuid

from agencies.models import AgencyKind
from tests.conftest import openapi_schema, referral_body

PERSONAL = re.compile(
    r"^/api/v1/(referrals/(\{[^}]+\}/|$)|consents/|events/|audit/events/|audit/subjects/)"
)


def test_every_read_of_personal_data_says_no_store(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    operator = api_client_for(world[AgencyKind.HUB_OPERATOR])
    referral = referrer.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    ).json()
    ids = {"referral_id": referral["id"], "person_id": referral["subject"]["identity"]["id"]}
    paths = [
        path
        for path, operations in openapi_schema()["paths"].items()
        if "get" in operations and PERSONAL.match(path) and "{consent_id}" not in path
    ]
    assert len(paths) >= 8

    for template in paths:
        path = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), str(uuid.uuid4())), template)
        client = operator if template.startswith("/api/v1/audit/subjects/") else referrer
        response = client.get(path)
        assert response.status_code < 500, path
        assert response.headers.get("Cache-Control") == "no-store", (path, response.status_code)


def test_the_subject_reports_download_says_no_store(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    operator = api_client_for(world[AgencyKind.HUB_OPERATOR])
    person = referrer.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    ).json()["subject"]["identity"]["id"]

    response = operator.get(f"/api/v1/audit/subjects/{person}/report/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
