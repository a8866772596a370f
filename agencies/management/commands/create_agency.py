import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agencies.models import AgencyKind
from agencies.services import agency_create


class Command(BaseCommand):
    help = 'Registers an agency. Prints {"id": ...}.'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=[k.value for k in AgencyKind])

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            agency = agency_create(name=options["name"], kind=options["kind"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(json.dumps({"id": str(agency.id)}))
