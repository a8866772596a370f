"""DOT scopes backend: a client may hold exactly the scopes it was registered with."""

from typing import Any

from django.conf import settings
from oauth2_provider.scopes import BaseScopes


class ClientScopes(BaseScopes):
    """Deny by default: without a client, no scope is available.

    DOT's default backend offers every scope, and gives all of them to a token request that
    names none; here a request that names none gets the client's registered scopes.
    """

    def get_all_scopes(self) -> dict[str, str]:
        return settings.SCOPES

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if application is None:
            return []
        return [s for s in application.scope_list if s in settings.SCOPES]

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return self.get_available_scopes(application, request)
