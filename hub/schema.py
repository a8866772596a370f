"""OpenAPI description: scopes per operation, the hub's headers, and every problem response."""

import inspect
from typing import Any

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_array_type
from drf_spectacular.utils import OpenApiParameter

from agencies.permissions import alternatives_of, required_scopes_of
from core.problems import ProblemSerializer
from core.vocabulary import PURPOSE_VALUES

ERROR_DESCRIPTIONS = {
    "400": "Malformed request: bad JSON, wrong types, unknown fields, an unknown `X-Purpose`.",
    "401": "Missing, invalid, expired or revoked token.",
    "403": "The token lacks a scope this operation needs, the agency's role may not act, or "
    "`X-Purpose` names a purpose your client is not registered for (`audit` needs `audit:read`).",
    "404": "Not found, or not visible to your agency (never distinguished).",
    "406": "No acceptable representation (this API answers JSON).",
    "413": "Request body too large.",
    "415": "Unsupported media type (send application/json).",
    "422": "Well-formed, but refused by a rule of the hub (the problem says which).",
    "429": "Rate limit exceeded (per client, or per address after repeated failed "
    "authentication); see Retry-After.",
    "500": "The hub could not complete the request.",
    "503": "The database is unreachable for now: retry after `Retry-After` seconds.",
    "409": "Conflicts with the current state (the problem says how).",
    "410": "Retention erased this referral's personal data; only its tombstone remains.",
    "412": "If-Match does not match: it changed since you read it.",
    "428": "If-Match is required: send the ETag of your last read.",
}

REQUEST_ID_HEADER = OpenApiParameter(
    "X-Request-ID",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Your correlation id (letters, digits, `._:-`, up to 128), echoed back; "
    "the hub makes one when you give none.",
)
REQUEST_ID_RESPONSE_HEADER = OpenApiParameter(
    "X-Request-ID",
    location=OpenApiParameter.HEADER,
    response=True,
    description="The request's correlation id.",
)
IF_MATCH_HEADER = OpenApiParameter(
    "If-Match",
    location=OpenApiParameter.HEADER,
    required=True,
    description="The ETag of your last read: every change (PATCH) requires it.",
)
PURPOSE_HEADER = OpenApiParameter(
    "X-Purpose",
    location=OpenApiParameter.HEADER,
    required=False,
    enum=PURPOSE_VALUES,
    description="Why you ask; defaults to your client's default purpose. Only a purpose your "
    "client is registered for (else 403). What you may see depends on it.",
)


class ProblemErrorsInline(OpenApiSerializerFieldExtension):
    """A problem's `errors` as an array of inline objects mapped from ProblemErrorSerializer, not
    a component of their own: the committed schema has described them inline from the start, and
    a generated client names its class after that (it only grows)."""

    target_class = "core.problems.ProblemErrors"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return build_array_type(auto_schema._map_serializer(self.target.child, direction))


class AgencyTokenScheme(DjangoOAuthToolkitScheme):
    """Lists each operation's scopes, read from the same declaration the permission enforces."""

    target_class = "agencies.authentication.AgencyTokenAuthentication"
    priority = 1

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list[str]]]:
        needed = required_scopes_of(auto_schema.view) or []
        return [{self.name: scopes} for scopes in alternatives_of(needed)]


# Operations without a summary of their own (`extend_schema(summary=...)`) on a plain collection
# (/api/v1/programmes/) or item (/api/v1/programmes/{programme_id}/) path.
COLLECTION_SUMMARIES = {"GET": "List {plural}", "POST": "Create {a} {singular}"}
ITEM_SUMMARIES = {
    "GET": "Read {a} {singular}",
    "PUT": "Replace {a} {singular}",
    "PATCH": "Change {a} {singular}",
    "DELETE": "Delete {a} {singular}",
}


def singular_of(plural: str) -> str:
    if plural.endswith("ies"):
        return plural.removesuffix("ies") + "y"
    return plural.removesuffix("s")


class HubAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        # /api/v1/referrals/{id}/ -> "referrals"
        return [self.path.removeprefix("/api/v1/").split("/")[0]]

    def get_summary(self) -> str | None:
        """Every operation has a summary (generated clients document their methods with it):
        "List agencies", "Create a programme", "Read a programme"... by the path's shape, else the
        first sentence of the view's docstring. `extend_schema(summary=...)` takes precedence."""
        parts = self.path.removeprefix("/api/v1/").strip("/").split("/")
        plural = parts[0].replace("-", " ")
        singular = singular_of(plural)
        words = {
            "plural": plural,
            "singular": singular,
            "a": "an" if singular[:1] in tuple("aeiou") else "a",
        }
        if len(parts) == 1:
            template = COLLECTION_SUMMARIES.get(self.method)
        elif len(parts) == 2 and parts[1].startswith("{"):
            template = ITEM_SUMMARIES.get(self.method)
        else:
            template = None
        if template:
            return template.format(**words)
        doc = " ".join((inspect.getdoc(self.view) or "").split())
        first = doc.split(". ")[0].rstrip(".")
        return first or f"{self.method} {self.path}"

    def get_override_parameters(self) -> list[Any]:
        extra = [REQUEST_ID_HEADER, REQUEST_ID_RESPONSE_HEADER]
        implied = getattr(self.view, "purpose_implied", None)
        if implied:
            extra.append(
                OpenApiParameter(
                    "X-Purpose",
                    location=OpenApiParameter.HEADER,
                    required=False,
                    enum=[implied],
                    description=f"This endpoint serves one purpose, `{implied}`, implied.",
                )
            )
        elif getattr(self.view, "touches_personal_data", False) or self.method != "GET":
            extra.append(PURPOSE_HEADER)
        if self.method == "PATCH":
            extra.append(IF_MATCH_HEADER)
        return [*super().get_override_parameters(), *extra]

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        problem = self.resolve_serializer(ProblemSerializer, "response")
        codes = ["400", "401", "403", "406", "429", "500", "503"]
        if "{" in self.path or getattr(self.view, "touches_personal_data", False):
            # A path's object, or a referral the body names, may not be visible to the caller.
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415", "422"]
        if self.method == "PATCH":
            codes += ["412", "428"]
        extra = getattr(self.view, "problem_statuses", {}).get(self.method.lower(), ())
        codes += [str(code) for code in extra]
        for code in sorted(set(codes)):
            responses.setdefault(
                code,
                {
                    "description": ERROR_DESCRIPTIONS[code],
                    "headers": self._get_response_headers_for_code(code, direction),
                    "content": {"application/problem+json": {"schema": problem.ref}},
                },
            )
        return responses


def forbid_unknown_request_fields(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Request bodies say `additionalProperties: false`: the hub refuses unknown keys (400)."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    return result
