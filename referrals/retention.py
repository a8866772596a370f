"""Retention: personal data past its period is erased, and what stays behind holds none.

- A referral closed (completed, declined, terminated, withdrawn) longer ago than
  `RETENTION_DAYS["referral"]` becomes a tombstone: the row keeps its id, status, parties,
  programme, dates and person ids (`erased_at` set), and everything personal goes: its
  category columns, reports, amendments (old and new values), partner disclosures and contact
  attempts, the partner-contact task, consents, idempotency keys and the free-text reasons of
  its moves (the moves stay: status, code, who and when). Its parties are told 410 Gone.
- A person's identifiers go once no referral that is not erased names the person; the person
  row (an id) stays, as access records and tombstones name it.
- A consent withdrawn or expired longer ago than `RETENTION_DAYS["consent"]` is deleted: it
  decides nothing any more (DESIGN.md, rule 3).
- Idempotency keys older than `RETENTION_DAYS["idempotency_key"]` (never within the day they
  are honoured) are deleted.

Never touched: access records (audit/; ids and category names only, append-only in the
database, and their hash chain must keep verifying), events (ids and types) and the model
change log (ids, statuses and parties).
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import DateTimeField, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from consent.models import Consent
from referrals.models import (
    Amendment,
    IdempotencyKey,
    PartnerContactTask,
    PartnerDisclosure,
    PersonIdentifier,
    Referral,
    Report,
    Status,
    Transition,
)
from referrals.services import IDEMPOTENCY_WINDOW
from referrals.states import OPEN_STATUSES

CLOSED_STATUSES: tuple[Status, ...] = tuple(s for s in Status if s not in OPEN_STATUSES)

# Rows loaded per step: a run never holds more than this many ids, whatever the backlog.
BATCH_SIZE = 500

# What a tombstone keeps in the personal-data columns (subject_identity is NOT NULL).
ERASED_VALUES = {
    "subject_identity": {},
    "subject_contact": None,
    "offence": None,
    "risk": None,
    "partner_identity": None,
    "partner_contact": None,
    "children": None,
}

# Everything else held about a referral that may be personal, deleted with its data. Events
# stay: they carry ids and types only.
ERASED_WITH_REFERRAL: tuple[type[Model], ...] = (
    Report,
    Amendment,
    PartnerDisclosure,
    PartnerContactTask,
)


@dataclass(frozen=True)
class RetentionResult:
    erased_referrals: int
    deleted_consents: int
    deleted_idempotency_keys: int
    deleted_person_identifiers: int
    dry_run: bool

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def retention_period(record_type: str) -> timedelta:
    days = settings.RETENTION_DAYS[record_type]
    if days < 0:
        raise ImproperlyConfigured(f'RETENTION_DAYS["{record_type}"] must not be negative.')
    return timedelta(days=days)


def referrals_due(*, now: datetime) -> QuerySet[Referral]:
    """Closed referrals not yet erased whose closing move is older than the period.

    Closed statuses are final, so the last move is the closing one; a referral closed without
    a recorded move (an import, say) counts from its last update.
    """
    closed_at = Subquery(
        Transition.objects.filter(referral=OuterRef("pk"), to_status__in=CLOSED_STATUSES)
        .order_by("-at")
        .values("at")[:1],
        output_field=DateTimeField(),
    )
    return (
        Referral.objects.filter(status__in=CLOSED_STATUSES, erased_at__isnull=True)
        .annotate(closed_at=Coalesce(closed_at, "updated_at"))
        .filter(closed_at__lt=now - retention_period("referral"))
        .order_by("id")
    )


def consents_due(*, now: datetime) -> Q:
    """Consents withdrawn, or expired (valid through `valid_to`), longer ago than the period."""
    cutoff = now - retention_period("consent")
    return Q(withdrawn_at__lt=cutoff) | Q(valid_to__lt=timezone.localdate(cutoff))


def idempotency_keys_due(*, now: datetime) -> Q:
    # Never within the window in which a key is honoured: a retry must still get its first result.
    keep = max(retention_period("idempotency_key"), IDEMPOTENCY_WINDOW)
    return Q(created_at__lt=now - keep)


def identifiers_unreferenced(*, live: QuerySet[Referral]) -> QuerySet[PersonIdentifier]:
    """Identifiers of persons that no referral in `live` names, as subject or partner."""
    return PersonIdentifier.objects.exclude(person_id__in=live.values("subject_id")).exclude(
        # Without the NULL filter, NOT IN over a NULL would exclude every row.
        person_id__in=live.filter(partner__isnull=False).values("partner_id")
    )


def delete_in_batches(queryset: QuerySet) -> int:
    deleted = 0
    while pks := list(queryset.values_list("pk", flat=True)[:BATCH_SIZE]):
        count, _ = queryset.model.objects.filter(pk__in=pks).delete()
        deleted += count
    return deleted


def referrals_erase(*, ids: list[UUID], now: datetime) -> tuple[int, int, int]:
    """Turns these referrals into tombstones: (referrals erased, consents, idempotency keys)."""
    # Locked, so that a consent or contact attempt written at this moment waits for the erasure
    # and then finds the referral erased (their views lock it too).
    ids = list(
        Referral.objects.select_for_update()
        .filter(id__in=ids, erased_at__isnull=True)
        .values_list("id", flat=True)
    )
    Transition.objects.filter(referral_id__in=ids).exclude(reason="").update(reason="")
    for model in ERASED_WITH_REFERRAL:
        model.objects.filter(referral_id__in=ids).delete()
    consents, _ = Consent.objects.filter(referral_id__in=ids).delete()
    keys, _ = IdempotencyKey.objects.filter(referral_id__in=ids).delete()
    # update(), not save(): the tombstone keeps its dates (updated_at included).
    erased = Referral.objects.filter(id__in=ids).update(**ERASED_VALUES, erased_at=now)
    return erased, consents, keys


@transaction.atomic
def retention_apply(*, now: datetime, dry_run: bool = False) -> RetentionResult:
    """Erases what is past its retention period at `now`, in batches; with `dry_run`, counts
    exactly what a run would erase and changes nothing. A second run finds nothing more."""
    due = referrals_due(now=now)
    consents = Consent.objects.filter(consents_due(now=now))
    keys = IdempotencyKey.objects.filter(idempotency_keys_due(now=now))
    live = Referral.objects.filter(erased_at__isnull=True)

    if dry_run:
        due_ids = due.values("id")
        return RetentionResult(
            erased_referrals=due.count(),
            deleted_consents=Consent.objects.filter(
                Q(referral_id__in=due_ids) | consents_due(now=now)
            ).count(),
            deleted_idempotency_keys=IdempotencyKey.objects.filter(
                Q(referral_id__in=due_ids) | idempotency_keys_due(now=now)
            ).count(),
            deleted_person_identifiers=identifiers_unreferenced(
                live=live.exclude(id__in=due_ids)
            ).count(),
            dry_run=True,
        )

    erased = deleted_consents = deleted_keys = 0
    # Each batch leaves `due` once erased, so the next query starts where this one ended.
    while ids := list(due.values_list("id", flat=True)[:BATCH_SIZE]):
        batch_erased, batch_consents, batch_keys = referrals_erase(ids=ids, now=now)
        erased += batch_erased
        deleted_consents += batch_consents
        deleted_keys += batch_keys
    deleted_consents += delete_in_batches(consents)
    deleted_keys += delete_in_batches(keys)
    deleted_identifiers = delete_in_batches(identifiers_unreferenced(live=live))
    return RetentionResult(
        erased_referrals=erased,
        deleted_consents=deleted_consents,
        deleted_idempotency_keys=deleted_keys,
        deleted_person_identifiers=deleted_identifiers,
        dry_run=False,
    )
