"""Consents on the web (issue 14, item 3): a referral's consents, record one, withdraw one
(stating what stops). For the referrer and the partner service only, as on the API: for any
other agency they do not exist (404). Through `consent.use_cases`, so every page that shows a
consent leaves one access record, and a withdrawal counts from the very next request.
"""

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from agencies.models import AgencyKind
from consent import use_cases as consents
from consent.serializers import ConsentCreateSerializer, WithdrawalSerializer
from core.context import RequestContext
from core.exceptions import DomainError
from core.pagination import PageRequest
from core.vocabulary import PARTNER_CATEGORIES, SUBJECT_CATEGORIES, Purpose
from hub.actions import add_api_errors, add_refusal
from hub.pages import CATEGORY_LABELS
from hub.web import staff_page
from hub.widgets import date_input, text_input, textarea
from referrals import use_cases as referrals

SUBJECT_LABELS = {"subject": _("The man referred"), "partner": _("The partner")}
CONSENTS_PAGE_SIZE = 50


def may_see_consents(context: RequestContext, view: dict[str, Any]) -> bool:
    """The referrer and the partner service (DESIGN.md, *Consent*)."""
    agency = str(context.actor.agency.id)
    return agency in (view["referrer"], view.get("partner_service"))


def described(consent: dict[str, Any]) -> dict[str, Any]:
    """A consent with its categories, recipients and purposes in words."""
    provisions = [
        {
            **p,
            "category_labels": [CATEGORY_LABELS.get(c, c) for c in p["categories"]],
            "to": ", ".join([*p.get("recipient_kinds", []), *p.get("recipients", [])])
            or _("any agency"),
            "for": ", ".join(p.get("purposes", [])) or _("any purpose"),
        }
        for p in consent["provisions"]
    ]
    return {
        **consent,
        "provisions": provisions,
        "subject_label": SUBJECT_LABELS[consent["data_subject"]],
    }


@require_safe
@staff_page
def consent_list(request: HttpRequest, context: RequestContext, referral_id: UUID) -> HttpResponse:
    """The consents recorded on a referral, newest first (one access record)."""
    view = referrals.referral_read(context, referral_id).body
    if not may_see_consents(context, view):
        raise Http404
    page = PageRequest(cursor=None, size=CONSENTS_PAGE_SIZE, link=lambda cursor: "")
    served = consents.consent_list(context, referral_id, page)
    return render(
        request,
        "hub/consents.html",
        {
            "referral": view,
            "reference": view["id"][:8],
            "consents": [described(c) for c in served.body["results"]],
            "more": served.body["next"] is not None,
        },
    )


class ConsentForm(forms.Form):
    """One provision of a consent, as most consents are; the API takes more."""

    use_required_attribute = False

    data_subject = forms.ChoiceField(
        label=_("Whose consent is it?"),
        choices=list(SUBJECT_LABELS.items()),
        widget=forms.RadioSelect,
    )
    type = forms.ChoiceField(
        label=_("What did they say?"),
        choices=[("permit", _("They agree to sharing")), ("deny", _("They refuse sharing"))],
        widget=forms.RadioSelect,
    )
    categories = forms.MultipleChoiceField(
        label=_("Which information?"),
        choices=[(c, CATEGORY_LABELS[c]) for c in sorted(SUBJECT_CATEGORIES | PARTNER_CATEGORIES)],
        widget=forms.CheckboxSelectMultiple,
    )
    recipient_kinds = forms.MultipleChoiceField(
        label=_("With which kinds of agency? (none chosen: any)"),
        required=False,
        choices=[(k.value, k.label) for k in AgencyKind if k != AgencyKind.HUB_OPERATOR],
        widget=forms.CheckboxSelectMultiple,
    )
    purposes = forms.MultipleChoiceField(
        label=_("For which purposes? (none chosen: any)"),
        required=False,
        choices=[(p.value, p.value) for p in Purpose if p != Purpose.AUDIT],
        widget=forms.CheckboxSelectMultiple,
    )
    valid_from = forms.DateField(
        label=_("From"),
        initial=timezone.localdate,
        widget=date_input(),
    )
    valid_to = forms.DateField(
        label=_("Until (optional)"),
        required=False,
        widget=date_input(),
    )
    evidence_method = forms.CharField(
        label=_("How was it given?"),
        help_text=_("For example, signed_form or verbal_recorded."),
        widget=text_input("20"),
    )
    evidence_reference = forms.CharField(
        label=_("Reference of the record (optional)"),
        required=False,
        widget=text_input("20"),
    )

    def body(self, referral_id: UUID) -> dict[str, Any]:
        data = self.cleaned_data
        provision = {"type": data["type"], "categories": data["categories"]}
        for name in ("recipient_kinds", "purposes"):
            if data[name]:
                provision[name] = data[name]
        return {
            "referral": str(referral_id),
            "data_subject": data["data_subject"],
            "provisions": [provision],
            "valid_from": data["valid_from"].isoformat(),
            **({"valid_to": data["valid_to"].isoformat()} if data["valid_to"] else {}),
            "evidence": {
                "method": data["evidence_method"],
                **({"reference": data["evidence_reference"]} if data["evidence_reference"] else {}),
            },
        }


API_FIELDS = {
    "provisions": "categories",
    "evidence": "evidence_method",
    "valid_to": "valid_to",
    "valid_from": "valid_from",
    "data_subject": "data_subject",
}


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def consent_new(request: HttpRequest, context: RequestContext, referral_id: UUID) -> HttpResponse:
    """Record a consent (the API's validation; the rule that a consent is about one person's
    own categories is the API's too)."""
    view = referrals.referral_read(context, referral_id).body
    if not may_see_consents(context, view):
        raise Http404
    form = ConsentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        api = ConsentCreateSerializer(data=form.body(referral_id))
        if not api.is_valid():
            add_api_errors(form, {API_FIELDS.get(k, k): v for k, v in api.errors.items()}, "type")
        else:
            try:
                consents.consent_record(context, api.validated_data)
            except DomainError as refusal:
                add_refusal(form, refusal, "categories")
            else:
                messages.success(request, _("The consent is recorded. It counts from now on."))
                return redirect("consent-list-page", referral_id=referral_id)
    return render(
        request,
        "hub/consent_new.html",
        {"form": form, "referral": view, "reference": view["id"][:8]},
    )


class WithdrawForm(forms.Form):
    use_required_attribute = False

    reason = forms.CharField(
        label=_("Why is it withdrawn?"),
        help_text=_("Never what the partner said."),
        widget=textarea(3),
        error_messages={"required": _("Enter why the consent is withdrawn")},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def consent_withdraw(
    request: HttpRequest, context: RequestContext, consent_id: UUID
) -> HttpResponse:
    """Withdraw a consent, having been told its effect: what it lets agencies see stops at
    their very next request; what it refuses becomes possible where an agreement allows."""
    consent = described(consents.consent_read(context, consent_id).body)
    if consent["status"] == "withdrawn":
        raise Http404
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        api = WithdrawalSerializer(data=form.cleaned_data)
        api.is_valid(raise_exception=True)
        try:
            consents.consent_withdraw(context, consent_id, reason=api.validated_data["reason"])
        except DomainError as refusal:
            add_refusal(form, refusal, "reason")
        else:
            messages.success(request, _("The consent is withdrawn. It no longer counts."))
            return redirect("consent-list-page", referral_id=consent["referral"])
    return render(request, "hub/consent_withdraw.html", {"form": form, "consent": consent})
