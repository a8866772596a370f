"""Liveness and readiness probes (no authentication, no personal data)."""

from collections.abc import Callable
from functools import wraps

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

from hub.problems import problem_response, unavailable_response


def get_only(view: Callable[[HttpRequest], JsonResponse]) -> Callable[[HttpRequest], JsonResponse]:
    """Like Django's require_GET, but the 405 is a problem too."""

    @wraps(view)
    def wrapped(request: HttpRequest) -> JsonResponse:
        if request.method not in ("GET", "HEAD"):
            response = problem_response(405, f"Method {request.method} is not allowed here.")
            response["Allow"] = "GET, HEAD"
            return response
        return view(request)

    return wrapped


@get_only
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@get_only
def readyz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        # Answered within the pool timeout (hub/settings.py), whatever the outage looks like.
        return unavailable_response()
    return JsonResponse({"status": "ready", "database": "ok"})
