"""API helpers: real tokens from /o/token/, and every response checked against the schema."""

import base64
import datetime
import fcntl
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from openapi_schema_validator import OAS31Validator
from rest_framework.test import APIClient
from whitenoise.middleware import WhiteNoiseMiddleware

from agencies.models import Agency, AgencyKind
from agencies.registration import SCOPE_CEILINGS
from agencies.services import client_create
from core.vocabulary import Purpose
from tests import factories

pytest_plugins = ["tests.audit_protection", "tests.hypothesis_profile"]
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "openapi" / "schema.yaml"
ALL_SCOPES = [
    "referrals:read",
    "referrals:write",
    "consent:read",
    "consent:write",
    "policies:read",
    "policies:write",
    "audit:read",
]
# Every purpose but `audit`, which comes with the audit:read scope (agencies.registration).
DECLARABLE_PURPOSES = [p.value for p in Purpose if p != Purpose.AUDIT]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run with DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@cache
def openapi_schema() -> dict[str, Any]:
    # libyaml's loader where PyYAML has it (a second per test process, against the pure one).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SCHEMA_PATH.read_text(), Loader=loader)  # noqa: S506 (a safe loader)


@cache
def operation_patterns() -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    """Each path of the schema as a pattern, literal paths before templated ones (/explain/ is
    not an {agreement_id})."""
    paths = sorted(openapi_schema()["paths"].items(), key=lambda item: item[0].count("{"))
    return [
        (re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"), operations)
        for template, operations in paths
    ]


# One validator per response schema of the (cached, never changed) committed schema, by its id.
VALIDATORS: dict[int, OAS31Validator] = {}


def validator_for(schema: dict[str, Any]) -> OAS31Validator:
    if id(schema) not in VALIDATORS:
        root = {**schema, "components": openapi_schema()["components"]}
        VALIDATORS[id(schema)] = OAS31Validator(root)
    return VALIDATORS[id(schema)]


def operation_for(path: str, method: str) -> dict[str, Any] | None:
    for pattern, operations in operation_patterns():
        if pattern.match(path):
            return operations.get(method.lower())
    return None


def assert_matches_schema(response: Any, method: str, path: str) -> None:
    """The response is one the committed OpenAPI schema describes, body and all."""
    if not path.startswith("/api/v1/"):
        return
    operation = operation_for(path, method)
    assert operation is not None, f"{method} {path} is not in openapi/schema.yaml"
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, (
        f"{method} {path} answered {response.status_code}, which the schema does not document"
    )
    content_type = response.headers.get("Content-Type", "").split(";")[0]
    if not documented.get("content"):
        return
    assert content_type in documented["content"], f"undocumented content type {content_type}"
    validator = validator_for(documented["content"][content_type]["schema"])
    if getattr(response, "streaming", False):
        # Read the stream once and keep it, so that the test can read it too.
        body = b"".join(response.streaming_content)
        response.streaming_content = [body]
    else:
        body = response.content
    if content_type.endswith("json"):
        validator.validate(json.loads(body))
    else:
        validator.validate(body.decode())


class SchemaCheckedClient(APIClient):
    """An API client whose every /api/v1/ response must match the committed schema."""

    def generic(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        response = super().generic(method, path, *args, **kwargs)
        assert_matches_schema(response, method, path.split("?")[0])
        return response


@contextmanager
def one_worker_at_a_time(resource: str) -> Iterator[None]:
    """Holds `resource` (a name) against every other test process on this machine while the
    block runs: pytest-xdist's workers (`--dist worksteal`) may run two tests of one file at
    once, and a resource outside the test database (a Redis database emptied by the test)
    must not be shared between them."""
    path = Path(tempfile.gettempdir()) / f"hub-tests-{resource}.lock"
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def request_token(client_id: str, secret: str, **form: str) -> Any:
    return APIClient().post(
        "/o/token/",
        {"grant_type": "client_credentials", **form},
        format="multipart",
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
    )


@pytest.fixture(scope="session", autouse=True)
def static_files_found_once_per_settings() -> Iterator[None]:
    """WhiteNoise serves the static files through the finders (WHITENOISE_USE_FINDERS,
    hub/settings.py) and walks and stats every one of them each time its middleware is built;
    Django's test client builds the middleware anew for each client, so that this walk was a
    third of an API test's time. Here the files it found are kept, per settings that shape
    them, and handed to every later instance: what a server does, building its middleware once
    per process. The first instance under given settings still walks them as in production."""
    walk = WhiteNoiseMiddleware.add_files_from_finders
    found: dict[tuple[Any, ...], dict[str, Any]] = {}

    def add_files_from_finders(middleware: WhiteNoiseMiddleware) -> None:
        key = (
            middleware.static_prefix,
            middleware.max_age,
            middleware.allow_all_origins,
            middleware.charset,
            *(
                repr(getattr(settings, name, None))
                for name in (
                    "INSTALLED_APPS",
                    "STATICFILES_DIRS",
                    "STATICFILES_FINDERS",
                    "WHITENOISE_ADD_HEADERS_FUNCTION",
                    "WHITENOISE_IMMUTABLE_FILE_TEST",
                    "WHITENOISE_INDEX_FILE",
                    "WHITENOISE_MIMETYPES",
                )
            ),
        )
        if key not in found:
            before = dict(middleware.files)
            walk(middleware)
            found[key] = {
                url: file for url, file in middleware.files.items() if before.get(url) is not file
            }
        middleware.files.update(found[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoiseMiddleware, "add_files_from_finders", add_files_from_finders)
        yield


@pytest.fixture(autouse=True)
def no_rate_limit_counted_yet() -> None:
    """Rate-limit counters live in the cache, which outlives a test: each test starts afresh."""
    caches["default"].clear()


@pytest.fixture
def make_agency(db: None) -> Callable[..., Agency]:
    def make(kind: str = AgencyKind.PROBATION, **kwargs: Any) -> Agency:
        return factories.AgencyFactory(kind=kind, **kwargs)

    return make


@pytest.fixture
def api_client_for(db: None) -> Callable[..., SchemaCheckedClient]:
    """`api_client_for(agency, scopes=[...], purpose=..., purposes=[...])`: a client with a real
    bearer token; by default it holds every scope its agency's kind may hold and may declare
    every purpose."""

    def make(
        agency: Agency,
        scopes: list[str] | None = None,
        purpose: str | None = "risk_management",
        purposes: list[str] | None = None,
    ) -> SchemaCheckedClient:
        issued = client_create(
            agency_id=agency.id,
            scopes=scopes or sorted(SCOPE_CEILINGS[agency.kind]),
            purpose=purpose,
            purposes=DECLARABLE_PURPOSES if purposes is None else purposes,
        )
        response = request_token(issued.client.client_id, issued.client_secret)
        assert response.status_code == 200, response.content
        client = SchemaCheckedClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
        client.oauth_client = issued.client
        client.agency = agency
        client.access_token = response.json()["access_token"]
        return client

    return make


@pytest.fixture
def world(make_agency: Callable[..., Agency]) -> dict[str, Any]:
    """One agency of each kind, and an active group programme of the provider's."""
    agencies = {
        kind: make_agency(kind=kind)
        for kind in (
            AgencyKind.COURT,
            AgencyKind.PROBATION,
            AgencyKind.POLICE,
            AgencyKind.VICTIM_SERVICE,
            AgencyKind.PROGRAMME_PROVIDER,
            AgencyKind.CHILDREN_SERVICES,
            AgencyKind.MARAC,
            AgencyKind.HUB_OPERATOR,
        )
    }
    programme = factories.ProgrammeFactory(provider=agencies[AgencyKind.PROGRAMME_PROVIDER])
    return {**agencies, "programme": programme}


def referral_body(programme_id: Any, **extra: Any) -> dict[str, Any]:
    """A full referral body: every category holds data."""
    body = {
        "programme": str(programme_id),
        "subject": {
            "identity": {
                "given_name": "Adam",
                "family_name": "Testcase",
                "date_of_birth": "1985-01-02",
                "identifiers": [{"system": "test.pnc", "value": "85/000001A"}],
            },
            "contact": {"address": "2 Test Road", "phone": "01632 960100"},
        },
        "offence": {
            "summary": "Common assault.",
            "mandate": "court_mandated",
            "court_order": {"court": "Test Court"},
        },
        "risk": {"level": "high", "tool": "DASH", "summary": "Escalating.", "marac": True},
        "partner": {
            "identity": {"name": "Beth Private"},
            "contact": {
                "address": "Refuge, secret",
                "phone": "01632 960200",
                "safe_contact": "Mornings",
            },
            "disclosures": [{"summary": "She said the threats began in spring."}],
        },
        "children": [{"age": 6, "notes": "Primary school."}],
    }
    body.update(extra)
    return body


def agreement_body(provider: Agency, recipient: Agency, grants: list[str], purposes: list[str]):
    """An active agreement from `provider` to `recipient` granting these categories on
    public_task, for these purposes, valid from a month ago for a year."""
    today = datetime.date.today()
    return {
        "name": "Test agreement",
        "provider": str(provider.id),
        "recipient": str(recipient.id),
        "recipient_kind": None,
        "purposes": purposes,
        "grants": [{"category": c, "lawful_basis": "public_task"} for c in grants],
        "valid_from": str(today - datetime.timedelta(days=30)),
        "valid_to": str(today + datetime.timedelta(days=365)),
        "status": "active",
    }
