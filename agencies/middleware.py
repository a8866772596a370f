"""django-auditlog with the acting agency and client recorded on every change."""

from typing import Any

from auditlog.middleware import AuditlogMiddleware
from django.http import HttpRequest


class AgencyAuditlogMiddleware(AuditlogMiddleware):
    """Adds who acted to each change log entry.

    The stock middleware reads `request.user` before DRF authenticates, so API changes would
    carry no actor; the callable here runs when the entry is saved, after authentication.
    """

    def get_extra_data(self, request: HttpRequest) -> dict[str, Any]:
        data = super().get_extra_data(request)
        data["additional_data"] = lambda: acting_on(request)
        return data


def acting_on(request: HttpRequest) -> dict[str, str] | None:
    actor = getattr(request, "actor", None)
    if actor is None:
        return None
    return {
        "agency": str(actor.agency.id),
        "client": actor.client_id,
        "person": str(actor.person.id) if actor.person else None,
        "request_id": getattr(request, "request_id", None),
    }
