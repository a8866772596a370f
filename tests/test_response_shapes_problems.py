"""One source per response shape (issue 13, item 3): the RFC 9457 problem.

Every error the hub answers, inside DRF or outside it (middleware, Django's error views, the
health checks, the token endpoint's wrapper), is rendered by `core.problems.ProblemSerializer`,
and the schema's `Problem` component is generated from that class. A body that gained a key the
serializer does not declare, or lost one it requires, fails here; so does an extension member
that the serializer would drop unseen.
"""

import uuid
from typing import Any

import pytest
from django.db import InterfaceError
from django.test import Client
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from agencies.models import AgencyKind
from core.exceptions import DomainError, IllegalTransition, PolicyViolation
from core.problems import (
    DOMAIN_PROBLEMS,
    PROBLEM_CONTENT_TYPE,
    ProblemErrorSerializer,
    ProblemSerializer,
    exception_handler,
    problem_body,
)
from referrals.models import Referral
from tests import factories
from tests.conftest import referral_body
from tests.schema_components import assert_component_made_from, fields_of, generated

pytestmark = pytest.mark.django_db

REQUIRED = ["type", "title", "status", "detail"]


def assert_rendered_by_the_problem_serializer(body: dict[str, Any], status: int) -> None:
    """The body is what ProblemSerializer renders: its required members, no member it does not
    declare, each of the declared type (rendering it again changes nothing)."""
    assert set(REQUIRED) <= set(body), body
    assert set(body) <= set(fields_of(ProblemSerializer)), body
    assert list(body) == [name for name in fields_of(ProblemSerializer) if name in body]
    assert ProblemSerializer().to_representation(body) == body
    assert body["status"] == status
    assert body["type"].startswith("urn:referral-hub:problem:")


def test_the_problem_component_is_made_from_the_problem_serializer():
    components = assert_component_made_from(ProblemSerializer, "Problem")
    problem = components["Problem"]

    assert sorted(problem["required"]) == sorted(REQUIRED)
    items = problem["properties"]["errors"]["items"]
    assert list(items["properties"]) == fields_of(ProblemErrorSerializer)
    assert sorted(items["required"]) == ["field", "message"]
    assert "ProblemError" not in components  # documented inline, as it always was


def test_every_problem_response_of_every_operation_is_the_component():
    for methods in generated()["schema"]["paths"].values():
        for method, operation in methods.items():
            for code, response in operation.get("responses", {}).items():
                if code.startswith(("4", "5")) and "content" in response:
                    content = response["content"][PROBLEM_CONTENT_TYPE]
                    assert content["schema"] == {"$ref": "#/components/schemas/Problem"}, (
                        method,
                        code,
                    )


@pytest.fixture
def clients(api_client_for, world):
    provider = world[AgencyKind.PROGRAMME_PROVIDER]
    probation = world[AgencyKind.PROBATION]
    referral = factories.ReferralFactory(referrer=probation, programme=world["programme"])
    return {
        "referral": referral,
        "probation": api_client_for(probation),
        "provider": api_client_for(provider),
        "reader": api_client_for(provider, scopes=["referrals:read"]),
    }


def referral_path(clients: dict[str, Any]) -> str:
    return f"/api/v1/referrals/{clients['referral'].id}/"


def refer_twice(client: Any, c: dict[str, Any]) -> Any:
    body = referral_body(c["referral"].programme_id)
    client.post("/api/v1/referrals/", body, format="json")
    return client.post("/api/v1/referrals/", body, format="json")


def erased(c: dict[str, Any]) -> str:
    Referral.objects.filter(id=c["referral"].id).update(erased_at=timezone.now())
    return referral_path(c)


AMENDMENT = {"risk": {"level": "medium"}, "amendment_reason": "New DASH."}

# (name, request, status): every way the hub answers a problem that a client can provoke.
REQUESTS = [
    (
        "a validation error, with one entry per field",
        lambda c: c["probation"].post("/api/v1/referrals/", {"programme": "x"}, format="json"),
        400,
    ),
    (
        "an illegal transition, with the statuses allowed",
        lambda c: c["provider"].post(
            referral_path(c) + "transitions/", {"to": "completed"}, format="json"
        ),
        409,
    ),
    ("a second open referral of one man", lambda c: refer_twice(c["probation"], c), 409),
    ("an erased referral", lambda c: c["probation"].get(erased(c)), 410),
    ("no token", lambda c: Client().get("/api/v1/referrals/"), 401),
    (
        "a scope lacking",
        lambda c: c["reader"].post(
            referral_path(c) + "transitions/", {"to": "acknowledged"}, format="json"
        ),
        403,
    ),
    (
        "a referral that does not exist",
        lambda c: c["probation"].get(f"/api/v1/referrals/{uuid.uuid4()}/"),
        404,
    ),
    (
        "a method not allowed",
        lambda c: Client().delete(
            "/api/v1/referrals/", HTTP_AUTHORIZATION=f"Bearer {c['probation'].access_token}"
        ),
        405,
    ),
    (
        "an unacceptable media type",
        lambda c: c["probation"].get("/api/v1/referrals/", HTTP_ACCEPT="text/csv"),
        406,
    ),
    (
        "an unsupported body",
        lambda c: c["probation"].post("/api/v1/referrals/", "x", content_type="text/plain"),
        415,
    ),
    (
        "a change without If-Match",
        lambda c: c["probation"].patch(referral_path(c), AMENDMENT, format="json"),
        428,
    ),
    (
        "a change with a stale If-Match",
        lambda c: c["probation"].patch(
            referral_path(c), AMENDMENT, format="json", HTTP_IF_MATCH='"stale"'
        ),
        412,
    ),
    ("an address outside every view", lambda c: Client().get("/api/v1/no-such-thing/"), 404),
    (
        "a Content-Length that is not a number, outside the API",
        lambda c: Client().post("/o/token/", "", content_type="x", CONTENT_LENGTH="many"),
        400,
    ),
    (
        "a body too large, outside the API",
        lambda c: Client().post("/o/token/", "", content_type="x", CONTENT_LENGTH=str(10**9)),
        413,
    ),
    ("a health check asked to change", lambda c: Client().post("/healthz"), 405),
]


@pytest.mark.parametrize(
    ("provoke", "status"),
    [pytest.param(provoke, status, id=name) for name, provoke, status in REQUESTS],
)
def test_every_problem_answered_is_rendered_by_the_problem_serializer(clients, provoke, status):
    response = provoke(clients)

    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert_rendered_by_the_problem_serializer(response.json(), status)


def test_the_validation_and_transition_problems_carry_their_members(clients):
    invalid = REQUESTS[0][1](clients).json()
    illegal = REQUESTS[1][1](clients).json()

    assert invalid["errors"] and all(set(e) == {"field", "message"} for e in invalid["errors"])
    assert illegal["errors"] == [{"field": "to", "message": illegal["detail"]}]
    assert illegal["allowed"] == ["acknowledged", "withdrawn"]
    assert uuid.UUID(REQUESTS[2][1](clients).json()["referral"])
    assert REQUESTS[3][1](clients).json()["erased_at"].endswith("Z")


@pytest.mark.parametrize("error_class", list(DOMAIN_PROBLEMS), ids=lambda cls: cls.__name__)
def test_every_domain_error_is_rendered_by_the_problem_serializer(error_class):
    if error_class is IllegalTransition:
        error: DomainError = error_class("Not from here.", allowed=["withdrawn"])
    else:
        error = error_class("Refused.", field="programme")

    response = exception_handler(error, {})

    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert_rendered_by_the_problem_serializer(response.data, DOMAIN_PROBLEMS[error_class][0])


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InterfaceError("connection refused"), 503),
        (RuntimeError("a bug"), 500),
        (ValidationError({"a": {"b": ["Wrong type."]}}), 400),
    ],
    ids=["database unreachable", "an unhandled error", "a nested validation error"],
)
def test_the_problems_no_client_can_provoke_on_demand_are_rendered_alike(error, status):
    response = exception_handler(error, {})

    assert_rendered_by_the_problem_serializer(response.data, status)


def test_an_extension_member_the_serializer_does_not_declare_is_refused_not_dropped():
    class Unheard(PolicyViolation):
        def __init__(self) -> None:
            super().__init__("Refused.")
            self.extra = {"partner_name": "never"}

    with pytest.raises(TypeError, match="partner_name"):
        problem_body(422, "Refused.", partner_name="never")
    with pytest.raises(TypeError, match="partner_name"):
        exception_handler(Unheard(), {})
