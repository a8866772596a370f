"""Permissions: small classes, one rule each, denying by default."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from agencies.actors import actor_of


class AnyOf(tuple):
    """Alternative sets of scopes: a token needs every scope of at least one of them."""

    def __new__(cls, *alternatives: list[str]) -> "AnyOf":
        return super().__new__(cls, tuple(tuple(a) for a in alternatives))


def alternatives_of(needed: "list[str] | AnyOf") -> list[list[str]]:
    return [list(a) for a in needed] if isinstance(needed, AnyOf) else [list(needed)]


def required_scopes_of(view: Any) -> "list[str] | AnyOf | None":
    """The scopes a view's current action needs.

    A view declares `required_scopes`, either a list (or `AnyOf` of lists), or a dict of them
    keyed by HTTP method (or viewset action); a view or method that declares nothing is
    refused, never open.

    HEAD is GET without the body, so it needs GET's scopes. OPTIONS reveals only which methods
    the endpoint allows, so any valid token may ask a view that declares its scopes.
    """
    declared = getattr(view, "required_scopes", None)
    method = view.request.method.lower()
    if method == "options":
        return None if declared is None else []
    if method == "head":
        method = "get"
    if isinstance(declared, dict):
        key = getattr(view, "action", None) or method
        if key not in declared:
            key = method
        declared = declared.get(key)
    if declared is None or isinstance(declared, AnyOf):
        return declared
    return list(declared)


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
        held = actor_of(request).scopes
        alternatives = alternatives_of(needed)
        if any(set(scopes) <= held for scopes in alternatives):
            return True
        wanted = " or ".join(" ".join(sorted(a)) for a in alternatives)
        self.message = f"This request needs the scope {wanted}."
        return False
