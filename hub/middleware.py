"""Request-wide conventions that hold before any view runs."""

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.problems import problem_response

# A caller's request id is echoed only when it is short and plain; otherwise the hub makes one.
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The request id in force (django-auditlog's correlation id, see AUDITLOG_CID_GETTER)."""
    return request_id_var.get()


class RequestIdMiddleware:
    """Every response carries X-Request-ID, echoing the caller's where it is safe to."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if SAFE_REQUEST_ID.match(given) else str(uuid.uuid4())
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


def declared_body_length(request: HttpRequest) -> int | None:
    """The request's Content-Length, or None when it is not a number."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or "0")
    except ValueError:
        return None


def body_too_large_detail() -> str:
    return f"The request body is larger than {settings.MAX_REQUEST_BODY_BYTES} bytes."


class BodySizeLimitMiddleware:
    """Refuses an oversized body with 413 before anything reads it, outside the API.

    DRF's parsers read the stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never
    applies to JSON bodies. API views check the same limit themselves, after authentication
    (401 and 403 come first) and with an access record (hub.api).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            return self.get_response(request)
        length = declared_body_length(request)
        if length is None:
            return problem_response(400, "Content-Length is not a number.")
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return problem_response(413, body_too_large_detail())
        return self.get_response(request)
