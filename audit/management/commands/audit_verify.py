"""manage.py audit_verify: check the access records' hash chain.

Prints the verification report as one JSON object (the body of GET /api/v1/audit/verify/) and
exits 0 when the chain is intact, 1 when it is not, naming the first bad batch.
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.chain import chain_verify


class Command(BaseCommand):
    help = (
        "Verifies the access records' hash chain. Prints the report as one JSON object; "
        "exits non-zero, naming the first bad batch, when the chain is not intact."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = chain_verify()
        # The report goes to stdout either way: scripts read the line, then the exit status.
        self.stdout.write(json.dumps(report.as_dict()))
        if not report.intact:
            raise CommandError(f"audit chain broken: {report.problem}")
