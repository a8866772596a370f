"""Consent records. What a consent permits or refuses never changes after it is recorded; a
withdrawal is recorded on it (when, by whom, why). Retention deletes a consent withdrawn or
expired longer ago than `RETENTION_CONSENT_DAYS`, and every consent of a referral whose data it
erases (referrals/retention.py)."""

import uuid

from django.db import models

from agencies.models import Agency
from referrals.models import Referral


class DataSubject(models.TextChoices):
    SUBJECT = "subject"  # the referred man
    PARTNER = "partner"


class Consent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="consents")
    data_subject = models.CharField(max_length=16, choices=DataSubject.choices)
    provisions = models.JSONField()
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    evidence = models.JSONField()
    recorded_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    recorded_by_client = models.CharField(max_length=100)
    recorded_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    withdrawal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ("recorded_at", "id")

    def __str__(self) -> str:
        return f"Consent {self.id}"
