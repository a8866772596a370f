"""manage.py audit_verify: check the access records' hash chain.

Prints the verification report as one JSON object, the body of GET /api/v1/audit/verify/ rendered
by the same serializer (audit.serializers.VerifySerializer), and exits 0 when the chain is
intact, 1 when it is not, naming the first bad batch.
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.chain import Anchor, chain_verify, no_cycle_collection
from audit.chain_workers import available_cores
from audit.serializers import VerifySerializer
from core.serializers import rendering


class Command(BaseCommand):
    help = (
        "Verifies the access records' hash chain. Prints the report as one JSON object; "
        "exits non-zero, naming the first bad batch, when the chain is not intact."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--anchor",
            default=None,
            help="BATCH:HASH, a head printed by audit_seal and kept outside the database: "
            "the chain must still hold that batch with that hash (detects a cut-off end).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=available_cores(),
            help="Processes that read and hash a long chain's pages at once, on PostgreSQL "
            "(default: one per available core; 1: none besides this one).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            anchor = Anchor.parse(options["anchor"]) if options["anchor"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        with no_cycle_collection():
            report = chain_verify(anchor=anchor, workers=options["workers"])
        # The report goes to stdout either way: scripts read the line, then the exit status.
        self.stdout.write(json.dumps(rendering(VerifySerializer)(report)))
        if not report.intact:
            raise CommandError(f"audit chain broken: {report.problem}")
