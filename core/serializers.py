"""Serializer building blocks shared by every API module."""

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from rest_framework import serializers
from rest_framework.fields import SkipField


class StrictSerializer(serializers.Serializer):
    # Refuses unknown keys (a 400 naming them), at every level of nesting. DRF silently drops
    # keys it does not know; here a misspelt field is a caller's error to hear about, never
    # data quietly lost. (A comment, not a docstring: the schema would give it to every body.)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field (or read-only here)."] for key in unknown}
                )
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass  # a model serializer that refuses unknown keys


def timestamp(moment: datetime) -> str:
    """A UTC timestamp as the API writes it: ISO 8601 with a `Z`."""
    return moment.isoformat().replace("+00:00", "Z")


# --- Output serializers: one class renders a response body and is what the schema documents ---


class TimestampField(serializers.DateTimeField):
    # A moment as the API writes it (`timestamp`), whatever time zone is active: DRF's own
    # would convert it to the current one (a web page's).

    def to_representation(self, value: datetime | str) -> str:
        return value if isinstance(value, str) else timestamp(value)


class BlankAsNull:
    # A stored blank value is shown as null: the API says "none" one way.

    def to_representation(self, value: Any) -> Any:
        return None if value == "" else super().to_representation(value)  # type: ignore[misc]


class OptionalCharField(BlankAsNull, serializers.CharField):
    pass  # a string, or null for a blank one


class OptionalChoiceField(BlankAsNull, serializers.ChoiceField):
    pass  # a choice, or null for a blank one


class OptionalUUIDField(BlankAsNull, serializers.UUIDField):
    pass  # an id, or null for a blank one


class Derived:
    # A value the serializer derives from the instance with its method `get_<field name>`,
    # as DRF's SerializerMethodField does, but documented as the field it is (its type, and
    # required), not as a read-only value of any type.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "source": "*"})  # type: ignore[call-arg]

    def get_attribute(self, instance: Any) -> Any:
        return getattr(self.parent, f"get_{self.field_name}")(instance)  # type: ignore[attr-defined]


@cache
def derived_class(field_class: type[serializers.Field]) -> type[serializers.Field]:
    return type(f"Derived{field_class.__name__}", (Derived, field_class), {})


def derived(field_class: type[serializers.Field], /, *args: Any, **kwargs: Any) -> Any:
    """A field of `field_class` whose value is the serializer's `get_<field name>(instance)`."""
    return derived_class(field_class)(*args, **kwargs)


class OutputSerializer(serializers.Serializer):
    # A response body. `hidden(instance)` names the fields shown as null to this reader
    # (what the reader's view withholds), never evaluated for it. (A comment, not a docstring:
    # the schema would give it to every body.)

    def hidden(self, instance: Any) -> Collection[str]:
        return ()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        hidden = self.hidden(instance)
        if not hidden:
            return super().to_representation(instance)
        body = {}
        for field in self._readable_fields:
            if field.field_name in hidden:
                body[field.field_name] = None
                continue
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            body[field.field_name] = (
                None if attribute is None else field.to_representation(attribute)
            )
        return body


class StoredKeyOrder:
    # Renders a JSON object kept in a JSONField with its keys in their stored order, the
    # fields it lacks after them: PostgreSQL's jsonb keeps keys in an order of its own (shorter
    # first), and the API has always answered in that order. `stored(instance)` is the object.

    def stored(self, instance: Any) -> Mapping[str, Any]:
        return instance

    def to_representation(self, instance: Any) -> dict[str, Any]:
        body = super().to_representation(instance)  # type: ignore[misc]
        return {**{key: body[key] for key in self.stored(instance) if key in body}, **body}


class KeyOrder:
    # Renders its fields in the order `key_order` names them (any it leaves out after them),
    # whatever order it declares them in: the committed schema lists the fields in declaration
    # order, and a body older than its serializer keeps the order it always had.

    key_order: tuple[str, ...] = ()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        body = super().to_representation(instance)  # type: ignore[misc]
        return {**{key: body[key] for key in self.key_order if key in body}, **body}


def rendering(
    serializer_class: type[serializers.Serializer], **context: Any
) -> Callable[[Any], Any]:
    """One body per instance, by one serializer whose fields are built once (building them is
    the costly part: per record of an export, it would be most of the time)."""
    return serializer_class(context=context).to_representation
