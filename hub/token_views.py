"""`/o/token/` with limits and a record of every failure (issue 12, items 2 and 3).

DOT's token endpoint answers a wrong secret at full speed and records nothing. Here every token
request counts against its client id (`TOKEN_RATE_LIMIT`) and its source address
(`TOKEN_ADDRESS_RATE_LIMIT`), an address that keeps failing authentication is refused for the
rest of the window (`FAILED_REQUEST_RATE_LIMIT`), and each refusal leaves an access record
naming the client id tried and the address, never the secret (a burst folded into one record:
audit.bursts). A refusal by a limit is a 429 problem with Retry-After.
"""

import base64
import binascii
import re
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from oauth2_provider import views as oauth_views

from audit.bursts import record_refused
from core import throttles
from core.context import Channel, Origin
from core.problems import problem_response

# What a client id may look like in a record: DOT's generated ids are 40 such characters.
PLAIN_CLIENT_ID = re.compile(r"^[A-Za-z0-9._~\-]{1,100}$")


def client_id_tried(request: HttpRequest) -> str:
    """The client id a token request names (HTTP Basic, else the form), if it is plain text;
    '?' for anything else, so that no secret or junk sent in its place reaches a record."""
    tried = ""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "?"
        tried = unquote(decoded.partition(":")[0])
    else:
        tried = request.POST.get("client_id", "")
    if not tried:
        return ""
    return tried if PLAIN_CLIENT_ID.match(tried) else "?"


class TokenView(oauth_views.TokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tried = client_id_tried(request)
        origin = Origin.of(request, Channel.API)
        address = origin.address
        try:
            throttles.check("failed", address, throttles.failed_request_rate())
            throttles.take(
                "token-address", address, throttles.Rate.parse(settings.TOKEN_ADDRESS_RATE_LIMIT)
            )
            if tried:
                throttles.take(
                    "token-client", tried, throttles.Rate.parse(settings.TOKEN_RATE_LIMIT)
                )
        except throttles.Limited as limited:
            record_refused(origin=origin, actor=None, status=429, tried=tried)
            response = problem_response(429, str(limited.detail))
            response["Retry-After"] = str(limited.wait)
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code >= 400:
            record_refused(origin=origin, actor=None, status=response.status_code, tried=tried)
            throttles.count("failed", address, throttles.failed_request_rate())
        return response
