"""The partner service's contact task on the web (issue 14, item 3): its worker sees the task,
the partner's details as the decision allows, and the attempts made, and records an attempt.
For every other agency, the referrer included, the task does not exist (404), as on the API.
Through `referrals.use_cases` (one access record per page)."""

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core.context import RequestContext
from core.exceptions import DomainError
from hub.actions import add_api_errors, add_refusal
from hub.web import staff_page
from hub.widgets import datetime_input, textarea
from referrals import use_cases
from referrals.serializers import CONTACT_OUTCOMES, ContactAttemptSerializer

OUTCOME_LABELS = {
    "reached": _("Reached her"),
    "no_answer": _("No answer"),
    "unsafe_to_contact": _("Not safe to contact now"),
    "declined": _("She declined support"),
}


class AttemptForm(forms.Form):
    use_required_attribute = False

    attempted_at = forms.DateTimeField(
        label=_("When was the attempt?"),
        widget=datetime_input(),
        error_messages={
            "required": _("Enter when the attempt was made"),
            "invalid": _("Enter a real date and time"),
        },
    )
    outcome = forms.ChoiceField(
        label=_("What happened?"),
        choices=[(o, OUTCOME_LABELS[o]) for o in CONTACT_OUTCOMES],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what happened")},
    )
    notes = forms.CharField(
        label=_("Notes (optional)"),
        help_text=_("Seen only by agencies that may see what she discloses."),
        required=False,
        widget=textarea(3),
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def partner_contact(
    request: HttpRequest, context: RequestContext, referral_id: UUID
) -> HttpResponse:
    """The task and its attempts; a new attempt is checked by the API's serializer."""
    form = AttemptForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        body: dict[str, Any] = {
            "attempted_at": form.cleaned_data["attempted_at"].isoformat(),
            "outcome": form.cleaned_data["outcome"],
            **({"notes": form.cleaned_data["notes"]} if form.cleaned_data["notes"] else {}),
        }
        api = ContactAttemptSerializer(data=body)
        if not api.is_valid():
            add_api_errors(form, api.errors, "attempted_at")
        else:
            try:
                use_cases.partner_contact_attempt(context, referral_id, api.validated_data)
            except DomainError as refusal:
                add_refusal(form, refusal, "attempted_at")
            else:
                messages.success(request, _("The attempt is recorded."))
                return redirect("partner-contact-page", referral_id=referral_id)
    task = use_cases.partner_contact_read(context, referral_id).body
    attempts = [
        {**a, "outcome_label": OUTCOME_LABELS.get(a.get("outcome"), a.get("outcome"))}
        for a in task["attempts"]
    ]
    return render(
        request,
        "hub/partner_contact.html",
        {
            "form": form,
            "task": task,
            "attempts": attempts,
            "referral_id": referral_id,
            "reference": str(referral_id)[:8],
        },
    )
