"""Programmes, the people referrals are about, and referrals themselves.

Personal data is kept per category (one field or table each), so that what a caller may not
see is never even loaded into its response.
"""

import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from agencies.models import Agency
from referrals.identifiers import IDENTIFIER_LENGTH, normalise


class Approach(models.TextChoices):
    SOCIAL_EDUCATIONAL = "social_educational"
    CRIMINOLOGICAL = "criminological"
    PSYCHOTHERAPEUTIC = "psychotherapeutic"
    FAMILY = "family"


class Modality(models.TextChoices):
    GROUP = "group"
    INDIVIDUAL = "individual"
    COUPLES = "couples"
    MEDIATION = "mediation"


# Couple work and mediation are never a response to domestic violence (DESIGN.md, principle 5).
REFUSED_MODALITIES: frozenset[str] = frozenset({Modality.COUPLES, Modality.MEDIATION})


class Programme(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the unique (provider, name) index leads with it.
    provider = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="programmes", db_index=False
    )
    name = models.CharField(max_length=200)
    approach = models.CharField(max_length=32, choices=Approach.choices)
    modality = models.CharField(max_length=32, choices=Modality.choices)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "name"], name="programme_name_per_provider")
        ]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """A man referred, or a partner: one record across referrals, for subject-access requests.

    What a referral says about the person stays on that referral (it is the referrer's data);
    the person record only ties referrals together through strong identifiers.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Person {self.id}"


class PersonIdentifier(models.Model):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="identifiers")
    system = models.CharField(max_length=100)
    # As first sent, for display; matching compares `normalised` (referrals/identifiers.py).
    value = models.CharField(max_length=IDENTIFIER_LENGTH)
    normalised = models.CharField(max_length=IDENTIFIER_LENGTH)
    # 0 for every identifier the hub binds. Rows stored before normalisation that spell one
    # identifier held by another row were kept, numbered 1, 2... (migration 0009): both people
    # stay, and matching treats the identifier as naming several people.
    collision = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            # The key that makes simultaneous first referrals of one man meet on one row.
            models.UniqueConstraint(
                fields=["system", "normalised", "collision"],
                name="identifier_normalised_unique_in_system",
            )
        ]

    def __str__(self) -> str:
        return f"{self.system} identifier of person {self.person_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A derived column, never set apart from `value`, so that no row escapes matching.
        self.normalised = normalise(system=self.system, value=self.value)
        super().save(*args, **kwargs)


class Status(models.TextChoices):
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    ASSESSMENT = "assessment"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_PROGRAMME = "in_programme"
    COMPLETED = "completed"
    TERMINATED = "terminated"
    WITHDRAWN = "withdrawn"


class Referral(models.Model):
    # referral.admin
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.SUBMITTED)
    # No index of its own: referral_by_referrer (referrer, -created_at) leads with it.
    referrer = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="referrals_made", db_index=False
    )
    provider = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="referrals_run")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="referrals")
    observers = models.ManyToManyField(Agency, related_name="referrals_observed", blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # When referral.admin last changed (created, moved): the one time every party may see.
    # Changes to other categories are dated by their own rows (amendments, reports,
    # partner.disclosures entries), so that a reader's `updated_at` counts only those it may
    # see (updated_at_seen in referrals/selectors.py); nothing else moves this one.
    updated_at = models.DateTimeField(auto_now=True)
    created_by_client = models.CharField(max_length=100)

    # partner.identity (with the partner's own person record)
    partner_service = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="referrals_supported",
        null=True,
        blank=True,
    )
    partner = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="referrals_as_partner", null=True
    )
    partner_identity = models.JSONField(encoder=DjangoJSONEncoder, null=True)

    # subject.identity (with the man's person record) and subject.contact
    subject = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="referrals_as_subject"
    )
    subject_identity = models.JSONField(encoder=DjangoJSONEncoder)
    subject_contact = models.JSONField(encoder=DjangoJSONEncoder, null=True)

    offence = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    risk = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    partner_contact = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    children = models.JSONField(encoder=DjangoJSONEncoder, null=True)

    # Set when retention erased the referral's personal data (referrals/retention.py): the row
    # stays as a tombstone (ids, status, parties, programme, dates), so that access records and
    # events still name something, and its parties are told it is gone (410) rather than
    # never existed.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["referrer", "-created_at"], name="referral_by_referrer")]

    def __str__(self) -> str:
        # Never personal data: the admin and logs may print this.
        return f"Referral {self.id}"


class PartnerDisclosure(models.Model):
    """One entry of partner.disclosures, supplied by the agency that recorded it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="disclosures")
    supplier = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    disclosed_on = models.DateField(null=True)
    summary = models.TextField(blank=True)
    # "statement" (what she told an agency) or "contact_attempt" (the partner service's call).
    kind = models.CharField(max_length=32, default="statement")
    details = models.JSONField(encoder=DjangoJSONEncoder, default=dict)

    class Meta:
        ordering = ("recorded_at", "id")

    def __str__(self) -> str:
        return f"Partner disclosure {self.id}"


class EventType(models.TextChoices):
    CREATED = "created"
    TRANSITION = "transition"
    REPORT = "report"
    URGENT_RISK_CHANGE = "urgent_risk_change"
    PARTNER_CONTACT_TASK = "partner_contact_task"
    AMENDMENT = "amendment"
    EMERGENCY_RELEASE = "emergency_release"


class Event(models.Model):
    """One change an agency should hear about; ids and types only, never personal data.

    Written in the same transaction as the change it describes, one row per recipient.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the unique (recipient, position) index leads with it.
    recipient = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    # The event's place in its recipient's feed: 1, 2, 3... with no gaps, allocated under a
    # lock on the recipient's FeedCounter so that positions commit in order (see events.py).
    position = models.BigIntegerField()
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=32, choices=EventType.choices)
    at = models.DateTimeField(auto_now_add=True)
    about = models.JSONField(default=dict)

    class Meta:
        ordering = ("recipient", "position")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "position"], name="one_event_per_place")
        ]

    def __str__(self) -> str:
        return f"{self.type} on {self.referral_id}"


class Transition(models.Model):
    """One move of a referral: who, when, why. Never edited, except that retention blanks its
    free-text reason when it erases the referral's personal data (referrals/retention.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=32, choices=Status.choices)
    to_status = models.CharField(max_length=32, choices=Status.choices)
    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    by_client = models.CharField(max_length=100)
    by_person = models.CharField(max_length=36, blank=True)

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.from_status} -> {self.to_status}"


class ReportKind(models.TextChoices):
    ASSESSMENT = "assessment"
    ATTENDANCE = "attendance"
    RISK_CHANGE = "risk_change"
    COMPLETION = "completion"


class Report(models.Model):
    """A report back from the provider: the programme.progress category. Never edited; deleted
    with the referral's personal data by retention (referrals/retention.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    content = models.JSONField(encoder=DjangoJSONEncoder)
    written_at = models.DateTimeField(auto_now_add=True)
    written_by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    written_by_client = models.CharField(max_length=100)

    class Meta:
        ordering = ("written_at", "id")

    def __str__(self) -> str:
        return f"{self.kind} report {self.id}"


class FeedCounter(models.Model):
    """The last position handed out in one agency's event feed."""

    agency = models.OneToOneField(Agency, on_delete=models.PROTECT, primary_key=True)
    last_position = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Feed of {self.agency_id} at {self.last_position}"


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key on POST referrals/: the same key and body give the first
    result; keys expire after 24 hours."""

    client = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="one_key_per_client")]

    def __str__(self) -> str:
        return f"Idempotency key of {self.client}"


class Amendment(models.Model):
    """One change to a referral's data: old and new values per category, and why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="amendments")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    by_client = models.CharField(max_length=100)
    reason = models.TextField(blank=True)
    # {category: {"old": ..., "new": ...}}
    changes = models.JSONField(encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"Amendment {self.id}"


class PartnerContactTask(models.Model):
    """Proactive contact with the partner, for her support service alone (created on
    acceptance). For every other agency it does not exist."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.OneToOneField(
        Referral, on_delete=models.PROTECT, related_name="partner_contact_task"
    )
    partner_service = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Partner contact task {self.id}"
