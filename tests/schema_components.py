"""The schema as drf-spectacular generates it in-process, and what each component was made from:
for the tests that a response body and its schema come from one class (issue 13, item 3)."""

from functools import cache
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers


def fields_of(serializer_class: type[serializers.Serializer]) -> list[str]:
    """Its fields, in the order the schema lists them (and a body gives them, unless the class
    says otherwise: an object kept as JSON keeps its stored key order, a range its own)."""
    return list(serializer_class().fields)


@cache
def generated() -> dict[str, Any]:
    """The schema, generated here, and the registry of what each component was made from."""
    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    return {"schema": schema, "registry": generator.registry}


def assert_component_made_from(
    serializer_class: type[serializers.Serializer], component: str
) -> dict[str, Any]:
    """The component was generated from this class, with exactly its fields; returns every
    component of the schema."""
    components = generated()["schema"]["components"]["schemas"]
    # The registry keeps the serializer each component was made from (a private attribute).
    made_from = generated()["registry"]._components[(component, "schemas")].object

    assert type(made_from) is serializer_class
    assert list(components[component]["properties"]) == fields_of(serializer_class)
    return components


def operation(method: str, path: str) -> dict[str, Any]:
    return generated()["schema"]["paths"][path][method]
