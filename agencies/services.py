"""Writes for agencies and their OAuth2 clients."""

import secrets
from dataclasses import dataclass

from django.db import transaction
from oauth2_provider.generators import generate_client_id

from agencies.models import Agency, Client
from agencies.registration import RegistrationFault, registration_for
from core.exceptions import PolicyViolation, UnknownReference


@dataclass(frozen=True)
class IssuedClient:
    client: Client
    client_secret: str  # plaintext: exists only here, before it is hashed on save


def agency_create(*, name: str, kind: str) -> Agency:
    agency = Agency(name=name, kind=kind)
    agency.full_clean()
    agency.save()
    return agency


def client_create(
    *,
    agency_id: str,
    scopes: list[str],
    purpose: str | None = None,
    purposes: list[str] | None = None,
    name: str = "",
    grant_type: str = Client.GRANT_CLIENT_CREDENTIALS,
    redirect_uris: str = "",
) -> IssuedClient:
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None:
        raise UnknownReference("No agency has this id.", field="agency")
    try:
        registration = registration_for(
            kind=agency.kind,
            scopes=scopes,
            purposes=purposes or [],
            default_purpose=purpose or "",
        )
    except RegistrationFault as fault:
        raise PolicyViolation(fault.message, field=fault.field) from fault
    secret = secrets.token_urlsafe(96)
    client = Client(
        agency=agency,
        name=name or f"{agency.name} system",
        client_id=generate_client_id(),
        client_secret=secret,
        client_type=Client.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant_type,
        redirect_uris=redirect_uris,
        scopes=" ".join(registration.scopes),
        purposes=" ".join(registration.purposes),
        default_purpose=registration.default_purpose,
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
