"""Sharing agreements: never edited in place; each change is a new version of the same id."""

import uuid

from django.db import models

from agencies.models import Agency, AgencyKind


class AgreementStatus(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"


class Agreement(models.Model):
    """The stable identity of an agreement; its terms live in its versions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="agreements_given")
    current_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Agreement {self.id} v{self.current_version}"


class AgreementVersion(models.Model):
    # No index of its own: the unique (agreement, version) index leads with it.
    agreement = models.ForeignKey(
        Agreement, on_delete=models.PROTECT, related_name="versions", db_index=False
    )
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    provider = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    recipient_kind = models.CharField(
        max_length=32, choices=AgencyKind.choices, blank=True, default=""
    )
    purposes = models.JSONField()
    grants = models.JSONField()
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    review_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=AgreementStatus.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    created_by_client = models.CharField(max_length=100)

    class Meta:
        ordering = ("agreement", "version")
        constraints = [
            models.UniqueConstraint(fields=["agreement", "version"], name="one_row_per_version"),
            models.CheckConstraint(
                condition=(
                    models.Q(recipient__isnull=False, recipient_kind="")
                    | models.Q(recipient__isnull=True) & ~models.Q(recipient_kind="")
                ),
                name="exactly_one_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
