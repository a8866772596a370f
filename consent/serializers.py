"""Consent bodies."""

from typing import Any
from uuid import UUID

from django.utils import timezone
from rest_framework import serializers

from agencies.models import AgencyKind
from consent.models import Consent, DataSubject
from core.serializers import (
    OptionalCharField,
    StoredKeyOrder,
    StrictSerializer,
    TimestampField,
    derived,
)
from core.vocabulary import CATEGORY_VALUES, PURPOSE_VALUES
from sharing_policies.naming import Naming

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


class ProvisionViewSerializer(StoredKeyOrder, ProvisionSerializer):
    recipients = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Agency ids; a victim service other than the referral's partner service is "
        "given only by its kind, `victim_service` (DESIGN.md, *Parties and suppliers*).",
    )


def consent_status(consent: Consent) -> str:
    """`withdrawn`, `expired` (past `valid_to`), `pending` (before `valid_from`) or `active`."""
    today = timezone.localdate()
    if consent.withdrawn_at is not None:
        return "withdrawn"
    if consent.valid_to is not None and consent.valid_to < today:
        return "expired"
    if consent.valid_from > today:
        return "pending"
    return "active"


class ConsentSerializer(serializers.Serializer):
    # A consent as its readers (the referrer and the partner service of its referral) see it:
    # the body and its schema. Context: `naming`, the rule for the agencies its provisions
    # name (consent.use_cases.consents_naming); each consent's readers may also name the
    # partner service of its own referral.

    id = serializers.UUIDField()
    referral = serializers.UUIDField(source="referral_id")
    data_subject = serializers.ChoiceField(choices=DataSubject.choices)
    provisions = derived(serializers.ListField, child=ProvisionViewSerializer())
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)
    evidence = serializers.DictField(help_text="`method`, `reference`, and who recorded it.")
    recorded_at = TimestampField()
    status = derived(serializers.ChoiceField, choices=CONSENT_STATUSES)
    withdrawn_at = TimestampField(allow_null=True)
    withdrawal_reason = OptionalCharField(allow_null=True)

    def get_provisions(self, consent: Consent) -> list[dict[str, Any]]:
        """The provisions as recorded, their recipients by the naming rule."""
        naming: Naming = self.context["naming"].knowing([consent.referral.partner_service_id])
        return [
            {**p, "recipients": [naming.agency(UUID(r)) for r in p["recipients"]]}
            if p.get("recipients")
            else p
            for p in consent.provisions
        ]

    def get_status(self, consent: Consent) -> str:
        return consent_status(consent)
