"""Access records: one per request that touches personal data, or is refused.

Records hold ids and category names, never personal data values.
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
        Agency, on_delete=models.PROTECT, null=True, related_name="+", db_index=True
    )
    agency_ref = models.CharField(max_length=36, blank=True)
    client = models.CharField(max_length=100, blank=True, db_index=True)
    person = models.CharField(max_length=36, blank=True, db_index=True)
    purpose = models.CharField(max_length=32, blank=True)
    justification = models.TextField(blank=True)
    flagged = models.BooleanField(default=False)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    ip = models.GenericIPAddressField(null=True)
    request_id = models.CharField(max_length=128)
    referrals = models.JSONField(default=list)
    persons = models.JSONField(default=list)
    disclosed = models.JSONField(default=list)
    withheld = models.JSONField(default=list)
    # Per referral: what was disclosed and withheld (and, later, which agreement and consent
    # versions each disclosure rested on).
    decisions = models.JSONField(default=list)

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"
