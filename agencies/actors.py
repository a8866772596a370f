"""Who is acting: resolved once per request from the OAuth2 token, in one place."""

from dataclasses import dataclass

from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from agencies.models import Agency, Client, User


@dataclass(frozen=True)
class Actor:
    """The agency a request acts for, the client that sent it (None for a person signed in to
    the web pages: they act through no OAuth client), and the person, if any."""

    agency: Agency
    client: Client | None
    person: User | None
    scopes: frozenset[str]

    @property
    def client_id(self) -> str:
        """The OAuth client id the request came through, "" on the web pages."""
        return self.client.client_id if self.client is not None else ""


def actor_of(request: Request) -> Actor:
    actor = getattr(request._request, "actor", None)
    if actor is None:
        raise NotAuthenticated()
    return actor
