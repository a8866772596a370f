"""manage.py audit_seal: seal every committed access record, a partial last batch included.

Bursts of refusals whose window has closed are written as their aggregated records first
(audit.bursts), so that what a flood was counted as reaches the chain on the next run.
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.bursts import close_bursts
from audit.chain import chain_seal, no_cycle_collection


class Command(BaseCommand):
    help = (
        "Seals every committed access record not yet sealed into hash-chained batches. "
        'Prints {"sealed_batches": n, "sealed_records": m, "last_batch": k|null, '
        '"head": {"batch": n, "hash": h}|null}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="Records per batch (default: AUDIT_SEAL_BATCH_SIZE).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        close_bursts()
        with no_cycle_collection():
            result = chain_seal(batch_size=options["batch_size"])
        self.stdout.write(json.dumps(result.as_dict()))
