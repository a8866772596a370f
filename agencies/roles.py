"""What a person signed in to the web pages may do for their agency: the purposes they may act
for (the first is the one they start with) and the scopes their pages stand on (issue 14, item 1:
"A person acts for their agency with a purpose chosen by their role").

Pure: a table over agency kinds and staff roles, read by `hub.web` and tested exhaustively. The
purposes follow the demo clients' registrations (seed_demo) and DESIGN.md, *Purposes*: a
programme provider delivers programmes; probation, the police and children's services manage
risk (and sit at the MARAC); a court checks compliance with its orders; a victim service works
for the partner's safety. A data-protection officer audits, and nothing else.
"""

from agencies.models import AgencyKind, StaffRole
from agencies.registration import AUDIT_SCOPE, SCOPE_CEILINGS
from core.vocabulary import Purpose

PURPOSES_BY_KIND: dict[str, tuple[Purpose, ...]] = {
    AgencyKind.COURT: (Purpose.COURT_COMPLIANCE,),
    AgencyKind.PROBATION: (Purpose.RISK_MANAGEMENT, Purpose.COURT_COMPLIANCE, Purpose.MARAC),
    AgencyKind.POLICE: (Purpose.RISK_MANAGEMENT, Purpose.MARAC),
    AgencyKind.VICTIM_SERVICE: (Purpose.PARTNER_SAFETY, Purpose.MARAC),
    AgencyKind.PROGRAMME_PROVIDER: (Purpose.PROGRAMME_DELIVERY,),
    AgencyKind.CHILDREN_SERVICES: (Purpose.RISK_MANAGEMENT, Purpose.MARAC),
    AgencyKind.MARAC: (Purpose.MARAC,),
    AgencyKind.HUB_OPERATOR: (),
}


def web_purposes(kind: str, role: str) -> tuple[Purpose, ...]:
    """The purposes a person of this role at an agency of this kind may act for on the web
    pages, the first being their default; () for none."""
    if role == StaffRole.DATA_PROTECTION_OFFICER:
        return (Purpose.AUDIT,)
    return PURPOSES_BY_KIND.get(kind, ())


def web_scopes(kind: str, role: str) -> frozenset[str]:
    """The scopes a person's pages act with: their agency kind's ceiling, `audit:read` only for
    a data-protection officer (agencies.registration)."""
    ceiling = SCOPE_CEILINGS.get(kind, frozenset())
    if role == StaffRole.DATA_PROTECTION_OFFICER:
        return ceiling & {AUDIT_SCOPE, "policies:read"}
    return ceiling - {AUDIT_SCOPE}
