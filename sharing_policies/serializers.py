"""Sharing agreement bodies, and the explain document."""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agencies.models import AgencyKind
from core.serializers import (
    OptionalChoiceField,
    OutputSerializer,
    StoredKeyOrder,
    StrictSerializer,
    TimestampField,
    derived,
)
from core.vocabulary import (
    CATEGORY_VALUES,
    LAWFUL_BASIS_VALUES,
    PURPOSE_VALUES,
    WITHHOLD_REASON_VALUES,
    Category,
)
from sharing_policies.decision import Basis, Decision, Withheld
from sharing_policies.models import AgreementStatus, AgreementVersion
from sharing_policies.naming import Naming
from sharing_policies.services import review_overdue


class GrantSerializer(StoredKeyOrder, StrictSerializer):
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


class NamedAgencyField(serializers.CharField):
    # An agency reference by the naming rule in the serializer's context (`naming`, a
    # sharing_policies.naming.Naming): its id, or only its kind, `victim_service`.

    def to_representation(self, value: UUID) -> str | None:
        naming: Naming = self.context["naming"]
        return naming.agency(value)


class AgreementSerializer(serializers.Serializer):
    # An agreement version as its reader may see it: the body and its schema. Context:
    # `naming`, the rule for the agencies it names (use_cases.agreements_naming).

    id = serializers.UUIDField(source="agreement_id", help_text="Stable across versions.")
    version = serializers.IntegerField()
    name = serializers.CharField()
    provider = NamedAgencyField(source="provider_id", help_text=AGENCY_NAMED)
    recipient = NamedAgencyField(source="recipient_id", allow_null=True, help_text=AGENCY_NAMED)
    recipient_kind = OptionalChoiceField(choices=AgencyKind.choices, allow_null=True)
    purposes = serializers.ListField(child=serializers.ChoiceField(choices=PURPOSE_VALUES))
    grants = GrantSerializer(many=True)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)
    review_date = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=AgreementStatus.choices)
    review_overdue = derived(
        serializers.BooleanField,
        help_text="The review date has passed and the agreement has not expired: review it.",
    )
    created_at = TimestampField(help_text="When this version was made.")
    created_by = NamedAgencyField(
        source="created_by_id",
        help_text="The agency that made this version (named as `provider` is).",
    )

    def get_review_overdue(self, row: AgreementVersion) -> bool:
        return review_overdue(row)


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


@dataclass(frozen=True)
class Explained:
    """What explain answers about: the decision for an agency on a referral for a purpose."""

    referral: UUID
    agency: UUID
    purpose: str
    decision: Decision


@dataclass(frozen=True)
class ExplainedCategory:
    category: Category
    decision: Decision


class ExplainedBasisSerializer(OutputSerializer):
    # What one disclosure rested on. Its agreement and consent are not named (null) when they,
    # or its supplier, would lead to a victim service the reader may not be told of
    # (`Naming.basis_named`; context: `naming`, `led`).

    supplier = NamedAgencyField(allow_null=True)
    lawful_basis = serializers.CharField()
    agreement = serializers.UUIDField(allow_null=True)
    agreement_version = serializers.IntegerField(allow_null=True)
    consent = serializers.UUIDField(allow_null=True)

    def hidden(self, basis: Basis) -> Collection[str]:
        naming: Naming = self.context["naming"]
        refs = (basis.agreement, basis.consent)
        if naming.basis_named(supplier=basis.supplier, refs=refs, led=self.context["led"]):
            return ()
        return ("agreement", "agreement_version", "consent")


# The committed schema gives each basis as an object of any keys (they are the fields of
# ExplainedBasisSerializer): documenting them as a component of their own would change the type
# a generated client gives them.
@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": {}}})
class BasesField(serializers.ListField):
    pass


class ExplainedCategorySerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=CATEGORY_VALUES)
    disclosed = derived(serializers.BooleanField)
    reason = derived(
        serializers.ChoiceField,
        choices=WITHHOLD_REASON_VALUES,
        allow_null=True,
        help_text="Why it is withheld (the first reason that applies); null when disclosed.",
    )
    bases = derived(
        BasesField,
        child=ExplainedBasisSerializer(),
        help_text="What each disclosure rests on: `supplier` (its own data), or an agreement "
        "version, its lawful basis and, for consent, the consent.",
    )
    agreements = derived(
        serializers.ListField,
        child=AgreementRefSerializer(),
        help_text="Agreement versions that matched but did not pass.",
    )

    def get_disclosed(self, item: ExplainedCategory) -> bool:
        return item.decision.sees(item.category)

    def get_reason(self, item: ExplainedCategory) -> str | None:
        reason = withheld_for(item)
        return str(reason.reason) if reason else None

    def get_bases(self, item: ExplainedCategory) -> list[Basis]:
        return [b for b in item.decision.bases if b.category == item.category]

    def get_agreements(self, item: ExplainedCategory) -> list[dict[str, Any]]:
        """The agreement versions that matched but did not pass, those the reader may be told
        of (none that leads to a victim service it may not be told of)."""
        naming: Naming = self.context["naming"]
        led = self.context["led"]
        reason = withheld_for(item)
        return [
            {"id": a, "version": v}
            for a, v in (reason.agreements if reason else ())
            if naming.reference(a, led.get(a)) is not None
        ]


def withheld_for(item: ExplainedCategory) -> Withheld | None:
    return next((w for w in item.decision.withheld if w.category == item.category), None)


class ExplanationSerializer(serializers.Serializer):
    # The disclosure decision, category by category, with what each disclosure rested on: the
    # body of explain and its schema. Context: `naming` (for the agency asked about; the hub
    # operator's DPO: everything) and `led`, the agencies each agreement and consent leads to
    # (sharing_policies.selectors.agencies_led_to).

    referral = serializers.UUIDField()
    agency = serializers.CharField()
    purpose = serializers.ChoiceField(choices=PURPOSE_VALUES)
    roles = derived(serializers.ListField, child=serializers.CharField())
    categories = derived(serializers.ListField, child=ExplainedCategorySerializer())

    def get_roles(self, explained: Explained) -> list[str]:
        return sorted(str(r) for r in explained.decision.roles)

    def get_categories(self, explained: Explained) -> list[ExplainedCategory]:
        """Every category, for a party; nothing for an agency that is none."""
        decision = explained.decision
        return [ExplainedCategory(c, decision) for c in Category] if decision.is_party else []


class ExplainQuerySerializer(StrictSerializer):
    referral = serializers.UUIDField()
    agency = serializers.UUIDField()
    purpose = serializers.ChoiceField(choices=PURPOSE_VALUES)
    emergency = serializers.BooleanField(
        required=False, default=False, help_text="Decide as for an emergency read."
    )
