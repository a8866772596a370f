"""Sharing agreement bodies, and the explain document."""

from typing import Any

from rest_framework import serializers

from agencies.models import AgencyKind
from core.serializers import StrictSerializer
from core.vocabulary import (
    CATEGORY_VALUES,
    LAWFUL_BASIS_VALUES,
    PURPOSE_VALUES,
    WITHHOLD_REASON_VALUES,
)
from sharing_policies.models import AgreementStatus


class GrantSerializer(StrictSerializer):
    category = serializers.ChoiceField(choices=CATEGORY_VALUES)
    lawful_basis = serializers.ChoiceField(choices=LAWFUL_BASIS_VALUES)


class AgreementChangeSerializer(StrictSerializer):
    """What a new version may change: everything but who provides and who receives."""

    name = serializers.CharField(max_length=200)
    purposes = serializers.ListField(
        child=serializers.ChoiceField(choices=PURPOSE_VALUES), min_length=1, max_length=10
    )
    grants = GrantSerializer(many=True, min_length=1, max_length=50)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(required=False, allow_null=True)
    review_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=AgreementStatus.choices)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        valid_from = attrs.get("valid_from")
        valid_to = attrs.get("valid_to")
        if valid_from and valid_to and valid_to < valid_from:
            raise serializers.ValidationError({"valid_to": ["Must not be before valid_from."]})
        grants = [(g["category"], g["lawful_basis"]) for g in attrs.get("grants", [])]
        if len(set(grants)) != len(grants):
            raise serializers.ValidationError({"grants": ["A grant is listed twice."]})
        return attrs


class AgreementPatchSerializer(AgreementChangeSerializer):
    """Any of the terms; a grant, when given, still needs both its keys."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Not `partial=True`: DRF would pass it down and let a grant lack its lawful basis.
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class AgreementCreateSerializer(AgreementChangeSerializer):
    provider = serializers.UUIDField(help_text="The agency that supplies the data.")
    recipient = serializers.UUIDField(required=False, allow_null=True)
    recipient_kind = serializers.ChoiceField(
        choices=AgencyKind.choices, required=False, allow_null=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if (attrs.get("recipient") is None) == (attrs.get("recipient_kind") is None):
            raise serializers.ValidationError(
                {"recipient": ["Give exactly one of recipient and recipient_kind."]}
            )
        return attrs


AGENCY_NAMED = (
    "An agency id; a victim service is given only by its kind, `victim_service`, "
    "to anyone but itself and the hub operator (DESIGN.md, *Parties and suppliers*)."
)


class AgreementSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Stable across versions.")
    version = serializers.IntegerField()
    name = serializers.CharField()
    provider = serializers.CharField(help_text=AGENCY_NAMED)
    recipient = serializers.CharField(allow_null=True, help_text=AGENCY_NAMED)
    recipient_kind = serializers.ChoiceField(choices=AgencyKind.choices, allow_null=True)
    purposes = serializers.ListField(child=serializers.ChoiceField(choices=PURPOSE_VALUES))
    grants = GrantSerializer(many=True)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)
    review_date = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=AgreementStatus.choices)
    review_overdue = serializers.BooleanField(
        help_text="The review date has passed and the agreement has not expired: review it."
    )
    created_at = serializers.DateTimeField(help_text="When this version was made.")
    created_by = serializers.CharField(
        help_text="The agency that made this version (named as `provider` is)."
    )


class AgreementFilterSerializer(serializers.Serializer):
    review_overdue = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="`true`: only agreements whose review is overdue; `false`: only the others.",
    )


class AgreementRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    version = serializers.IntegerField()


class ExplainedCategorySerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=CATEGORY_VALUES)
    disclosed = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=WITHHOLD_REASON_VALUES,
        allow_null=True,
        help_text="Why it is withheld (the first reason that applies); null when disclosed.",
    )
    bases = serializers.ListField(
        child=serializers.DictField(),
        help_text="What each disclosure rests on: `supplier` (its own data), or an agreement "
        "version, its lawful basis and, for consent, the consent.",
    )
    agreements = AgreementRefSerializer(
        many=True, help_text="Agreement versions that matched but did not pass."
    )


class ExplanationSerializer(serializers.Serializer):
    referral = serializers.UUIDField()
    agency = serializers.CharField()
    purpose = serializers.ChoiceField(choices=PURPOSE_VALUES)
    roles = serializers.ListField(child=serializers.CharField())
    categories = ExplainedCategorySerializer(many=True)


class ExplainQuerySerializer(StrictSerializer):
    referral = serializers.UUIDField()
    agency = serializers.UUIDField()
    purpose = serializers.ChoiceField(choices=PURPOSE_VALUES)
    emergency = serializers.BooleanField(
        required=False, default=False, help_text="Decide as for an emergency read."
    )
