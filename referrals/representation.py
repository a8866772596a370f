"""A referral as one agency may see it: built from the disclosure decision, category by category.

Only disclosed categories are ever read from the referral, so a withheld category cannot leak
through a forgotten `del`. Keys follow DESIGN.md's body.
"""

from collections.abc import Callable
from datetime import date
from typing import Any

from django.utils import timezone

from core.serializers import timestamp
from core.vocabulary import Category
from referrals.models import Referral, Report
from referrals.selectors import parties_of, updated_at_seen
from referrals.serializers import age_on
from sharing_policies.decision import Decision
from sharing_policies.naming import Naming, may_name_partner_service, naming_in_referral


def referral_naming(referral: Referral, decision: Decision) -> Naming:
    """The naming rule (sharing_policies.naming) for the reader this decision was made for."""
    return naming_in_referral(parties=parties_of(referral), decision=decision)


def admin(referral: Referral, decision: Decision) -> dict[str, Any]:
    """referral.admin, with `updated_at` as the reader's own: the last change it may see."""
    return {
        "id": str(referral.id),
        "status": referral.status,
        "referrer": str(referral.referrer_id),
        "provider": str(referral.provider_id),
        "observers": sorted(str(a.id) for a in referral.observers.all()),
        "programme": str(referral.programme_id),
        "created_at": timestamp(referral.created_at),
        "updated_at": timestamp(updated_at_seen(referral, decision)),
    }


def subject_identity(referral: Referral, decision: Decision) -> dict[str, Any]:
    return {"id": str(referral.subject_id), **referral.subject_identity}


def partner_identity(referral: Referral, decision: Decision) -> dict[str, Any] | None:
    if referral.partner_id is None:
        return None
    return {"id": str(referral.partner_id), **(referral.partner_identity or {})}


def partner_disclosures(referral: Referral, decision: Decision) -> list[dict[str, Any]]:
    visible_from = decision.disclosure_entries_from
    naming = referral_naming(referral, decision)
    return [
        {
            "id": str(entry.id),
            "supplier": naming.agency(entry.supplier_id),
            "recorded_at": timestamp(entry.recorded_at),
            **({"disclosed_on": entry.disclosed_on.isoformat()} if entry.disclosed_on else {}),
            "kind": entry.kind,
            **entry.details,
            "summary": entry.summary,
        }
        for entry in referral.disclosures.all()
        if visible_from is not None and entry.supplier_id in visible_from
    ]


def render_report(report: Report) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "kind": report.kind,
        "written_at": timestamp(report.written_at),
        **report.content,
    }


def programme_progress(referral: Referral, decision: Decision) -> dict[str, Any]:
    return {"reports": [render_report(report) for report in referral.reports.all()]}


def children(referral: Referral, decision: Decision) -> list[Any]:
    """The children, each one's age as of today where its date of birth is known."""
    if not isinstance(referral.children, list):
        return referral.children or []
    today = timezone.localdate()
    return [child_today(child, today) for child in referral.children]


def child_today(child: Any, today: date) -> Any:
    born = child.get("date_of_birth") if isinstance(child, dict) else None
    try:
        return {**child, "age": age_on(date.fromisoformat(born), today)} if born else child
    except (TypeError, ValueError):  # not a date (stored before dates were checked)
        return child


# category -> (path in the body, how to read it). referral.admin is the top level.
RENDERERS: dict[Category, tuple[tuple[str, ...], Callable[[Referral, Decision], Any]]] = {
    Category.SUBJECT_IDENTITY: (("subject", "identity"), subject_identity),
    Category.SUBJECT_CONTACT: (("subject", "contact"), lambda r, d: r.subject_contact),
    Category.OFFENCE: (("offence",), lambda r, d: r.offence),
    Category.RISK: (("risk",), lambda r, d: r.risk),
    Category.PROGRAMME_PROGRESS: (("programme_progress",), programme_progress),
    Category.PARTNER_IDENTITY: (("partner", "identity"), partner_identity),
    Category.PARTNER_CONTACT: (("partner", "contact"), lambda r, d: r.partner_contact),
    Category.PARTNER_DISCLOSURES: (("partner", "disclosures"), partner_disclosures),
    Category.CHILDREN: (("children",), children),
}


def render_referral(referral: Referral, decision: Decision) -> dict[str, Any]:
    """The caller's minimised view: every disclosed category's key, and no withheld one."""
    body = admin(referral, decision)
    if may_name_partner_service(decision):
        naming = referral_naming(referral, decision)
        body["partner_service"] = naming.agency(referral.partner_service_id)
    for category, (path, read) in RENDERERS.items():
        if not decision.sees(category):
            continue
        parent = body
        for key in path[:-1]:
            parent = parent.setdefault(key, {})
        parent[path[-1]] = read(referral, decision)
    body["withheld"] = [
        {"category": str(w.category), "reason": str(w.reason)} for w in decision.withheld
    ]
    return body
