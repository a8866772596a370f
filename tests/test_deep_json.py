"""A JSON body nested deeper than the hub's limit is a 400 problem on every operation that
takes a body, whatever the depth, and changes nothing (issue 11, item 2: it was a 500)."""

import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.parsers import MAX_JSON_DEPTH, depth_of
from referrals.models import Referral
from tests.conftest import openapi_schema


def operations_with_a_body() -> list[tuple[str, str]]:
    found = []
    for path, operations in openapi_schema()["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                concrete = re.sub(r"\{[^/]+\}", str(uuid.uuid4()), path)
                found.append((method.upper(), concrete))
    return found


BODIES = {
    "arrays 1,000 deep": "[" * 1000 + "]" * 1000,
    "objects 1,000 deep": '{"a":' * 1000 + "1" + "}" * 1000,
    "arrays 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "one level past the limit": '{"a":' * MAX_JSON_DEPTH + "[]" + "}" * MAX_JSON_DEPTH,
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_a_body_nested_too_deep_is_a_400_on_every_operation(api_client_for, world, body):
    court, operator = api_client_for(world["court"]), api_client_for(world["hub_operator"])
    operations = operations_with_a_body()
    assert len(operations) >= 10

    for method, path in operations:
        client = operator if path.startswith("/api/v1/audit/") else court
        response = client.generic(method, path, body, content_type="application/json")

        assert response.status_code in (400, 413), (method, path, response.status_code)
        if response.status_code == 400:
            assert "nested deeper than" in response.json()["detail"], (method, path)
    assert not Referral.objects.exists()


def test_a_body_at_the_limit_is_parsed():
    assert depth_of(eval("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)) == MAX_JSON_DEPTH  # noqa: S307


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=20,
)


def reference_depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(reference_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(reference_depth, value), default=0)
    return 0


@given(json_values)
def test_depth_of_agrees_with_a_recursive_count(value):
    assert depth_of(value) == reference_depth(value)
