"""What a client may be registered with: scopes within its agency kind's ceiling, and the
purposes it may declare (issue 12, item 1; DESIGN.md, *Agencies and authentication* and
*The disclosure decision*: "A client is registered with the purposes it may declare (its default
among them); any other purpose is a 403, and `audit` needs `audit:read`").

Pure: the same rule serves `client_create` (the command line, `seed_demo`) and the admin.
"""

from dataclasses import dataclass

from django.conf import settings

from agencies.models import AgencyKind
from core.vocabulary import PURPOSES, Purpose

ALL_SCOPES: frozenset[str] = frozenset(settings.SCOPES)
AUDIT_SCOPE = "audit:read"

# A party to referrals (a referrer, a provider, a partner service, an observer) reads them,
# writes its own moves, reports and contact attempts, records consents, publishes agreements
# over the data it supplies, and has a DPO. The hub operator is a party to no referral: it
# publishes agreements and audits, and is refused every referral and consent scope.
SCOPE_CEILINGS: dict[str, frozenset[str]] = {
    **{kind.value: ALL_SCOPES for kind in AgencyKind if kind != AgencyKind.HUB_OPERATOR},
    AgencyKind.HUB_OPERATOR.value: frozenset({"policies:read", "policies:write", AUDIT_SCOPE}),
}


@dataclass(frozen=True)
class Registration:
    """A client's scopes and the purposes it may declare, sorted; its default purpose or ''."""

    scopes: tuple[str, ...]
    purposes: tuple[str, ...]
    default_purpose: str


class RegistrationFault(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def registration_for(
    *, kind: str, scopes: list[str], purposes: list[str], default_purpose: str = ""
) -> Registration:
    """The registration of a client of an agency of `kind`, or RegistrationFault(field, message).

    Scopes: known, at least one, within the kind's ceiling (`SCOPE_CEILINGS`). Purposes: known;
    the default purpose is added to them when not named; `audit` only with `audit:read`, and a
    client holding `audit:read` may always declare `audit` (the audit endpoints imply it).
    """
    unknown = sorted(set(scopes) - ALL_SCOPES)
    if unknown:
        raise RegistrationFault("scopes", f"Unknown scope(s): {', '.join(unknown)}.")
    if not scopes:
        raise RegistrationFault("scopes", "A client needs at least one scope.")
    ceiling = SCOPE_CEILINGS.get(kind, frozenset())
    beyond = sorted(set(scopes) - ceiling)
    if beyond:
        raise RegistrationFault(
            "scopes",
            f"An agency of kind {kind} may not hold: {', '.join(beyond)} "
            f"(its ceiling: {', '.join(sorted(ceiling)) or 'none'}).",
        )
    declared = set(purposes) | ({default_purpose} if default_purpose else set())
    unknown = sorted(declared - set(PURPOSES))
    if unknown:
        raise RegistrationFault("purposes", f"Unknown purpose(s): {', '.join(unknown)}.")
    if AUDIT_SCOPE in scopes:
        declared.add(Purpose.AUDIT.value)
    elif Purpose.AUDIT in declared:
        raise RegistrationFault(
            "purposes", f"Only a client holding {AUDIT_SCOPE} may declare audit."
        )
    return Registration(
        scopes=tuple(sorted(set(scopes))),
        purposes=tuple(sorted(declared)),
        default_purpose=default_purpose,
    )
