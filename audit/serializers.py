"""Bodies of the audit endpoints: the DPO search's filters, access records as a DPO sees them,
reviews, the chain's verification, a referral's accesses and the subject-access report."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from rest_framework import serializers

from agencies.models import AgencyKind
from audit.models import AccessRecord, Outcome
from core.serializers import (
    KeyOrder,
    OptionalCharField,
    OptionalChoiceField,
    OptionalUUIDField,
    OutputSerializer,
    StoredKeyOrder,
    StrictSerializer,
    TimestampField,
    derived,
)
from core.vocabulary import CATEGORY_VALUES, PURPOSE_VALUES
from referrals.models import Referral
from sharing_policies.serializers import NamedAgencyField

# --- What a reader sees, as the selectors and audit.report decide it; the serializers render it --


@dataclass(frozen=True)
class SeenBasis:
    basis: dict[str, Any]  # as recorded
    named: bool  # its supplier, agreement and consent lead to no agency hidden from the reader


@dataclass(frozen=True)
class SeenDecision:
    """A recorded disclosure decision on one referral, as far as the reader sees it."""

    referral: str
    disclosed: list[str]
    withheld: list[dict[str, str]]
    bases: list[SeenBasis]


@dataclass(frozen=True)
class SeenRecord:
    """What one DPO sees of one access record (audit.selectors.record_seen)."""

    record: AccessRecord
    in_full: bool  # its own agency's request, or the hub operator's DPO reading
    agency_named: bool  # the requester may be named to the reader
    persons: list[str]  # the persons whose ids the reader may be given
    decisions: list[SeenDecision]


@dataclass(frozen=True)
class SeenAccess:
    """One access to a referral as a party sees it (audit.use_cases.access_seen)."""

    record: AccessRecord
    requester: UUID | None
    categories: list[str]
    own: bool  # the party's own access


@dataclass(frozen=True)
class HeldReferral:
    """One referral in a subject-access report, as audit.report.subject_report holds it."""

    referral: Referral
    role: str  # the person's, in it: "subject" or "partner"
    data: dict[str, Any]  # the person's own categories, as ReferralSerializer rendered them
    status_shown: bool  # how the man's referral stands is not the partner's data


@dataclass(frozen=True)
class SeenDisclosure:
    """One disclosure of a person's categories, as audit.report.disclosures_of tells it to
    the person."""

    record: AccessRecord
    referral: UUID
    categories: list[str]
    basis: list[SeenBasis]  # its recorded bases of the person's categories
    recipient_named: bool  # a victim service is named only by its kind


@dataclass(frozen=True)
class SubjectReport:
    """A person's subject-access report as audit.report.subject_report drafts it."""

    person: UUID
    prepared_at: datetime
    status: str
    notice: str
    categories: list[str]
    held: list[HeldReferral]
    disclosures: list[SeenDisclosure]


class AuditFilterSerializer(StrictSerializer):
    agency = serializers.UUIDField(required=False, help_text="The agency that made the request.")
    client = serializers.CharField(
        required=False, max_length=100, help_text="The OAuth client that made the request."
    )
    person = serializers.UUIDField(
        required=False,
        help_text="A person the request touched (a referred man or a partner), or the staff "
        "member behind its token.",
    )
    referral = serializers.UUIDField(required=False, help_text="A referral the request touched.")
    category = serializers.ChoiceField(
        choices=CATEGORY_VALUES, required=False, help_text="A category the request disclosed."
    )
    purpose = serializers.ChoiceField(choices=PURPOSE_VALUES, required=False)
    flagged = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Emergency releases and denied attempts are flagged for review.",
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)
    from_ = serializers.DateTimeField(required=False, help_text="Inclusive (ISO 8601).")
    to = serializers.DateTimeField(required=False, help_text="Exclusive (ISO 8601).")
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        # `from` is DESIGN.md's name, and a Python keyword.
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and start >= end:
            raise serializers.ValidationError({"to": ["Must be later than `from`."]})
        return attrs


class ExportFilterSerializer(AuditFilterSerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        del fields["cursor"], fields["page_size"]
        return fields


class WithheldEntrySerializer(StoredKeyOrder, serializers.Serializer):
    category = serializers.ChoiceField(choices=CATEGORY_VALUES)
    reason = serializers.CharField()


class BasisSerializer(StoredKeyOrder, OutputSerializer):
    # One basis of a recorded disclosure as the reader sees it (a `SeenBasis`): its supplier,
    # agreement and consent null where they would lead to a victim service it may not be told
    # of. Context: `kinds`, agency id -> kind.

    category = serializers.ChoiceField(choices=CATEGORY_VALUES, source="basis.category")
    lawful_basis = serializers.CharField(
        source="basis.lawful_basis",
        help_text="A lawful basis, or `supplier` where the recipient supplied the data itself.",
    )
    agreement = serializers.UUIDField(allow_null=True, source="basis.agreement")
    agreement_version = serializers.IntegerField(allow_null=True, source="basis.agreement_version")
    consent = serializers.UUIDField(allow_null=True, source="basis.consent")
    supplier = serializers.CharField(
        allow_null=True,
        source="basis.supplier",
        help_text="The supplying agency; null for a victim service (see kind).",
    )
    supplier_kind = derived(serializers.ChoiceField, choices=AgencyKind.choices, allow_null=True)

    def stored(self, seen: SeenBasis) -> dict[str, Any]:
        return seen.basis

    def hidden(self, seen: SeenBasis) -> Collection[str]:
        return () if seen.named else ("agreement", "agreement_version", "consent", "supplier")

    def get_supplier_kind(self, seen: SeenBasis) -> str | None:
        """Its kind even where the supplier is not named: what the reader may know."""
        return self.context["kinds"].get(seen.basis.get("supplier") or "")


class SubjectBasisSerializer(StoredKeyOrder, OutputSerializer):
    # What a disclosure of the person's data rested on (a `SeenBasis`), in the subject-access
    # report: its agreement and consent null where they would lead to a victim service. Never
    # its supplier.

    category = serializers.ChoiceField(choices=CATEGORY_VALUES, source="basis.category")
    lawful_basis = serializers.CharField(source="basis.lawful_basis")
    agreement = serializers.UUIDField(allow_null=True, source="basis.agreement")
    agreement_version = serializers.IntegerField(allow_null=True, source="basis.agreement_version")
    consent = serializers.UUIDField(allow_null=True, source="basis.consent")

    def stored(self, seen: SeenBasis) -> dict[str, Any]:
        return seen.basis

    def hidden(self, seen: SeenBasis) -> Collection[str]:
        return () if seen.named else ("agreement", "agreement_version", "consent")


class RecordDecisionSerializer(serializers.Serializer):
    referral = serializers.UUIDField()
    disclosed = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORY_VALUES))
    withheld = WithheldEntrySerializer(many=True)
    bases = BasisSerializer(many=True)


class ReviewSerializer(StrictSerializer):
    at = TimestampField(read_only=True)
    agency = serializers.UUIDField(read_only=True, source="agency_id")
    client = serializers.CharField(read_only=True)
    person = OptionalUUIDField(read_only=True, allow_null=True)
    note = serializers.CharField(max_length=4000, help_text="What the review found and did.")


class AccessBurstSerializer(StoredKeyOrder, serializers.Serializer):
    count = serializers.IntegerField(min_value=1)
    first_at = serializers.DateTimeField()
    last_at = serializers.DateTimeField()


class AccessRecordSerializer(OutputSerializer):
    """An access record as the reading DPO may see it: the hub operator's sees everything; any
    other agency's DPO sees its own requests in full, and others' requests only as far as they
    disclosed categories it supplied (no client, person, justification, address, query,
    method, path or status); a victim service is named to it only by its kind, and it gets the
    ids only of the persons its own requests were told the identity of."""

    # Renders a `SeenRecord` (audit.selectors.record_seen decides what the reader sees).
    # Context: `kinds`, agency id -> kind. Null unless the record is shown in full:
    IN_FULL_ONLY = (
        "client",
        "person",
        "justification",
        "method",
        "path",
        "query",
        "status",
        "tried",
        "burst",
        "ip",
        "request_id",
        "review",
    )

    id = serializers.UUIDField(source="record.id")
    at = TimestampField(source="record.at")
    agency = OptionalCharField(
        allow_null=True,
        source="record.agency_ref",
        help_text="The requesting agency; null for a victim service (see kind).",
    )
    agency_kind = OptionalChoiceField(
        choices=AgencyKind.choices, allow_null=True, source="record.agency_kind"
    )
    client = OptionalCharField(allow_null=True, source="record.client")
    person = OptionalUUIDField(
        allow_null=True, source="record.person", help_text="The staff member behind a token."
    )
    purpose = OptionalChoiceField(choices=PURPOSE_VALUES, allow_null=True, source="record.purpose")
    justification = OptionalCharField(allow_null=True, source="record.justification")
    flagged = serializers.BooleanField(source="record.flagged")
    method = serializers.CharField(allow_null=True, source="record.method")
    path = serializers.CharField(allow_null=True, source="record.path")
    query = serializers.CharField(allow_blank=True, allow_null=True, source="record.query")
    status = serializers.IntegerField(allow_null=True, source="record.status")
    outcome = serializers.ChoiceField(choices=Outcome.choices, source="record.outcome")
    channel = derived(
        serializers.ChoiceField,
        choices=["api", "web"],
        help_text="Through which the request came: the API or a web page.",
    )
    tried = OptionalCharField(
        allow_null=True,
        source="record.tried",
        help_text="A failed token request or sign-in: the client id or user name tried (never "
        "the secret). Shown to the hub operator's DPO only.",
    )
    burst = AccessBurstSerializer(
        allow_null=True,
        source="record.burst",
        help_text="Refusals from one source folded into this record: how many, first and last "
        "time (the record's own fields are those of the first). Hub operator's DPO only.",
    )
    ip = serializers.IPAddressField(allow_null=True, source="record.ip")
    request_id = serializers.CharField(allow_null=True, source="record.request_id")
    referrals = derived(serializers.ListField, child=serializers.UUIDField())
    persons = serializers.ListField(child=serializers.UUIDField())
    disclosed = derived(
        serializers.ListField, child=serializers.ChoiceField(choices=CATEGORY_VALUES)
    )
    withheld = derived(serializers.ListField, child=WithheldEntrySerializer())
    decisions = RecordDecisionSerializer(many=True)
    review = ReviewSerializer(allow_null=True, source="record.review")

    def hidden(self, seen: SeenRecord) -> Collection[str]:
        hidden = () if seen.in_full else self.IN_FULL_ONLY
        return hidden if seen.agency_named else (*hidden, "agency")

    def get_channel(self, seen: SeenRecord) -> str:
        return seen.record.channel or "api"  # recorded before records named their channel

    def get_referrals(self, seen: SeenRecord) -> list[str]:
        return seen.record.referrals if seen.in_full else [d.referral for d in seen.decisions]

    def get_disclosed(self, seen: SeenRecord) -> list[str]:
        if seen.in_full:
            return seen.record.disclosed
        return sorted({c for d in seen.decisions for c in d.disclosed})

    def get_withheld(self, seen: SeenRecord) -> list[dict[str, str]]:
        return seen.record.withheld if seen.in_full else []


class RangeSerializer(KeyOrder, OutputSerializer):
    # A range of access records in a `VerifyReport` (audit.chain): its sealed range or its
    # unsealed tail, read from the report's attributes of that `part` (`sealed_records`,
    # `unsealed_from`...). The body gives `from` before `to`, as it always has.

    key_order = ("records", "from", "to")
    records = serializers.IntegerField()
    # `from` is a Python keyword: declared in get_fields.
    to = TimestampField(allow_null=True)

    def __init__(self, *args: Any, part: str = "", **kwargs: Any) -> None:
        self.part = part
        super().__init__(*args, **kwargs)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = TimestampField(allow_null=True)
        if self.part:
            for name, field in fields.items():
                field.source = f"{self.part}_{name}"
        return fields


class SealedRangeSerializer(RangeSerializer):
    key_order = ("batches", "records", "from", "to")
    batches = serializers.IntegerField()


class AnchorSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    hash = serializers.CharField()


class VerifySerializer(OutputSerializer):
    # Renders a `VerifyReport` (audit.chain.chain_verify): the body of GET audit/verify/, and
    # what `manage.py audit_verify` prints.

    intact = serializers.BooleanField()
    sealed = SealedRangeSerializer(source="*", part="sealed")
    unsealed = RangeSerializer(
        source="*",
        part="unsealed",
        help_text="Records not sealed yet (audit_seal runs periodically).",
    )
    first_bad_batch = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField(allow_null=True)
    head = AnchorSerializer(
        allow_null=True,
        help_text="The last sealed batch and its hash: keep it outside the hub, and pass it "
        "back as `anchor` later to detect a cut-off end of the chain.",
    )


class VerifyQuerySerializer(StrictSerializer):
    anchor = serializers.RegexField(
        r"^[1-9][0-9]*:[0-9a-fA-F]{64}$",
        required=False,
        help_text="BATCH:HASH, a head you kept: the chain must still hold it.",
    )


class AccessSerializer(OutputSerializer):
    """One access to a referral: yours, or another agency's to categories you supplied."""

    # Renders a `SeenAccess`. Context: `naming`, the rule in the referral (its partner service
    # named only to who may know it).

    at = TimestampField(source="record.at")
    agency = NamedAgencyField(
        allow_null=True,
        source="requester",
        help_text="The agency that accessed. A partner service you may not know of is not "
        "named, and its accesses are left out: when and why it read would tell who it is.",
    )
    agency_kind = serializers.ChoiceField(choices=AgencyKind.choices, source="record.agency_kind")
    purpose = OptionalChoiceField(choices=PURPOSE_VALUES, allow_null=True, source="record.purpose")
    categories = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORY_VALUES))
    method = serializers.CharField(
        allow_null=True, source="record.method", help_text="Only for your own accesses."
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices, source="record.outcome")

    def hidden(self, seen: SeenAccess) -> Collection[str]:
        return () if seen.own else ("method",)


class SubjectDisclosureSerializer(OutputSerializer):
    # Renders a `SeenDisclosure`: its recipient null where it is a victim service.

    at = TimestampField(source="record.at")
    recipient = serializers.UUIDField(
        allow_null=True,
        source="record.agency_ref",
        help_text="Null for a victim service, named only by its kind.",
    )
    recipient_kind = serializers.ChoiceField(
        choices=AgencyKind.choices, source="record.agency_kind"
    )
    referral = serializers.UUIDField()
    categories = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORY_VALUES))
    purpose = OptionalChoiceField(choices=PURPOSE_VALUES, allow_null=True, source="record.purpose")
    basis = SubjectBasisSerializer(
        many=True, help_text="What each category's disclosure rested on."
    )

    def hidden(self, disclosure: SeenDisclosure) -> Collection[str]:
        return () if disclosure.recipient_named else ("recipient",)


class HeldSerializer(OutputSerializer):
    # Renders a `HeldReferral`; its data as ReferralSerializer rendered it.

    referral = serializers.UUIDField(source="referral.id")
    role = serializers.ChoiceField(choices=["subject", "partner"])
    status = serializers.CharField(
        allow_null=True, source="referral.status", help_text="The referral's, in his report."
    )
    created_at = TimestampField(source="referral.created_at")
    data = serializers.DictField(
        help_text="The person's own categories only, keyed by category name."
    )

    def hidden(self, held: HeldReferral) -> Collection[str]:
        return () if held.status_shown else ("status",)


class SubjectReportSerializer(OutputSerializer):
    # Renders a `SubjectReport`, as JSON and as the HTML document (audit.views).

    person = serializers.UUIDField()
    prepared_at = TimestampField()
    status = serializers.ChoiceField(
        choices=["draft_for_dpo_review"],
        help_text="Every report is a draft until a DPO has reviewed it for release.",
    )
    notice = serializers.CharField()
    categories = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORY_VALUES))
    held = HeldSerializer(many=True)
    disclosures = SubjectDisclosureSerializer(many=True)
