"""Bodies of the audit endpoints: the DPO search's filters, access records as a DPO sees them,
reviews, the chain's verification, a referral's accesses and the subject-access report."""

from typing import Any

from rest_framework import serializers

from agencies.models import AgencyKind
from audit.models import Outcome
from core.serializers import StrictSerializer
from core.vocabulary import CATEGORY_VALUES, PURPOSE_VALUES


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


class WithheldEntrySerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=CATEGORY_VALUES)
    reason = serializers.CharField()


class BasisSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=CATEGORY_VALUES)
    lawful_basis = serializers.CharField(
        help_text="A lawful basis, or `supplier` where the recipient supplied the data itself."
    )
    agreement = serializers.UUIDField(allow_null=True)
    agreement_version = serializers.IntegerField(allow_null=True)
    consent = serializers.UUIDField(allow_null=True)
    supplier = serializers.CharField(
        allow_null=True, help_text="The supplying agency; null for a victim service (see kind)."
    )
    supplier_kind = serializers.ChoiceField(choices=AgencyKind.choices, allow_null=True)


class SubjectBasisSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=CATEGORY_VALUES)
    lawful_basis = serializers.CharField()
    agreement = serializers.UUIDField(allow_null=True)
    agreement_version = serializers.IntegerField(allow_null=True)
    consent = serializers.UUIDField(allow_null=True)


class RecordDecisionSerializer(serializers.Serializer):
    referral = serializers.UUIDField()
    disclosed = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORY_VALUES))
    withheld = WithheldEntrySerializer(many=True)
    bases = BasisSerializer(many=True)


class ReviewSerializer(StrictSerializer):
    at = serializers.DateTimeField(read_only=True)
    agency = serializers.UUIDField(read_only=True)
    client = serializers.CharField(read_only=True)
    person = serializers.UUIDField(read_only=True, allow_null=True)
    note = serializers.CharField(max_length=4000, help_text="What the review found and did.")


class AccessBurstSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1)
    first_at = serializers.DateTimeField()
    last_at = serializers.DateTimeField()


class AccessRecordSerializer(serializers.Serializer):
    """An access record as the reading DPO may see it: the hub operator's sees everything; any
    other agency's DPO sees its own requests in full, and others' requests only as far as they
    disclosed categories it supplied (no client, person, justification, address, query,
    method, path or status); a victim service is named to it only by its kind, and it gets the
    ids only of the persons its own requests were told the identity of."""

    id = serializers.UUIDField()
    at = serializers.DateTimeField()
    agency = serializers.CharField(
        allow_null=True, help_text="The requesting agency; null for a victim service (see kind)."
    )
    agency_kind = serializers.ChoiceField(choices=AgencyKind.choices, allow_null=True)
    client = serializers.CharField(allow_null=True)
    person = serializers.UUIDField(allow_null=True, help_text="The staff member behind a token.")
    purpose = serializers.ChoiceField(choices=PURPOSE_VALUES, allow_null=True)
    justification = serializers.CharField(allow_null=True)
    flagged = serializers.BooleanField()
    method = serializers.CharField(allow_null=True)
    path = serializers.CharField(allow_null=True)
    query = serializers.CharField(allow_blank=True, allow_null=True)
    status = serializers.IntegerField(allow_null=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    channel = serializers.ChoiceField(
        choices=["api", "web"], help_text="Through which the request came: the API or a web page."
    )
    tried = serializers.CharField(
        allow_null=True,
        help_text="A failed token request or sign-in: the client id or user name tried (never "
        "the secret). Shown to the hub operator's DPO only.",
    )
    burst = AccessBurstSerializer(
        allow_null=True,
        help_text="Refusals from one source folded into this record: how many, first and last "
        "time (the record's own fields are those of the first). Hub operator's DPO only.",
    )
    ip = serializers.IPAddressField(allow_null=True)
    request_id = serializers.CharField(allow_null=True)
    referrals = serializers.ListField(child=serializers.UUIDField())
    persons = serializers.ListField(child=serializers.UUIDField())
    disclosed = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORY_VALUES))
    withheld = WithheldEntrySerializer(many=True)
    decisions = RecordDecisionSerializer(many=True)
    review = ReviewSerializer(allow_null=True)


class RangeSerializer(serializers.Serializer):
    records = serializers.IntegerField()
    # `from` is a Python keyword: declared in get_fields.
    to = serializers.DateTimeField(allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(allow_null=True)
        return fields


class SealedRangeSerializer(RangeSerializer):
    batches = serializers.IntegerField()


class AnchorSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    hash = serializers.CharField()


class VerifySerializer(serializers.Serializer):
    intact = serializers.BooleanField()
    sealed = SealedRangeSerializer()
    unsealed = RangeSerializer(help_text="Records not sealed yet (audit_seal runs periodically).")
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


class AccessSerializer(serializers.Serializer):
    """One access to a referral: yours, or another agency's to categories you supplied."""

    at = serializers.DateTimeField()
    agency = serializers.CharField(
        allow_null=True,
        help_text="The agency that accessed. A partner service you may not know of is not "
        "named, and its accesses are left out: when and why it read would tell who it is.",
    )
    agency_kind = serializers.ChoiceField(choices=AgencyKind.choices)
    purpose = serializers.ChoiceField(choices=PURPOSE_VALUES, allow_null=True)
    categories = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORY_VALUES))
    method = serializers.CharField(allow_null=True, help_text="Only for your own accesses.")
    outcome = serializers.ChoiceField(choices=Outcome.choices)


class SubjectDisclosureSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    recipient = serializers.UUIDField(
        allow_null=True, help_text="Null for a victim service, named only by its kind."
    )
    recipient_kind = serializers.ChoiceField(choices=AgencyKind.choices)
    referral = serializers.UUIDField()
    categories = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORY_VALUES))
    purpose = serializers.ChoiceField(choices=PURPOSE_VALUES, allow_null=True)
    basis = SubjectBasisSerializer(
        many=True, help_text="What each category's disclosure rested on."
    )


class HeldSerializer(serializers.Serializer):
    referral = serializers.UUIDField()
    role = serializers.ChoiceField(choices=["subject", "partner"])
    status = serializers.CharField(allow_null=True, help_text="The referral's, in his report.")
    created_at = serializers.DateTimeField()
    data = serializers.DictField(
        help_text="The person's own categories only, keyed by category name."
    )


class SubjectReportSerializer(serializers.Serializer):
    person = serializers.UUIDField()
    prepared_at = serializers.DateTimeField()
    status = serializers.ChoiceField(
        choices=["draft_for_dpo_review"],
        help_text="Every report is a draft until a DPO has reviewed it for release.",
    )
    notice = serializers.CharField()
    categories = serializers.ListField(child=serializers.ChoiceField(choices=CATEGORY_VALUES))
    held = HeldSerializer(many=True)
    disclosures = SubjectDisclosureSerializer(many=True)
