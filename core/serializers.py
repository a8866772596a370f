"""Serializer building blocks shared by every API module."""

from datetime import datetime
from typing import Any

from rest_framework import serializers


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
