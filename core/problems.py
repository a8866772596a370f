"""Every error as an RFC 9457 problem (application/problem+json), inside DRF or not."""

import logging
import sys
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import (
    Conflict,
    DomainError,
    Gone,
    IllegalTransition,
    NotAParty,
    PolicyViolation,
    RoleNotPermitted,
    UnknownReference,
)
from core.serializers import TimestampField, rendering

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:referral-hub:problem:"

# Domain exceptions -> (status, problem slug, title). One table; services raise, this maps.
DOMAIN_PROBLEMS: dict[type[DomainError], tuple[int, str, str]] = {
    NotAParty: (404, "not-found", "Not found"),
    RoleNotPermitted: (403, "role-not-permitted", "Your agency may not do this"),
    UnknownReference: (422, "unknown-reference", "Unknown reference"),
    PolicyViolation: (422, "policy-violation", "Refused by the hub's rules"),
    Conflict: (409, "conflict", "Conflict with the current state"),
    Gone: (410, "gone", "Erased under the retention policy"),
    IllegalTransition: (409, "illegal-transition", "This move is not allowed now"),
}

# DRF exceptions -> (problem slug, title).
DRF_PROBLEMS: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.ValidationError: ("validation-error", "The request is not valid"),
    exceptions.ParseError: ("malformed-request", "The request body could not be parsed"),
    exceptions.NotAuthenticated: ("unauthenticated", "Authentication required"),
    exceptions.AuthenticationFailed: ("unauthenticated", "Authentication failed"),
    exceptions.PermissionDenied: ("forbidden", "Forbidden"),
    exceptions.NotFound: ("not-found", "Not found"),
    exceptions.MethodNotAllowed: ("method-not-allowed", "Method not allowed"),
    exceptions.NotAcceptable: ("not-acceptable", "Not acceptable"),
    exceptions.UnsupportedMediaType: ("unsupported-media-type", "Unsupported media type"),
    exceptions.Throttled: ("too-many-requests", "Too many requests"),
}
# Hub-defined API exceptions (hub.api, core.conditional) take their slug from STATUS_PROBLEMS.

STATUS_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Request body too large"),
    422: ("unprocessable", "Unprocessable request"),
    428: ("precondition-required", "Precondition required"),
    500: ("server-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


# How long a client should wait before retrying while the database is unreachable: about the
# time the connection pool takes to notice that it is back (psycopg_pool retries within seconds).
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_DETAIL = "The hub cannot reach its database just now; retry after a few seconds."
# SQLSTATE classes of a connection that failed or a server that is going away, not of a query
# that failed on a healthy server: 08 connection exception, 57P0x operator intervention.
UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def database_unreachable(exc: BaseException | None) -> bool:
    """The error says the database cannot be reached (a 503), not that a query failed (a 500).

    A pool timeout or a refused or broken connection has no SQLSTATE, or one of class 08.
    """
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if not hasattr(cause, "sqlstate"):
        return False  # not PostgreSQL's driver (SQLite's "database is locked" stays a 500)
    sqlstate = cause.sqlstate
    return sqlstate is None or sqlstate.startswith(UNREACHABLE_SQLSTATES)


def unavailable_response() -> JsonResponse:
    response = problem_response(503, UNAVAILABLE_DETAIL)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ProblemJSONRenderer(JSONRenderer):
    """Lets a client that accepts only application/problem+json still be answered."""

    media_type = PROBLEM_CONTENT_TYPE


class ProblemErrorSerializer(serializers.Serializer):
    # One offending field of a validation problem: its dotted path ("" for the whole body) and
    # a message that never quotes the value sent. (A comment, not a docstring: the schema
    # describes the entry inline, without one.)

    field = serializers.CharField()
    message = serializers.CharField()


class ProblemErrors(serializers.ListField):
    """`errors`: the entries, each rendered by ProblemErrorSerializer and documented inline in
    the problem's schema (hub.schema), as it has always been."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=ProblemErrorSerializer(), **kwargs)


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem. It never echoes personal data or database errors."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = ProblemErrors(
        required=False, help_text="For validation problems: one entry per offending field."
    )
    # Extension members (RFC 9457, section 3.2): each declared here, or problem_body refuses it.
    allowed = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="For an illegal transition: the statuses the referral may move to now.",
    )
    referral = serializers.UUIDField(
        required=False,
        help_text="For a second open referral of one man to one programme by one agency (409): "
        "the first, which the caller's agency made.",
    )
    erased_at = TimestampField(
        required=False,
        help_text="For a referral erased under the retention policy (410): when it was erased.",
    )


render_problem = rendering(ProblemSerializer)
EXTENSION_MEMBERS = frozenset(ProblemSerializer().fields) - {"type", "title", "status", "detail"}


def problem_body(
    status_code: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    **members: Any,
) -> dict[str, Any]:
    """The body of a problem (RFC 9457), as ProblemSerializer renders it: `type` is the hub's
    URN for `slug`, `title` and `slug` default to the status's (STATUS_PROBLEMS), `errors` is
    given for a validation problem only, `members` are extension members the serializer
    declares (TypeError for any other: it would be dropped unseen)."""
    undeclared = set(members) - EXTENSION_MEMBERS
    if undeclared:
        raise TypeError(f"Problem members not declared by ProblemSerializer: {sorted(undeclared)}")
    default_slug, default_title = STATUS_PROBLEMS.get(status_code, ("error", "Error"))
    problem: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or default_slug),
        "title": title or default_title,
        "status": status_code,
        "detail": detail,
        **members,
    }
    if errors is not None:
        problem["errors"] = errors
    return render_problem(problem)


def problem_response(status_code: int, detail: str, **kwargs: Any) -> JsonResponse:
    """A problem answered outside DRF (middleware, Django's error handlers, health checks)."""
    return JsonResponse(
        problem_body(status_code, detail, **kwargs),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


# DRF messages that quote the submitted value, by error code: a problem body must never echo
# what was sent (it may be what the partner said).
ECHOING_MESSAGES = {
    "invalid_choice": "Not one of the allowed values.",
    "does_not_exist": "No object has this id.",
    "incorrect_type": "Wrong type.",
    "invalid_pk_value": "Not a valid id.",
}


def safe_message(detail: Any) -> str:
    return ECHOING_MESSAGES.get(getattr(detail, "code", None), str(detail))


def flatten_errors(detail: Any, prefix: str = "") -> Iterator[dict[str, str]]:
    """DRF's nested error dicts and lists as [{"field": "a.b.0.c", "message": ...}]."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" else f"{prefix}.{key}" if prefix else key
            yield from flatten_errors(value, name)
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            for item in detail:
                yield {"field": prefix, "message": safe_message(item)}
        else:
            for index, item in enumerate(detail):
                if item:
                    yield from flatten_errors(item, f"{prefix}.{index}" if prefix else str(index))
    else:
        yield {"field": prefix, "message": safe_message(detail)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, DomainError):
        status_code, slug, title = next(
            value for cls, value in DOMAIN_PROBLEMS.items() if isinstance(exc, cls)
        )
        errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
        body = problem_body(
            status_code, exc.detail, slug=slug, title=title, errors=errors, **exc.extra
        )
        return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)

    if database_unreachable(exc):
        logger.warning("Database unreachable: answering 503", exc_info=exc)
        body = problem_body(503, UNAVAILABLE_DETAIL)
        return Response(
            body,
            status=503,
            content_type=PROBLEM_CONTENT_TYPE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    if isinstance(exc, Http404 | DjangoPermissionDenied):
        # DRF would echo the message of a Django 404, which can name a model; say less.
        exc = exceptions.NotFound() if isinstance(exc, Http404) else exceptions.PermissionDenied()

    # DRF's own handler first: it keeps WWW-Authenticate and Retry-After.
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error", exc_info=exc)
        body = problem_body(500, "The hub could not complete the request.")
        return Response(body, status=500, content_type=PROBLEM_CONTENT_TYPE)

    slug, title = next(
        (value for cls, value in DRF_PROBLEMS.items() if isinstance(exc, cls)),
        STATUS_PROBLEMS.get(response.status_code, ("error", "Error")),
    )
    if isinstance(exc, exceptions.ValidationError):
        errors = list(flatten_errors(exc.detail))
        detail = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
        )
        body = problem_body(response.status_code, detail, slug=slug, title=title, errors=errors)
    else:
        detail = str(getattr(exc, "detail", "")) or title
        body = problem_body(response.status_code, detail, slug=slug, title=title)
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


# Django's own error views, for errors that arise outside DRF.


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(400, "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(403, "You may not do this.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(404, "There is nothing at this address.")


def server_error(request: HttpRequest) -> JsonResponse:
    # Django calls this while handling the exception (outside DRF: the token endpoint,
    # middleware), so the exception in flight says whether the database was unreachable.
    if database_unreachable(sys.exception()):
        return unavailable_response()
    return problem_response(500, "The hub could not complete the request.")
