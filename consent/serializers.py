"""Consent bodies."""

from typing import Any

from rest_framework import serializers

from agencies.models import AgencyKind
from consent.models import DataSubject
from core.serializers import StrictSerializer
from core.vocabulary import CATEGORY_VALUES, PURPOSE_VALUES

CONSENT_STATUSES = ["active", "withdrawn", "expired", "pending"]


PROVISION_TYPES = ["permit", "deny"]


class ProvisionSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=PROVISION_TYPES)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=CATEGORY_VALUES),
        min_length=1,
        max_length=len(CATEGORY_VALUES),
    )
    recipients = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=50,
        help_text="Agency ids; with recipient_kinds omitted or empty too, any recipient.",
    )
    recipient_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=AgencyKind.choices), required=False, max_length=10
    )
    purposes = serializers.ListField(
        child=serializers.ChoiceField(choices=PURPOSE_VALUES),
        required=False,
        max_length=10,
        help_text="Omitted or empty: any purpose.",
    )


class EvidenceSerializer(StrictSerializer):
    method = serializers.CharField(
        max_length=100, help_text="How consent was given, e.g. `signed_form`, `verbal_recorded`."
    )
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ConsentCreateSerializer(StrictSerializer):
    referral = serializers.UUIDField()
    data_subject = serializers.ChoiceField(choices=DataSubject.choices)
    provisions = ProvisionSerializer(many=True, min_length=1, max_length=20)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(required=False, allow_null=True)
    evidence = EvidenceSerializer()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("valid_to") and attrs["valid_to"] < attrs["valid_from"]:
            raise serializers.ValidationError({"valid_to": ["Must not be before valid_from."]})
        return attrs


class WithdrawalSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


class ProvisionViewSerializer(ProvisionSerializer):
    recipients = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Agency ids; a victim service other than the referral's partner service is "
        "given only by its kind, `victim_service` (DESIGN.md, *Parties and suppliers*).",
    )


class ConsentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    referral = serializers.UUIDField()
    data_subject = serializers.ChoiceField(choices=DataSubject.choices)
    provisions = ProvisionViewSerializer(many=True)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)
    evidence = serializers.DictField(help_text="`method`, `reference`, and who recorded it.")
    recorded_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=CONSENT_STATUSES)
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    withdrawal_reason = serializers.CharField(allow_null=True)
