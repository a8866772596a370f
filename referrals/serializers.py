"""Request bodies (validated strictly) and the documented shape of responses.

A referral response is built by `referrals.representation` from the disclosure decision;
the response serializers here describe that shape for the OpenAPI schema, where every
category's key is optional because a withheld category has no key at all.
"""

import datetime
import re
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core.serializers import StrictModelSerializer, StrictSerializer
from core.vocabulary import CATEGORY_VALUES, WITHHOLD_REASON_VALUES
from referrals.models import Approach, EventType, Modality, Programme, Status
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
    """A level is one of its tool's levels (referrals/states/ lists them)."""
    tool, level = attrs.get("tool"), attrs.get("level")
    if tool and level and level not in RISK_TOOLS[tool]:
        allowed = ", ".join(RISK_TOOLS[tool])
        raise serializers.ValidationError(
            {"level": [f"Not a level of the {tool} tool; its levels are: {allowed}."]}
        )


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


# --- Referral responses (documentation of what representation.py builds) ------------------------


class WithheldSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=CATEGORY_VALUES)
    reason = serializers.ChoiceField(choices=WITHHOLD_REASON_VALUES)


class ProgrammeProgressSerializer(serializers.Serializer):
    reports = serializers.ListField(
        child=serializers.DictField(),
        help_text="The provider's reports: assessment, attendance, risk changes, completion.",
    )


class ReferralSerializer(serializers.Serializer):
    """A referral as the caller may see it: the key of every disclosed category, no other."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Status.choices)
    referrer = serializers.CharField()
    provider = serializers.CharField()
    observers = serializers.ListField(child=serializers.CharField())
    programme = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    partner_service = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Part of `partner.identity`; the partner service itself always sees it.",
    )
    subject = SubjectSerializer(required=False)
    offence = OffenceSerializer(required=False, allow_null=True)
    risk = RiskSerializer(required=False, allow_null=True)
    programme_progress = ProgrammeProgressSerializer(required=False)
    partner = PartnerSerializer(required=False)
    children = ChildViewSerializer(many=True, required=False)
    withheld = WithheldSerializer(
        many=True,
        help_text="Every category not disclosed to the caller, with the first reason that "
        "applies; never its content.",
    )


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


class HistoryEntrySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["transition", "amendment"])
    id = serializers.UUIDField()
    at = serializers.DateTimeField()
    by = serializers.CharField(help_text="The agency that made the move or the amendment.")
    from_status = serializers.ChoiceField(choices=Status.choices, required=False)
    to_status = serializers.ChoiceField(choices=Status.choices, required=False)
    reason_code = serializers.CharField(allow_null=True, required=False)
    reason = serializers.CharField(allow_null=True)
    changes = serializers.DictField(
        required=False,
        help_text="Amendments: {category: {old, new}}, only for categories you may see.",
    )


class HistorySerializer(serializers.Serializer):
    results = HistoryEntrySerializer(many=True)


class MoveSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Status.choices)
    by = serializers.ChoiceField(choices=["provider", "referrer"])
    requires = serializers.ListField(child=serializers.CharField())

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so the field is added here.
        return {"from": serializers.ChoiceField(choices=Status.choices), **super().get_fields()}


class StatesSerializer(serializers.Serializer):
    statuses = serializers.ListField(child=serializers.ChoiceField(choices=Status.choices))
    open = serializers.ListField(child=serializers.ChoiceField(choices=Status.choices))
    initial = serializers.ChoiceField(choices=Status.choices)
    moves = MoveSerializer(many=True)
    reason_codes = serializers.ListField(child=serializers.CharField())
    report_kinds = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    risk_tools = serializers.DictField(
        child=serializers.ListField(child=serializers.ChoiceField(choices=RISK_LEVELS)),
        help_text="Each risk tool and its levels, lowest first.",
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


class ReportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=list(REPORT_SERIALIZERS))
    written_at = serializers.DateTimeField()
    suitable = serializers.BooleanField(required=False)
    session_date = serializers.DateField(required=False)
    attendance = serializers.ChoiceField(choices=ATTENDANCE, required=False)
    level = serializers.ChoiceField(choices=RISK_LEVELS, required=False)
    tool = serializers.ChoiceField(choices=list(RISK_TOOLS), required=False)
    urgent = serializers.BooleanField(required=False)
    completed = serializers.BooleanField(required=False)
    summary = serializers.CharField(required=False)


class ReportListSerializer(serializers.Serializer):
    results = ReportSerializer(many=True)
    withheld = WithheldSerializer(many=True)


# --- The change feed -----------------------------------------------------------------------------


class EventSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    position = serializers.IntegerField(help_text="Its place in your feed: pass it as `after`.")
    type = serializers.ChoiceField(choices=EventType.choices)
    referral = serializers.UUIDField()
    at = serializers.DateTimeField()
    about = serializers.DictField(help_text="Ids and types only: fetch the resource to see it.")


class EventQuerySerializer(StrictSerializer):
    after = serializers.IntegerField(
        min_value=0, required=False, default=0, help_text="The last position you have seen."
    )
    page_size = serializers.IntegerField(min_value=1, max_value=500, required=False, default=100)


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next = serializers.URLField(
        allow_null=True, help_text="Where to poll next; null when there is nothing new yet."
    )


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


class PartnerContactTaskSerializer(serializers.Serializer):
    task = serializers.DictField(help_text="`id`, `created_at`.")
    partner = PartnerSerializer(required=False, help_text="As the disclosure decision allows.")
    attempts = DisclosureSerializer(many=True)
    withheld = WithheldSerializer(many=True)
