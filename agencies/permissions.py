"""Permissions: small classes, one rule each, denying by default."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from agencies.actors import actor_of


def required_scopes_of(view: Any) -> list[str] | None:
    """The scopes a view's current action needs.

    A view declares `required_scopes`, either a list, or a dict keyed by HTTP method (or
    viewset action); a view or method that declares nothing is refused, never open.
    """
    declared = getattr(view, "required_scopes", None)
    if isinstance(declared, dict):
        key = getattr(view, "action", None) or view.request.method.lower()
        if key not in declared:
            key = view.request.method.lower()
        declared = declared.get(key)
    return None if declared is None else list(declared)


class HasRequiredScopes(BasePermission):
    """The token is valid, its agency resolved, and it carries every scope the action needs."""

    message = "Your token does not carry the scope this request needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(request._request, "actor", None) is None:
            return False
        if not hasattr(view, request.method.lower()):
            # A method the view does not offer: let dispatch answer 405 with its Allow header.
            return True
        needed = required_scopes_of(view)
        if needed is None:
            return False
        missing = set(needed) - actor_of(request).scopes
        if missing:
            self.message = f"This request needs the scope {' '.join(sorted(missing))}."
            return False
        return True
