import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agencies.models import Client
from agencies.services import client_create
from core.exceptions import DomainError
from core.vocabulary import Purpose


class Command(BaseCommand):
    help = (
        "Registers an OAuth2 client for an agency. Prints "
        '{"client_id": ..., "client_secret": ...}; the secret is shown this once.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", required=True, help="The agency's id.")
        parser.add_argument(
            "--scopes", required=True, help='Space-separated, e.g. "referrals:read".'
        )
        parser.add_argument(
            "--purpose", choices=[p.value for p in Purpose], help="The default purpose."
        )
        parser.add_argument(
            "--purposes",
            default="",
            help="Space-separated purposes the client may declare in X-Purpose (its default "
            "among them, added if not named; audit comes with the audit:read scope).",
        )
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--grant",
            choices=[Client.GRANT_CLIENT_CREDENTIALS, Client.GRANT_AUTHORIZATION_CODE],
            default=Client.GRANT_CLIENT_CREDENTIALS,
            help="client-credentials for an agency's system; authorization-code (with PKCE) "
            "for an application that people sign in to.",
        )
        parser.add_argument("--redirect-uri", default="", help="For authorization-code clients.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            issued = client_create(
                agency_id=options["agency"],
                scopes=options["scopes"].split(),
                purpose=options["purpose"],
                purposes=options["purposes"].split(),
                name=options["name"],
                grant_type=options["grant"],
                redirect_uris=options["redirect_uri"],
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            json.dumps(
                {"client_id": issued.client.client_id, "client_secret": issued.client_secret}
            )
        )
