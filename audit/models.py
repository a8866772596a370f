"""Access records: one per request that touches personal data, or is refused.

Records hold ids and category names, never personal data values. Every table here is
append-only, enforced by the database (see audit/protection.py): a record, its index entries,
its seal and its review are written once and never changed or deleted.
"""

import uuid

from django.db import models

from agencies.models import Agency


class Outcome(models.TextChoices):
    SERVED = "served"
    REFUSED = "refused"
    FAILED = "failed"


class AccessRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # PROTECT: an agency with access records can never be deleted from under them; the id is
    # also kept as plain text so that the record reads the same whatever happens to the row.
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, related_name="+", db_index=False
    )
    agency_ref = models.CharField(max_length=36, blank=True)
    # The kind as it was at the time: a victim service is named to most readers only by it.
    agency_kind = models.CharField(max_length=32, blank=True)
    client = models.CharField(max_length=100, blank=True)
    person = models.CharField(max_length=36, blank=True)
    purpose = models.CharField(max_length=32, blank=True)
    justification = models.TextField(blank=True)
    flagged = models.BooleanField(default=False)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    query = models.CharField(max_length=2000, blank=True)
    status = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    ip = models.GenericIPAddressField(null=True)
    request_id = models.CharField(max_length=128)
    referrals = models.JSONField(default=list)
    persons = models.JSONField(default=list)
    disclosed = models.JSONField(default=list)
    withheld = models.JSONField(default=list)
    # Per referral: what was disclosed and withheld, and the agreement and consent versions
    # each disclosure rested on.
    decisions = models.JSONField(default=list)
    # `api` or `web` (DESIGN.md, *Audit*); null on records written before the field existed,
    # all of which came through the API. Nullable so that adding it rebuilt no table.
    channel = models.CharField(max_length=8, null=True, blank=True)  # noqa: DJ001
    # A failed token request or sign-in: the client id or user name tried (never the secret).
    tried = models.CharField(max_length=150, blank=True)
    # A burst of refused requests from one source folded into this one record:
    # {"count", "first_at", "last_at"} (audit.bursts); None for a single request.
    burst = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("at", "id")
        # The DPO search filters on these and reads newest first.
        indexes = [
            models.Index(fields=["agency", "at"], name="audit_rec_agency_at"),
            models.Index(fields=["client", "at"], name="audit_rec_client_at"),
            models.Index(fields=["person", "at"], name="audit_rec_person_at"),
            models.Index(fields=["purpose", "at"], name="audit_rec_purpose_at"),
            models.Index(fields=["outcome", "at"], name="audit_rec_outcome_at"),
            models.Index(fields=["flagged", "at"], name="audit_rec_flagged_at"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class IndexKind(models.TextChoices):
    REFERRAL = "referral"
    PERSON = "person"
    # A category disclosed by the request.
    CATEGORY = "category"
    # An agency that may see the record: the one whose request it was, and every supplier of
    # data it disclosed (a supplier's right to know who used its data).
    AGENCY = "agency"


class AccessIndexEntry(models.Model):
    """What a record touched, one row per referral, person (touched, or behind the token),
    disclosed category and agency that may see it, so that a search by any of them reads an
    index instead of every record. Derived from the record
    (audit.services.index_entries_of) and written with it."""

    # No index of its own: the unique (record, kind, value) index leads with it.
    record = models.ForeignKey(
        AccessRecord, on_delete=models.PROTECT, related_name="index_entries", db_index=False
    )
    kind = models.CharField(max_length=16, choices=IndexKind.choices)
    value = models.CharField(max_length=64)
    # The record's time, so that a filtered page is read in order straight from the index.
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["kind", "value", "at"], name="audit_idx_kind_value_at")]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "kind", "value"], name="audit_idx_one_entry_per_value"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class FlagReview(models.Model):
    """A DPO's review of a flagged record, kept beside it: the record itself never changes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    record = models.OneToOneField(AccessRecord, on_delete=models.PROTECT, related_name="review")
    at = models.DateTimeField(auto_now_add=True)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    client = models.CharField(max_length=100)
    person = models.CharField(max_length=36, blank=True)
    note = models.TextField()

    def __str__(self) -> str:
        return f"review of {self.record_id} at {self.at:%Y-%m-%d %H:%M:%S}"


class SealBatch(models.Model):
    """A sealed run of access records: its hash covers its records, in order, and the hash of
    the batch before it, so that editing, deleting, inserting or reordering a sealed record
    breaks the chain from that batch on."""

    number = models.PositiveBigIntegerField(primary_key=True)
    sealed_at = models.DateTimeField(auto_now_add=True)
    size = models.PositiveIntegerField()
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("number",)

    def __str__(self) -> str:
        return f"batch {self.number} ({self.size} records)"


class SealedRecord(models.Model):
    """A record's place in a sealed batch. Records are inserted freely by requests; the sealer
    alone writes these, so sealing never serialises requests on one lock."""

    record = models.OneToOneField(
        AccessRecord, on_delete=models.PROTECT, primary_key=True, related_name="seal"
    )
    # No index of its own: the unique (batch, position) index leads with it.
    batch = models.ForeignKey(
        SealBatch, on_delete=models.PROTECT, related_name="members", db_index=False
    )
    position = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="audit_seal_one_per_place")
        ]

    def __str__(self) -> str:
        return f"{self.record_id} at {self.batch_id}:{self.position}"


class RefusalBurst(models.Model):
    """Refused requests from one source, within one window, not yet folded into the audit
    trail (audit.bursts, DESIGN.md *Audit*: "A burst of refused requests from one source may be
    recorded as one aggregated record").

    Not an audit table: a staging row, mutable on purpose, at most one per source and kind of
    refusal. The first refusal of a window has its own access record at once; the ones after
    it are counted here and written as one record (count, first and last time) when the window
    closes.
    """

    key = models.CharField(max_length=64, unique=True)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, null=True, related_name="+")
    client = models.CharField(max_length=100, blank=True)
    tried = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(null=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField()
    # The channel the refusals came through (core.context.Channel), for the folded record.
    channel = models.CharField(max_length=8, default="api")
    # Refusals folded since the window opened (its first has its own record).
    count = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.count} refusals ({self.status}) from {self.ip} since {self.first_at}"
