"""Amend a referral on the web (issue 14, item 3): the referrer changes what it may amend, with
a reason. The form carries the ETag of the referral as the person read it; saving sends only
the answers they changed, through `referrals.use_cases.referral_amend`, which compares that
ETag once the referral is locked (RFC 9110 13.1.1): if someone changed it first, nothing is
written and the person is shown the referral as it now is, to make their change again.
"""

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from core.conditional import PreconditionFailed, etag_of
from core.context import RequestContext
from core.exceptions import DomainError
from hub.actions import add_api_errors, add_refusal, role_in
from hub.web import staff_page
from hub.widgets import risk_level_field, risk_tool_field, text_input, textarea
from referrals import use_cases
from referrals.serializers import ReferralAmendSerializer
from referrals.states import OPEN_STATUSES
from sharing_policies.decision import Role

# Each field and where its value sits in the referral's body (DESIGN.md, *Bodies*).
PATHS: dict[str, tuple[str, ...]] = {
    "subject_address": ("subject", "contact", "address"),
    "subject_phone": ("subject", "contact", "phone"),
    "offence_summary": ("offence", "summary"),
    "risk_tool": ("risk", "tool"),
    "risk_level": ("risk", "level"),
    "risk_summary": ("risk", "summary"),
    "partner_address": ("partner", "contact", "address"),
    "partner_phone": ("partner", "contact", "phone"),
    "partner_safe_contact": ("partner", "contact", "safe_contact"),
}


def text(label: str, *, area: bool = False) -> forms.CharField:
    widget = textarea(3) if area else text_input()
    return forms.CharField(label=label, required=False, widget=widget)


class AmendForm(forms.Form):
    use_required_attribute = False

    subject_address = text(_("His address"), area=True)
    subject_phone = text(_("His phone"))
    offence_summary = text(_("The offence or incident"), area=True)
    risk_tool = risk_tool_field()
    risk_level = risk_level_field()
    risk_summary = text(_("Risk summary"), area=True)
    partner_address = text(_("Partner's address"), area=True)
    partner_phone = text(_("Partner's phone"))
    partner_safe_contact = text(_("How and when she may be contacted safely"))
    amendment_reason = forms.CharField(
        label=_("Why are you making this change?"),
        help_text=_("Seen by the agencies that may see every part you changed."),
        widget=textarea(3),
        error_messages={"required": _("Enter why you are making this change")},
    )
    etag = forms.CharField(widget=forms.HiddenInput)


def current_values(view: dict[str, Any]) -> dict[str, str]:
    values = {}
    for name, path in PATHS.items():
        value: Any = view
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        values[name] = value if isinstance(value, str) else ""
    return values


def changes_from(form: AmendForm, before: dict[str, str]) -> dict[str, Any]:
    """The API's PATCH body: only the answers that differ from the referral as read."""
    body: dict[str, Any] = {}
    for name, path in PATHS.items():
        value = form.cleaned_data.get(name, "")
        if value == before[name]:
            continue
        parent = body
        for key in path[:-1]:
            parent = parent.setdefault(key, {})
        parent[path[-1]] = value
    return body


def read(context: RequestContext, referral_id: UUID) -> tuple[dict[str, Any], str]:
    served = use_cases.referral_read(context, referral_id)
    return served.body, served.etag or etag_of(served.body)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def referral_amend(
    request: HttpRequest, context: RequestContext, referral_id: UUID
) -> HttpResponse:
    """The referrer's amendment of an open referral (404 for anyone else, or once closed)."""
    view, etag = read(context, referral_id)
    if role_in(context, view) != Role.REFERRER or view["status"] not in OPEN_STATUSES:
        raise Http404
    before = current_values(view)
    if request.method != "POST":
        form = AmendForm(initial={**before, "etag": etag})
        return render_form(request, form, view)
    form = AmendForm(request.POST)
    if form.is_valid():
        read_as = form.cleaned_data["etag"]
        # The values as the person read them are the ones the ETag covers: a change made
        # since then fails the comparison below, so diffing against today's is safe.
        changes = changes_from(form, before)
        if not changes:
            form.add_error(None, _("You have not changed anything."))
        else:
            api = ReferralAmendSerializer(
                data={**changes, "amendment_reason": form.cleaned_data["amendment_reason"]}
            )
            if not api.is_valid():
                add_api_errors(form, flatten_paths(api.errors), "amendment_reason")
            else:
                data = dict(api.validated_data)
                try:
                    use_cases.referral_amend(
                        context,
                        referral_id,
                        data,
                        reason=data.pop("amendment_reason", ""),
                        if_match=read_as,
                    )
                except PreconditionFailed:
                    view, etag = read(context, referral_id)
                    form = AmendForm(initial={**current_values(view), "etag": etag})
                    return render_form(request, form, view, changed_first=True)
                except ValidationError as invalid:
                    # Checked against what is held (a level the held tool lacks): the same
                    # errors as the API's, beside the fields they name.
                    add_api_errors(form, flatten_paths(invalid.detail), "amendment_reason")
                except DomainError as refusal:
                    add_refusal(form, refusal, "amendment_reason")
                else:
                    messages.success(request, _("The referral is amended."))
                    return redirect("referral-page", referral_id=referral_id)
    return render_form(request, form, view)


def flatten_paths(errors: Any) -> dict[str, Any]:
    """The API's errors keyed by this form's fields (else the reason's)."""
    by_path = {".".join(path): name for name, path in PATHS.items()}
    flat: dict[str, Any] = {}

    def walk(detail: Any, prefix: str) -> None:
        if isinstance(detail, dict):
            for key, value in detail.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        else:
            name = by_path.get(prefix) or next(
                (n for p, n in by_path.items() if prefix.startswith(p.rsplit(".", 1)[0])), None
            )
            flat.setdefault(name or "amendment_reason", []).extend(
                detail if isinstance(detail, list) else [detail]
            )

    walk(errors, "")
    return flat


def render_form(
    request: HttpRequest, form: AmendForm, view: dict[str, Any], *, changed_first: bool = False
) -> HttpResponse:
    return render(
        request,
        "hub/amend.html",
        {
            "form": form,
            "referral": view,
            "reference": view["id"][:8],
            "changed_first": changed_first,
        },
    )
