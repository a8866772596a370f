"""Request bodies, validated strictly, and the programme (one shape both ways).

Responses about referrals are rendered by `referrals.representation`, one serializer per shape.
The serializers here that validate stored JSON on its way in (a man's identity, the offence,
risk, the partner's details, children, disclosures) also document it on its way out: it is
served as stored.
"""

import datetime
import re
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core.serializers import StrictModelSerializer, StrictSerializer
from referrals.models import Approach, Modality, Programme, Status
from referrals.states import REASON_CODES, RISK_LEVELS, RISK_TOOL_ALIASES, RISK_TOOLS

SHORT = 200
LONG = 5000


def not_in_future(value: datetime.date) -> datetime.date:
    if value > timezone.localdate():
        raise serializers.ValidationError("Must not be in the future.")
    return value


# --- Programmes ----------------------------------------------------------------------------------


class ProgrammeSerializer(StrictModelSerializer):
    provider = serializers.CharField(source="provider_id", read_only=True)
    approach = serializers.ChoiceField(choices=Approach.choices)
    modality = serializers.ChoiceField(
        choices=Modality.choices,
        help_text="`couples` and `mediation` may be listed, but the hub refuses referrals to "
        "them: couple work is never a response to domestic violence.",
    )
    capacity = serializers.IntegerField(
        min_value=1, max_value=10_000, required=False, allow_null=True
    )
    active = serializers.BooleanField(required=False, default=True)

    class Meta:
        model = Programme
        fields = ("id", "provider", "name", "approach", "modality", "capacity", "active")
        read_only_fields = ("id", "provider")


# --- Referral bodies -----------------------------------------------------------------------------


class IdentifierSerializer(StrictSerializer):
    system = serializers.CharField(
        max_length=100, help_text="The issuing system, e.g. `uk.police.pnc`."
    )
    value = serializers.CharField(max_length=100)


class SubjectIdentitySerializer(StrictSerializer):
    id = serializers.UUIDField(read_only=True, help_text="The man's person id in the hub.")
    given_name = serializers.CharField(max_length=SHORT)
    family_name = serializers.CharField(max_length=SHORT)
    date_of_birth = serializers.DateField(validators=[not_in_future])
    identifiers = IdentifierSerializer(many=True, required=False, max_length=20)
    aliases = serializers.ListField(
        child=serializers.CharField(max_length=SHORT),
        required=False,
        max_length=20,
        help_text="Other names he is known by. Never used to match him to a person.",
    )


class SubjectContactSerializer(StrictSerializer):
    address = serializers.CharField(max_length=LONG, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)


class SubjectSerializer(StrictSerializer):
    identity = SubjectIdentitySerializer(required=False)
    contact = SubjectContactSerializer(required=False, allow_null=True)


class SubjectCreateSerializer(SubjectSerializer):
    identity = SubjectIdentitySerializer()


class CourtOrderSerializer(StrictSerializer):
    reference = serializers.CharField(max_length=SHORT, required=False)
    court = serializers.CharField(max_length=SHORT, required=False)
    made_on = serializers.DateField(required=False, validators=[not_in_future])
    requirements = serializers.ListField(
        child=serializers.CharField(max_length=LONG), required=False, max_length=50
    )


class OffenceSerializer(StrictSerializer):
    mandate = serializers.ChoiceField(
        choices=["court_mandated", "voluntary"],
        required=False,
        help_text="Whether a court ordered the programme or the man joins voluntarily.",
    )
    summary = serializers.CharField(
        max_length=LONG,
        required=False,
        allow_blank=True,
        help_text="The incident or offence. Never what the partner said: that belongs in "
        "`partner.disclosures`, which never reaches the men's programme.",
    )
    court_order = CourtOrderSerializer(required=False, allow_null=True)


class RiskToolField(serializers.ChoiceField):
    """A coded tool; the case and spacing of a name a system sends ("DASH") are forgiven."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=list(RISK_TOOLS), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            folded = re.sub(r"[\s-]+", "_", data.strip().lower())
            data = RISK_TOOL_ALIASES.get(folded, folded)
        return super().to_internal_value(data)


def check_risk_level(attrs: dict[str, Any]) -> None:
    """A level is one of its coded tool's levels (referrals/states.py lists them)."""
    tool, level = attrs.get("tool"), attrs.get("level")
    if tool and level and level not in RISK_TOOLS[tool]:
        allowed = ", ".join(RISK_TOOLS[tool])
        raise serializers.ValidationError(
            {"level": [f"Not a level of the {tool} tool; its levels are: {allowed}."]}
        )


def check_risk_change(held: Any, change: dict[str, Any]) -> None:
    """An amendment's risk, checked with the risk held: the keys it gives replace those held,
    and a level given alone must be one of the held tool's levels.

    A held tool may be a name given before tools were coded (referrals/migrations/0011 left a
    name that is no code as it was, for its referrer to amend): it has no levels to check a
    level against, so a level needs its tool with it. Raises ValidationError on `tool` or
    `level` (a 400 problem), never anything else, whatever is held."""
    if "tool" not in change and "level" not in change:
        return
    merged = {**(held if isinstance(held, dict) else {}), **change}
    tool = merged.get("tool")
    if "tool" not in change and tool and not (isinstance(tool, str) and tool in RISK_TOOLS):
        raise serializers.ValidationError(
            {
                "tool": [
                    "The risk held names a tool that has no code; send the tool "
                    f"({', '.join(RISK_TOOLS)}) with the level."
                ]
            }
        )
    check_risk_level(merged)


RISK_TOOL_HELP = (
    "The tool that graded the risk: `dash` (standard, medium, high), `oasys_rosh` (low, "
    "medium, high, very_high), `sara` (low, medium, high), `other` (low, medium, high, "
    "very_high). Names are matched without regard to case (`DASH` is `dash`)."
)


class RiskSerializer(StrictSerializer):
    level = serializers.ChoiceField(
        choices=RISK_LEVELS,
        required=False,
        help_text="One of the tool's levels (a level the tool lacks is a 400).",
    )
    tool = RiskToolField(required=False, help_text=RISK_TOOL_HELP)
    summary = serializers.CharField(
        max_length=LONG,
        required=False,
        allow_blank=True,
        help_text="The risk assessment. Never what the partner said: put that in "
        "`partner.disclosures`.",
    )
    marac = serializers.BooleanField(required=False, help_text="Heard at a MARAC.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_risk_level(attrs)
        return attrs


class RiskCreateSerializer(RiskSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "level" in attrs and "tool" not in attrs:
            raise serializers.ValidationError({"tool": ["A level needs the tool that graded it."]})
        return super().validate(attrs)


class RelationshipSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=["current", "former"], help_text="The man's relationship to her."
    )
    separated_on = serializers.DateField(
        required=False,
        allow_null=True,
        validators=[not_in_future],
        help_text="Only for a former relationship: separation is a risk factor (DASH).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("separated_on") and attrs["status"] != "former":
            raise serializers.ValidationError(
                {"separated_on": ["Only a former relationship has a separation date."]}
            )
        return attrs


class PartnerIdentitySerializer(StrictSerializer):
    id = serializers.UUIDField(read_only=True, help_text="The partner's person id in the hub.")
    name = serializers.CharField(max_length=SHORT)
    identifiers = IdentifierSerializer(many=True, required=False, max_length=20)
    relationship = RelationshipSerializer(required=False, allow_null=True)


class PartnerContactSerializer(StrictSerializer):
    address = serializers.CharField(max_length=LONG, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    safe_contact = serializers.CharField(
        max_length=LONG,
        required=False,
        allow_blank=True,
        help_text="How and when she may be contacted safely.",
    )


CONTACT_OUTCOMES = ("reached", "no_answer", "unsafe_to_contact", "declined")


class DisclosureSerializer(StrictSerializer):
    id = serializers.UUIDField(read_only=True)
    supplier = serializers.CharField(
        read_only=True,
        help_text="The agency that recorded the entry (its kind only, `victim_service`, where "
        "the caller may not know who supports the partner).",
    )
    recorded_at = serializers.DateTimeField(read_only=True)
    disclosed_on = serializers.DateField(required=False, validators=[not_in_future])
    summary = serializers.CharField(
        max_length=LONG,
        help_text="What the partner told the agency (or, for a contact attempt, the notes).",
    )
    kind = serializers.ChoiceField(
        choices=["statement", "contact_attempt"], read_only=True, required=False
    )
    attempted_at = serializers.DateTimeField(read_only=True, required=False)
    outcome = serializers.ChoiceField(choices=CONTACT_OUTCOMES, read_only=True, required=False)


class PartnerSerializer(StrictSerializer):
    identity = PartnerIdentitySerializer(required=False, allow_null=True)
    contact = PartnerContactSerializer(required=False, allow_null=True)
    disclosures = DisclosureSerializer(many=True, required=False, max_length=100)


def age_on(born: datetime.date, day: datetime.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class ChildSerializer(StrictSerializer):
    name = serializers.CharField(max_length=SHORT, required=False)
    date_of_birth = serializers.DateField(required=False, validators=[not_in_future])
    age = serializers.IntegerField(
        min_value=0,
        max_value=17,
        required=False,
        help_text="Derived from `date_of_birth` when that is given (a given age must match).",
    )
    notes = serializers.CharField(max_length=LONG, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        born = attrs.get("date_of_birth")
        if born is None:
            return attrs
        age = age_on(born, timezone.localdate())
        if age > 17:
            raise serializers.ValidationError({"date_of_birth": ["A child is under 18."]})
        if attrs.get("age", age) != age:
            raise serializers.ValidationError({"age": ["Does not match date_of_birth."]})
        return {**attrs, "age": age}


class ChildViewSerializer(ChildSerializer):
    age = serializers.IntegerField(
        min_value=0,
        required=False,
        help_text="Today's age, derived from `date_of_birth` when that is known (it never goes "
        "stale); else the age given.",
    )


class ReferralCreateSerializer(StrictSerializer):
    programme = serializers.UUIDField()
    subject = SubjectCreateSerializer()
    offence = OffenceSerializer(required=False)
    risk = RiskCreateSerializer(required=False)
    partner = PartnerSerializer(required=False)
    partner_service = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The victim service that supports the partner (an agency of kind "
        "`victim_service`).",
    )
    observers = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=20)
    children = ChildSerializer(many=True, required=False, max_length=30)


# --- The lifecycle -------------------------------------------------------------------------------


class TransitionRequestSerializer(StrictSerializer):
    to = serializers.ChoiceField(choices=Status.choices)
    reason_code = serializers.ChoiceField(
        choices=REASON_CODES,
        required=False,
        help_text="Required for `declined`, `terminated` and `withdrawn` (see referrals/states/).",
    )
    reason = serializers.CharField(
        max_length=2000,
        required=False,
        help_text="Required with a reason_code. Never what the partner said.",
    )


# --- Reports back --------------------------------------------------------------------------------

ATTENDANCE = ("attended", "absent_excused", "absent_unexcused")


class AssessmentReportSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=["assessment"])
    suitable = serializers.BooleanField()
    summary = serializers.CharField(max_length=LONG, required=False, allow_blank=True)


class AttendanceReportSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=["attendance"])
    session_date = serializers.DateField(validators=[not_in_future])
    attendance = serializers.ChoiceField(choices=ATTENDANCE)


class RiskChangeReportSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=["risk_change"])
    level = serializers.ChoiceField(choices=RISK_LEVELS)
    tool = RiskToolField(required=False, help_text=RISK_TOOL_HELP)
    summary = serializers.CharField(max_length=LONG, required=False, allow_blank=True)
    urgent = serializers.BooleanField(
        required=False,
        default=False,
        help_text="An urgent risk change reaches the referrer and the partner service at once.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_risk_level(attrs)
        return attrs


class CompletionReportSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=["completion"])
    completed = serializers.BooleanField()
    summary = serializers.CharField(max_length=LONG, required=False, allow_blank=True)


REPORT_SERIALIZERS: dict[str, type[StrictSerializer]] = {
    "assessment": AssessmentReportSerializer,
    "attendance": AttendanceReportSerializer,
    "risk_change": RiskChangeReportSerializer,
    "completion": CompletionReportSerializer,
}


# --- The change feed -----------------------------------------------------------------------------


class EventQuerySerializer(StrictSerializer):
    after = serializers.IntegerField(
        min_value=0, required=False, default=0, help_text="The last position you have seen."
    )
    page_size = serializers.IntegerField(min_value=1, max_value=500, required=False, default=100)


class ReferralFilterSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    programme = serializers.UUIDField(required=False)
    created_after = serializers.DateTimeField(required=False, help_text="Inclusive.")
    created_before = serializers.DateTimeField(required=False, help_text="Exclusive.")
    updated_since = serializers.DateTimeField(required=False, help_text="Inclusive.")
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)


class PartnerAmendSerializer(StrictSerializer):
    identity = PartnerIdentitySerializer(required=False)
    contact = PartnerContactSerializer(required=False)


class ReferralAmendSerializer(StrictSerializer):
    """What the referrer may amend; never programme, partner_service or observers."""

    subject = SubjectSerializer(required=False)
    offence = OffenceSerializer(required=False)
    risk = RiskSerializer(required=False)
    partner = PartnerAmendSerializer(required=False)
    children = ChildSerializer(many=True, required=False, max_length=30)
    amendment_reason = serializers.CharField(max_length=2000, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not set(attrs) - {"amendment_reason"}:
            raise serializers.ValidationError("Nothing to amend.")
        return attrs


# --- Partner contact -----------------------------------------------------------------------------


def not_in_future_moment(value: datetime.datetime) -> datetime.datetime:
    if value > timezone.now():
        raise serializers.ValidationError("Must not be in the future.")
    return value


class ContactAttemptSerializer(StrictSerializer):
    attempted_at = serializers.DateTimeField(validators=[not_in_future_moment])
    outcome = serializers.ChoiceField(choices=CONTACT_OUTCOMES)
    notes = serializers.CharField(max_length=LONG, required=False, allow_blank=True)
