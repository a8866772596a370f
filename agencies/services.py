"""Writes for agencies and their OAuth2 clients."""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from oauth2_provider.generators import generate_client_id

from agencies.models import Agency, Client
from hub.exceptions import PolicyViolation, UnknownReference
from sharing_policies.vocabulary import PURPOSES


@dataclass(frozen=True)
class IssuedClient:
    client: Client
    client_secret: str  # plaintext: exists only here, before it is hashed on save


def agency_create(*, name: str, kind: str) -> Agency:
    agency = Agency(name=name, kind=kind)
    agency.full_clean()
    agency.save()
    return agency


def validate_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(settings.SCOPES))
    if unknown:
        raise PolicyViolation(f"Unknown scope(s): {', '.join(unknown)}.", field="scopes")
    if not scopes:
        raise PolicyViolation("A client needs at least one scope.", field="scopes")
    return sorted(set(scopes))


def client_create(
    *,
    agency_id: str,
    scopes: list[str],
    purpose: str | None = None,
    name: str = "",
    grant_type: str = Client.GRANT_CLIENT_CREDENTIALS,
    redirect_uris: str = "",
) -> IssuedClient:
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None:
        raise UnknownReference("No agency has this id.", field="agency")
    if purpose is not None and purpose not in PURPOSES:
        raise PolicyViolation(f"Unknown purpose {purpose!r}.", field="purpose")
    secret = secrets.token_urlsafe(96)
    client = Client(
        agency=agency,
        name=name or f"{agency.name} system",
        client_id=generate_client_id(),
        client_secret=secret,
        client_type=Client.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant_type,
        redirect_uris=redirect_uris,
        scopes=" ".join(validate_scopes(scopes)),
        default_purpose=purpose or "",
    )
    with transaction.atomic():
        client.full_clean(exclude=["user"])
        client.save()
    return IssuedClient(client=client, client_secret=secret)


def client_rotate_secret(*, client: Client) -> str:
    """Gives a client a fresh secret; the old one stops working at once."""
    secret = secrets.token_urlsafe(96)
    client.client_secret = secret
    client.save()
    return secret
