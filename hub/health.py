"""Liveness and readiness probes (no authentication, no personal data)."""

from collections.abc import Callable
from functools import wraps

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from core.problems import problem_response, unavailable_response


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


# Once every migration was seen applied, this process never asks again: migrations are not
# unapplied under a running server, and reading the migration graph costs a disk read.
_migrated = False


def migrations_pending() -> bool:
    """Whether a migration of this code is not applied to the database yet."""
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return not _migrated


@get_only
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database answers and holds every migration of this code (503 problems
    otherwise: a server over an unmigrated database would answer 500s)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        pending = migrations_pending()
    except DatabaseError:
        # Answered within the pool timeout (hub/settings.py), whatever the outage looks like.
        return unavailable_response()
    if pending:
        return problem_response(
            503, "The database lacks migrations of this version: run manage.py migrate."
        )
    return JsonResponse({"status": "ready", "database": "ok"})
