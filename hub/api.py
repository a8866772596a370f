"""The request path every API view shares, on DRF's own extension points.

DRF's `APIView.initial` runs content negotiation (a 406 deferred: `HubContentNegotiation`),
authentication (an address that keeps failing is refused first: `AgencyTokenAuthentication`),
scopes (401, then 403) and the client's throttle; then `HubViewMixin.initial` checks the body's
size, raises the deferred 406 and builds the request's `RequestContext` (purpose, emergency
justification). The handler parses, calls one use case and responds (`respond`); the use case
writes a served request's access record; `finalize_response` writes a refused or failed one
(`audit.bursts.record_refused`).
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework import status
from rest_framework.exceptions import (
    APIException,
    NotAcceptable,
    ParseError,
    PermissionDenied,
    ValidationError,
)
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.actors import Actor
from agencies.registration import AUDIT_SCOPE
from audit.bursts import record_refused
from audit.services import AccessDetails
from core import throttles
from core.context import Channel, Origin, RequestContext, Served, client_ip
from core.problems import PROBLEM_CONTENT_TYPE, ProblemJSONRenderer, database_unreachable
from core.vocabulary import PURPOSES, Purpose
from hub.middleware import body_too_large_detail, declared_body_length

PURPOSE_HEADER = "X-Purpose"
EMERGENCY_HEADER = "X-Emergency-Justification"
MIN_JUSTIFICATION_LENGTH = 10
# DESIGN.md, rule 4: an emergency justification is honoured on a single referral's read, and
# on nothing else (a write under an emergency would release what the write answers with).
EMERGENCY_METHODS = frozenset({"GET"})


def source_address(request: HttpRequest) -> str:
    """The address a request came from, as the access record names it (NUM_PROXIES-aware)."""
    return client_ip(request, settings.NUM_PROXIES) or ""


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def check_body_size(request: Request) -> None:
    """Before anything parses the body (DRF reads it lazily, on first use of request.data)."""
    length = declared_body_length(request._request)
    if length is None:
        raise ParseError("Content-Length is not a number.")
    if length > settings.MAX_REQUEST_BODY_BYTES:
        raise PayloadTooLarge(body_too_large_detail())


def header_error(header: str, message: str) -> ValidationError:
    return ValidationError({header: [message]})


def resolve_purpose(request: Request, actor: Actor | None, *, required: bool) -> str:
    """X-Purpose, else the client's default purpose (DESIGN.md, *The disclosure decision*).

    Unknown is a 400, and so is none at all on a request that touches personal data; a purpose
    the client is not registered for (`Client.purposes`), or `audit` on a token without
    `audit:read`, is a 403: purpose limitation does not rest on the integrator's honesty.
    """
    given = request.headers.get(PURPOSE_HEADER)
    if given is not None:
        if given not in PURPOSES:
            allowed = ", ".join(p.value for p in Purpose)
            raise header_error(PURPOSE_HEADER, f"Unknown purpose; use one of: {allowed}.")
        if actor is not None:
            check_purpose_allowed(actor, given)
        return given
    default = actor.client.default_purpose if actor else ""
    if required and not default:
        raise header_error(
            PURPOSE_HEADER, "This request touches personal data: declare its purpose."
        )
    return default


def check_purpose_allowed(actor: Actor, purpose: str) -> None:
    """403 unless the actor's client is registered for `purpose` (and holds `audit:read`
    for `audit`)."""
    registered = actor.client.purpose_list
    if purpose not in registered:
        may = ", ".join(registered) or "none"
        raise PermissionDenied(
            f"This client is not registered for the purpose {purpose}; it may declare: {may}."
        )
    if purpose == Purpose.AUDIT and AUDIT_SCOPE not in actor.scopes:
        raise PermissionDenied(f"The purpose audit needs a token with {AUDIT_SCOPE}.")


def implied_purpose(request: Request, purpose: str) -> str:
    """Endpoints that exist for one purpose (the audit endpoints imply `audit`)."""
    given = request.headers.get(PURPOSE_HEADER)
    if given is not None and given != purpose:
        raise header_error(PURPOSE_HEADER, f"This endpoint serves one purpose: {purpose}.")
    return purpose


def read_emergency_justification(request: Request, *, honoured: bool) -> str:
    """The emergency justification, honoured only where a view says so (a single read)."""
    given = request.headers.get(EMERGENCY_HEADER)
    if given is None:
        return ""
    if not honoured:
        raise header_error(
            EMERGENCY_HEADER,
            "An emergency justification is honoured only on a single referral's read.",
        )
    if len(given.strip()) < MIN_JUSTIFICATION_LENGTH:
        raise header_error(
            EMERGENCY_HEADER,
            f"Give a justification of at least {MIN_JUSTIFICATION_LENGTH} characters.",
        )
    return given.strip()


class HubContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, whose 406 waits until the caller is known: DRF negotiates before it
    authenticates, and an unauthenticated caller must hear 401 (and an unauthorised one 403)
    before anything about representations. `HubViewMixin.initial` raises it."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable as exc:
            request.not_acceptable = exc
            return renderers[0], renderers[0].media_type


def context_of(request: Request) -> RequestContext:
    """The request's context, built once by `HubViewMixin.initial`."""
    return request.hub_context


class HubViewMixin:
    """Authentication and scopes before anything else; purposes; access records.

    A view with `touches_personal_data = True` requires a purpose, and each of its handlers
    calls a use case that writes the served request's access record inside its transaction
    (`Served.recorded`). Every refused or failed request, personal data or not, is recorded by
    `finalize_response` in a transaction of its own: a DPO reviews denied attempts.
    """

    touches_personal_data = False
    # The methods on which this view honours X-Emergency-Justification: per method, so that
    # honouring a read never honours the writes of the same path; any other request with the
    # header is a 400.
    honours_emergency_justification: frozenset[str] = frozenset()
    # The one purpose an endpoint serves, if it serves only one.
    purpose_implied: str | None = None
    content_negotiation_class = HubContentNegotiation

    request: Request
    kwargs: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        honoured = cls.honours_emergency_justification
        if not isinstance(honoured, frozenset) or not honoured <= EMERGENCY_METHODS:
            raise TypeError(
                f"{cls.__name__}.honours_emergency_justification is a frozenset of methods "
                f"among {sorted(EMERGENCY_METHODS)}."
            )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        check_body_size(request)
        not_acceptable = getattr(request, "not_acceptable", None)
        if not_acceptable is not None:
            raise not_acceptable
        request.hub_context = self.context_for(request)

    def context_for(self, request: Request) -> RequestContext:
        """Purpose and emergency justification, checked (400 or 403), with the actor."""
        actor = request._request.actor
        if self.purpose_implied:
            purpose = implied_purpose(request, self.purpose_implied)
        else:
            # OPTIONS says what the endpoint allows and touches no personal data.
            required = self.touches_personal_data and request.method != "OPTIONS"
            purpose = resolve_purpose(request, actor, required=required)
        # A refused request's record names the purpose it declared, if that much was valid.
        request.declared_purpose = purpose
        justification = read_emergency_justification(
            request, honoured=request.method in self.honours_emergency_justification
        )
        return RequestContext(
            actor=actor,
            purpose=purpose,
            justification=justification,
            origin=Origin.of(request._request, Channel.API),
        )

    @property
    def context(self) -> RequestContext:
        return context_of(self.request)

    @property
    def actor(self) -> Actor:
        return self.context.actor

    def respond(self, served: Served, *, location: str | None = None) -> Response:
        """The response for what a use case served: its body, status and headers (`location`:
        where a created resource lives)."""
        headers = {}
        if location is not None:
            headers["Location"] = location
        if served.etag is not None:
            headers["ETag"] = served.etag
        response = Response(served.body, status=served.status, headers=headers)
        response.access_recorded = served.recorded
        return response

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """What the endpoint allows, in the Allow header; no body, no record read.

        DRF's default would describe the serializers and, for PUT, read the object itself.
        """
        return Response(status=status.HTTP_204_NO_CONTENT)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)  # type: ignore[misc]
        # With the database unreachable its record cannot be written: trying would only hold
        # the 503 for another pool timeout (the warning logged by core.problems stands in).
        response.database_unreachable = database_unreachable(exc)
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and response.status_code >= 400:
            # Errors are problems whatever the Accept header asked for.
            request.accepted_renderer = ProblemJSONRenderer()
            request.accepted_media_type = PROBLEM_CONTENT_TYPE
        elif isinstance(getattr(request, "accepted_renderer", None), ProblemJSONRenderer):
            # A success is never a problem document: a client that accepts only problems
            # (to be answered at all) gets its success as plain JSON. RFC 9110 12.5.1 lets a
            # server disregard Accept rather than answer 406.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        served = response.status_code < 400 and request.method != "OPTIONS"
        recorded = getattr(response, "access_recorded", False)
        if self.touches_personal_data and served and not recorded:
            raise RuntimeError(f"{type(self).__name__} served personal data unrecorded.")
        unreachable = getattr(response, "database_unreachable", False)
        if response.status_code >= 400 and not unreachable:
            self.record_refusal(request, response.status_code)
        if response.status_code == status.HTTP_401_UNAUTHORIZED:
            throttles.count(
                "failed", source_address(request._request), throttles.failed_request_rate()
            )
        if self.touches_personal_data:
            # DESIGN.md, *Errors and HTTP conventions*: personal data is never kept by a cache
            # (a browser's, a proxy's), whatever the status.
            response["Cache-Control"] = "no-store"
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]

    def record_refusal(self, request: Request, status_code: int) -> None:
        """Who tried what: a refused request about a referral is found by that referral."""
        tried = getattr(self, "kwargs", {}).get("referral_id")
        # The context's origin once `initial` built it; a request refused before that (no
        # token, no scope, no valid purpose) has only its own.
        context = getattr(request, "hub_context", None)
        record_refused(
            origin=context.origin if context else Origin.of(request._request, Channel.API),
            actor=getattr(request._request, "actor", None),
            status=status_code,
            purpose=getattr(request, "declared_purpose", ""),
            details=AccessDetails(referrals=[tried] if tried else []),
        )
