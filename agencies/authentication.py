"""DRF authentication: a valid token acts for its client's agency, and for nothing else."""

from typing import Any

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from agencies.actors import Actor


class AgencyTokenAuthentication(OAuth2Authentication):
    """Bearer tokens from /o/token/; resolves the acting agency once, on the request."""

    www_authenticate_realm = "referral-hub"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        # The Django request, not DRF's: DOT reads `request.POST`, which on DRF's request would
        # parse the body, and a malformed body would then answer 400 before the 401 or 403.
        result = super().authenticate(request._request)
        if result is None:
            return None
        user, token = result
        client = token.application
        if client is None or not client.agency.active:
            # A client of an inactive agency: its tokens stop working at once.
            raise AuthenticationFailed("This client's agency is not active.")
        if user is not None and not is_staff_of(user, client.agency_id):
            raise AuthenticationFailed("The token's person is not staff of its client's agency.")
        actor = Actor(
            agency=client.agency,
            client=client,
            person=user,
            scopes=frozenset(token.scope.split()),
        )
        request._request.actor = actor
        return user, token


def is_staff_of(user: Any, agency_id: Any) -> bool:
    membership = getattr(user, "membership", None)
    return bool(user.is_active and membership is not None and membership.agency_id == agency_id)
