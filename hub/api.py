"""The request path every API view shares.

token -> acting agency -> scope check (401, then 403, before anything else) -> content
negotiation -> purpose -> view -> access record.
"""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, PermissionDenied, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.actors import Actor, actor_of
from agencies.registration import AUDIT_SCOPE
from audit.bursts import BURST_STATUSES, refusal_record
from audit.services import AccessDetails, access_record_write, client_ip
from hub import throttles
from hub.middleware import body_too_large_detail, declared_body_length
from hub.problems import PROBLEM_CONTENT_TYPE, ProblemJSONRenderer, database_unreachable
from sharing_policies.vocabulary import PURPOSES, Purpose

PURPOSE_HEADER = "X-Purpose"
EMERGENCY_HEADER = "X-Emergency-Justification"
MIN_JUSTIFICATION_LENGTH = 10
# DESIGN.md, rule 4: an emergency justification is honoured on a single referral's read, and
# on nothing else (a write under an emergency would release what the write answers with).
EMERGENCY_METHODS = frozenset({"GET"})


def source_address(request: HttpRequest) -> str:
    """The address a request came from, as the access record names it (NUM_PROXIES-aware)."""
    return client_ip(request, settings.NUM_PROXIES) or ""


def failed_request_rate() -> throttles.Rate:
    return throttles.Rate.parse(settings.FAILED_REQUEST_RATE_LIMIT)


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


class HubViewMixin:
    """Authentication and scopes before anything else; purposes; access records.

    A view with `touches_personal_data = True` requires a purpose and writes one access record
    per request: `record_access()` inside its transaction when it serves, or, if it never got
    that far, a refused or failed record in a transaction of its own. Every API view records
    its refused and failed requests, personal data or not: a DPO reviews denied attempts.
    """

    touches_personal_data = False
    # The methods on which this view honours X-Emergency-Justification: per method, so that
    # honouring a read never honours the writes of the same path; any other request with the
    # header is a 400.
    honours_emergency_justification: frozenset[str] = frozenset()
    # The one purpose an endpoint serves, if it serves only one.
    purpose_implied: str | None = None

    request: Request
    purpose: str
    justification: str
    access: AccessDetails

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        honoured = cls.honours_emergency_justification
        if not isinstance(honoured, frozenset) or not honoured <= EMERGENCY_METHODS:
            raise TypeError(
                f"{cls.__name__}.honours_emergency_justification is a frozenset of methods "
                f"among {sorted(EMERGENCY_METHODS)}."
            )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.access = AccessDetails()
        self.purpose = ""
        self.justification = ""
        self._access_recorded = False
        self.format_kwarg = self.get_format_suffix(**kwargs)
        # An address that keeps failing authentication is refused before it may try again.
        throttles.check("failed", source_address(request._request), failed_request_rate())
        self.perform_authentication(request)
        self.check_permissions(request)
        self.check_throttles(request)
        check_body_size(request)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(
            request
        )
        request.version, request.versioning_scheme = self.determine_version(
            request, *args, **kwargs
        )
        actor = self.actor
        if self.purpose_implied:
            self.purpose = implied_purpose(request, self.purpose_implied)
        else:
            # OPTIONS says what the endpoint allows and touches no personal data.
            required = self.touches_personal_data and request.method != "OPTIONS"
            self.purpose = resolve_purpose(request, actor, required=required)
        self.justification = read_emergency_justification(
            request, honoured=request.method in self.honours_emergency_justification
        )

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """What the endpoint allows, in the Allow header; no body, no record read.

        DRF's default would describe the serializers and, for PUT, read the object itself.
        """
        return Response(status=status.HTTP_204_NO_CONTENT)

    @property
    def actor(self) -> Actor:
        return actor_of(self.request)

    def record_access(self, status: int) -> None:
        """The served request's access record; call inside the transaction of its data."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("A served request's record belongs in its data's transaction.")
        self._write_access_record(status)
        self._access_recorded = True

    def _write_access_record(self, status: int) -> None:
        access_record_write(
            request=self.request._request,
            actor=getattr(self.request._request, "actor", None),
            status=status,
            purpose=getattr(self, "purpose", ""),
            justification=getattr(self, "justification", ""),
            details=getattr(self, "access", None),
            num_proxies=settings.NUM_PROXIES,
        )

    def handle_exception(self, exc: Exception) -> Response:
        # Whatever was recorded inside the failed transaction was rolled back with it, and
        # nothing was disclosed: the refused record names what was tried, not what was seen.
        self._access_recorded = False
        access = getattr(self, "access", None)
        if access is not None:
            access.decisions.clear()
        # With the database unreachable its record cannot be written: trying would only hold
        # the 503 for another pool timeout (the warning logged by hub.problems stands in).
        self._database_unreachable = database_unreachable(exc)
        return super().handle_exception(exc)

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
        recorded = getattr(self, "_access_recorded", False)
        served = response.status_code < 400 and request.method != "OPTIONS"
        if self.touches_personal_data and not recorded and served:
            raise RuntimeError(f"{type(self).__name__} served personal data unrecorded.")
        unreachable = getattr(self, "_database_unreachable", False)
        if not recorded and not unreachable and response.status_code >= 400:
            # Who tried what: a refused request about a referral is found by that referral.
            tried = getattr(self, "kwargs", {}).get("referral_id")
            access = getattr(self, "access", None)
            if tried and access is not None and tried not in access.referrals:
                access.referrals.append(tried)
            if response.status_code in BURST_STATUSES:
                # No accountable caller, or a throttled one: a flood is folded (audit.bursts).
                refusal_record(
                    request=self.request._request,
                    actor=getattr(self.request._request, "actor", None),
                    status=response.status_code,
                    purpose=getattr(self, "purpose", ""),
                    details=access,
                )
            else:
                with transaction.atomic():
                    self._write_access_record(response.status_code)
            self._access_recorded = True
        if response.status_code == status.HTTP_401_UNAUTHORIZED:
            throttles.count("failed", source_address(request._request), failed_request_rate())
        if self.touches_personal_data:
            # DESIGN.md, *Errors and HTTP conventions*: personal data is never kept by a cache
            # (a browser's, a proxy's), whatever the status.
            response["Cache-Control"] = "no-store"
        return super().finalize_response(request, response, *args, **kwargs)
