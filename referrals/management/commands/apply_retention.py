"""manage.py apply_retention: erase personal data past its retention period."""

import json
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from referrals.retention import retention_apply


class Command(BaseCommand):
    help = (
        "Erases personal data past its retention period (RETENTION_REFERRAL_DAYS, "
        "RETENTION_CONSENT_DAYS, RETENTION_IDEMPOTENCY_KEY_DAYS): closed referrals become "
        "tombstones; withdrawn or expired consents and old idempotency keys are deleted. "
        "Access records are never touched. Prints "
        '{"erased_referrals": n, "deleted_consents": m, "deleted_idempotency_keys": k, '
        '"deleted_person_identifiers": i, "dry_run": false}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what a run would erase and change nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The clock is the real one, never an option: a date in the future would erase early.
        try:
            result = retention_apply(now=timezone.now(), dry_run=options["dry_run"])
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result.as_dict()))
