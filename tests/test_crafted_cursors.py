"""A crafted, truncated or foreign cursor is a 400 problem (`cursor`) on every paginated list,
never a 500 (issue 11, item 1): DRF's cursors pass their position straight to the database."""

from base64 import b64encode
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies.models import AgencyKind
from tests.conftest import referral_body


def drf_cursor(query: str) -> str:
    return b64encode(query.encode()).decode()


# name -> (cursor, whether it is bad for a list ordered by name too)
CRAFTED = {
    "position not a date": (drf_cursor("p=not-a-date"), False),
    "impossible date": (drf_cursor("p=2026-13-45"), False),
    "NUL in the position": (drf_cursor("p=2026-01-01\x00"), True),
    "date without a zone": (drf_cursor("p=2026-01-01 10:00:00"), False),
    "negative offset": (drf_cursor("o=-1&p=2026-01-01+10:00:00%2B00:00"), True),
    "not text": (b64encode(b"\xff\xfe\xfd").decode(), True),
}
BY_NAME = "/api/v1/agencies/"


@pytest.fixture
def lists(api_client_for, world) -> tuple[Any, list[str]]:
    """A client that may read every paginated list, and their paths (each with a next link)."""
    referrer = api_client_for(world[AgencyKind.PROBATION])
    created = referrer.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    )
    assert created.status_code == 201
    rid = created.json()["id"]
    return referrer, [
        "/api/v1/agencies/",
        "/api/v1/programmes/",
        "/api/v1/referrals/",
        "/api/v1/consents/",
        "/api/v1/sharing-agreements/",
        "/api/v1/audit/events/",
        f"/api/v1/referrals/{rid}/accesses/",
    ]


@pytest.mark.parametrize(("cursor", "bad_for_names"), CRAFTED.values(), ids=CRAFTED.keys())
def test_a_crafted_cursor_is_a_400_on_every_list(lists, cursor, bad_for_names):
    client, paths = lists
    for path in paths:
        response = client.get(path, {"cursor": cursor})
        if path == BY_NAME and not bad_for_names:
            assert response.status_code == 200  # any printable text is a name
            continue

        assert response.status_code == 400, (path, response.content)
        assert response.json()["errors"] == [{"field": "cursor", "message": "Invalid cursor."}]


def test_a_genuine_next_link_cut_short_is_a_400_on_every_list(lists, world):
    client, paths = lists
    for path in paths:
        first = client.get(path, {"page_size": 1}).json()
        if not first["next"]:
            continue
        cursor = parse_qs(urlparse(first["next"]).query)["cursor"][0]
        for cut in (1, 2, 3, 4):
            response = client.get(path, {"page_size": 1, "cursor": cursor[:-cut]})
            assert response.status_code in (200, 400), (path, cut, response.content)
            if response.status_code == 400:
                assert response.json()["errors"][0]["field"] == "cursor"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(position=st.text(max_size=40), offset=st.integers(-5, 10**6))
def test_no_cursor_position_is_ever_a_500(lists, position, offset):
    client, paths = lists
    cursor = drf_cursor(f"o={offset}&p={position}")
    for path in paths[:5]:
        response = client.get(path, {"cursor": cursor})
        assert response.status_code in (200, 400), (path, position, response.content)
