"""DRF authentication: a valid token acts for its client's agency, and for nothing else."""

import copy
from typing import Any

from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from agencies.actors import Actor
from core import throttles
from core.context import client_ip


class AgencyTokenAuthentication(OAuth2Authentication):
    """Bearer tokens from /o/token/; resolves the acting agency once, on the request."""

    www_authenticate_realm = "referral-hub"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        # An address that keeps failing authentication is refused before it may try again
        # (429, even with a valid token: core.throttles, FAILED_REQUEST_RATE_LIMIT).
        address = client_ip(request._request, settings.NUM_PROXIES) or ""
        throttles.check("failed", address, throttles.failed_request_rate())
        headers_only = without_body(request._request)
        result = super().authenticate(headers_only)
        # For the WWW-Authenticate challenge (error="invalid_token" and the like).
        request._request.oauth2_error = getattr(headers_only, "oauth2_error", {})
        if result is None:
            return None
        user, token = result
        client = token.application
        if client is None or not client.active or not client.agency.active:
            # An inactive client, or a client of an inactive agency: its tokens stop working at
            # once (they are revoked on deactivation too: agencies.revocation).
            raise AuthenticationFailed("This client, or its agency, is not active.")
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


def without_body(request: HttpRequest) -> HttpRequest:
    """The request as DOT should see it: headers only.

    DOT reads `request.POST`, which parses a form or multipart body; a malformed one would
    answer 400 or 500 before the 401 or 403. Tokens never travel in a body here (RFC 9700).
    """
    headers_only = copy.copy(request)
    headers_only._post, headers_only._files = QueryDict(), MultiValueDict()
    return headers_only


def is_staff_of(user: Any, agency_id: Any) -> bool:
    membership = getattr(user, "membership", None)
    return bool(user.is_active and membership is not None and membership.agency_id == agency_id)
