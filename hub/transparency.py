"""Why an agency sees what it sees, and who accessed a referral, on the web (issue 14, item 3):
the API's `explain/` (sharing_policies.use_cases.decision_explain) and `accesses/`
(audit.use_cases.referral_accesses) as pages, for the agency and purpose the person acts for.
Agencies and agreements appear only where the naming rule gave their ids (a victim service the
reader may not know of is shown by its kind); an access never shows a justification.
"""

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_safe

from audit import use_cases as audit
from core.context import RequestContext
from core.pagination import PageRequest
from hub.pages import CATEGORY_LABELS, KIND_LABELS, agency_names
from hub.web import staff_page
from sharing_policies import use_cases as policies
from sharing_policies.models import AgreementVersion

ACCESSES_PAGE_SIZE = 50


def agreement_names(ids: set[str]) -> dict[str, str]:
    """The current name of each agreement the page may name (ids the naming rule gave)."""
    names: dict[str, str] = {}
    for version in AgreementVersion.objects.filter(agreement_id__in=ids).order_by("version"):
        names[str(version.agreement_id)] = version.name
    return names


@require_safe
@staff_page
def why(request: HttpRequest, context: RequestContext, referral_id: UUID) -> HttpResponse:
    """Category by category: whether the agency sees it for its purpose, and on what basis
    (an agreement and its lawful basis, a consent) or why not."""
    served = policies.decision_explain(
        context,
        referral_id=referral_id,
        agency_id=context.actor.agency.id,
        purpose=context.purpose,
        emergency=False,
    )
    explained = served.body
    suppliers = {b["supplier"] for c in explained["categories"] for b in c["bases"]}
    agreements = {b["agreement"] for c in explained["categories"] for b in c["bases"]} | {
        a["id"] for c in explained["categories"] for a in c["agreements"]
    }
    names = agency_names(s for s in suppliers if s)
    titles = agreement_names({a for a in agreements if a})
    rows = [
        {
            **c,
            "label": CATEGORY_LABELS.get(c["category"], c["category"]),
            "bases": [
                {
                    **b,
                    "supplier_name": names.get(b["supplier"])
                    or KIND_LABELS.get(b["supplier"], b["supplier"]),
                    "agreement_name": titles.get(b["agreement"] or ""),
                }
                for b in c["bases"]
            ],
        }
        for c in explained["categories"]
    ]
    return render(
        request,
        "hub/why.html",
        {
            "rows": rows,
            "purpose": explained["purpose"],
            "referral_id": referral_id,
            "reference": str(referral_id)[:8],
        },
    )


@require_safe
@staff_page
def accesses(request: HttpRequest, context: RequestContext, referral_id: UUID) -> HttpResponse:
    """Who accessed the referral: the agency's own accesses, and others' to what it supplied,
    newest first (never a justification)."""
    cursor = request.GET.get("cursor") or None
    page = PageRequest(
        cursor=cursor,
        size=ACCESSES_PAGE_SIZE,
        link=lambda next_cursor: f"{request.path}?cursor={next_cursor}",
    )
    served = audit.referral_accesses(context, referral_id, page)
    results: list[dict[str, Any]] = served.body["results"]
    names = agency_names(r["agency"] for r in results if r["agency"])
    rows = [
        {
            **r,
            "at": parse_datetime(r["at"]),
            "who": names.get(r["agency"]) or KIND_LABELS.get(r["agency"], r["agency_kind"]),
            "labels": [CATEGORY_LABELS.get(c, c) for c in r["categories"]],
        }
        for r in results
    ]
    return render(
        request,
        "hub/accesses.html",
        {
            "rows": rows,
            "next": served.body["next"],
            "referral_id": referral_id,
            "reference": str(referral_id)[:8],
        },
    )
