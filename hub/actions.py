"""What people do to a referral on the web (issue 14, item 3): move it along its lifecycle (the
provider acknowledges, assesses, accepts or declines, starts, completes or ends it; the referrer
withdraws it) and write reports back (assessment, attendance, risk changes, completion).

Each page reads the referral through `referrals.use_cases` (one access record per page) and
offers only what the lifecycle table allows this agency now (`referrals.states`); each answer is
checked by the API's own serializer and written by the API's own use case, then the person is
sent back to the referral with a confirmation (post/redirect/get). A refusal of the hub's rules
(a move someone else made first, say) shows the form again with the reason.
"""

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core.context import RequestContext
from core.exceptions import DomainError
from core.problems import flatten_errors
from hub.web import staff_page
from hub.widgets import date_input, risk_level_field, risk_tool_field, select, textarea
from referrals import use_cases
from referrals.serializers import REPORT_SERIALIZERS, TransitionRequestSerializer
from referrals.states import REASON_CODES, REPORT_KINDS, moves_from
from sharing_policies.decision import Role

MOVE_LABELS = {
    "acknowledged": _("Acknowledge the referral"),
    "assessment": _("Start the assessment"),
    "accepted": _("Accept him onto the programme"),
    "declined": _("Decline the referral"),
    "in_programme": _("He has started the programme"),
    "completed": _("He has completed the programme"),
    "terminated": _("End his place on the programme"),
    "withdrawn": _("Withdraw the referral"),
}
REPORT_LABELS = {
    "assessment": _("Assessment"),
    "attendance": _("Attendance at a session"),
    "risk_change": _("A change in risk"),
    "completion": _("Completion"),
}


def role_in(context: RequestContext, view: dict[str, Any]) -> Role | None:
    agency = str(context.actor.agency.id)
    if view["provider"] == agency:
        return Role.PROVIDER
    if view["referrer"] == agency:
        return Role.REFERRER
    return None


def read_for_action(context: RequestContext, referral_id: UUID) -> dict[str, Any]:
    """The referral as this agency may see it (one access record)."""
    return use_cases.referral_read(context, referral_id).body


def moves_for(context: RequestContext, view: dict[str, Any]) -> list[Any]:
    role = role_in(context, view)
    return [move for move in moves_from(view["status"]) if move.by == role]


def report_kinds_for(context: RequestContext, view: dict[str, Any]) -> tuple[str, ...]:
    if role_in(context, view) != Role.PROVIDER:
        return ()
    return REPORT_KINDS.get(view["status"], ())


class MoveForm(forms.Form):
    use_required_attribute = False

    to = forms.ChoiceField(label=_("What has happened?"), widget=forms.RadioSelect)
    reason_code = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        choices=[("", _("Choose a reason")), *((c, c.replace("_", " ")) for c in REASON_CODES)],
        widget=select(),
    )
    reason = forms.CharField(
        label=_("Explain the reason"),
        help_text=_("Never what the partner said."),
        required=False,
        widget=textarea(3),
    )

    def __init__(self, moves: list[Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = [(m.target.value, MOVE_LABELS[m.target.value]) for m in moves]
        self.fields["to"].error_messages["required"] = _("Choose what has happened")


def add_refusal(form: forms.Form, refusal: DomainError, default_field: str) -> None:
    field = refusal.field if refusal.field in form.fields else default_field
    form.add_error(field, refusal.detail)


def add_api_errors(form: forms.Form, detail: Any, default_field: str) -> None:
    for error in flatten_errors(detail):
        name = (error["field"] or "").split(".")[0]
        form.add_error(name if name in form.fields else default_field, error["message"])


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def referral_move(request: HttpRequest, context: RequestContext, referral_id: UUID) -> HttpResponse:
    """Move the referral: only the moves the lifecycle table gives this agency now."""
    view = read_for_action(context, referral_id)
    moves = moves_for(context, view)
    if not moves:
        raise Http404
    form = MoveForm(moves, request.POST if request.method == "POST" else None)
    context_data = {"form": form, "referral": view, "reference": view["id"][:8]}
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v}
        move = next(m for m in moves if m.target == data["to"])
        if move.needs_reason:
            # The lifecycle table's rule, told before the check page rather than after it.
            if not data.get("reason_code"):
                form.add_error("reason_code", _("Choose a reason"))
            if not data.get("reason"):
                form.add_error("reason", _("Explain the reason"))
        if form.errors or request.POST.get("change"):
            return render(request, "hub/referral_move.html", context_data)
        if move.needs_reason and request.POST.get("confirm") != "yes":
            # Declining, ending and withdrawing cannot be undone: check the answers first.
            return render(
                request,
                "hub/referral_move_check.html",
                {**context_data, "data": data, "label": MOVE_LABELS[data["to"]]},
            )
        api = TransitionRequestSerializer(data=data)
        if not api.is_valid():
            add_api_errors(form, api.errors, "to")
        else:
            checked = api.validated_data
            try:
                use_cases.referral_transition(
                    context,
                    referral_id,
                    to=checked["to"],
                    reason_code=checked.get("reason_code", ""),
                    reason=checked.get("reason", ""),
                )
            except DomainError as refusal:
                add_refusal(form, refusal, "to")
            else:
                messages.success(request, _("The referral is now %s.") % checked["to"])
                return redirect("referral-page", referral_id=referral_id)
    return render(request, "hub/referral_move.html", context_data)


class ReportForm(forms.Form):
    """The fields of every kind of report; each kind's serializer says which it needs."""

    use_required_attribute = False

    suitable = forms.TypedChoiceField(
        label=_("Is he suitable for the programme?"),
        required=False,
        choices=[("", _("Choose")), ("true", _("Yes")), ("false", _("No"))],
        widget=select(),
    )
    session_date = forms.DateField(
        label=_("Date of the session"),
        required=False,
        widget=date_input(),
    )
    attendance = forms.ChoiceField(
        label=_("Attendance"),
        required=False,
        choices=[
            ("", _("Choose")),
            ("attended", _("Attended")),
            ("absent_excused", _("Absent, excused")),
            ("absent_unexcused", _("Absent, not excused")),
        ],
        widget=select(),
    )
    tool = risk_tool_field(empty=_("The one already held"))
    level = risk_level_field(label=_("Risk level now"), empty=_("Choose"))
    urgent = forms.BooleanField(
        label=_("Urgent: tell the referrer and the partner's support service at once"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "govuk-checkboxes__input"}),
    )
    completed = forms.TypedChoiceField(
        label=_("Did he complete the programme?"),
        required=False,
        choices=[("", _("Choose")), ("true", _("Yes")), ("false", _("No"))],
        widget=select(),
    )
    summary = forms.CharField(
        label=_("Summary"),
        help_text=_("Never what the partner said."),
        required=False,
        widget=textarea(4),
    )

    FIELDS_OF = {
        "assessment": ("suitable", "summary"),
        "attendance": ("session_date", "attendance"),
        "risk_change": ("tool", "level", "urgent", "summary"),
        "completion": ("completed", "summary"),
    }

    def body(self, kind: str) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind}
        for name in self.FIELDS_OF[kind]:
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            body[name] = value.isoformat() if hasattr(value, "isoformat") else value
        return body


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def report_new(
    request: HttpRequest, context: RequestContext, referral_id: UUID, kind: str
) -> HttpResponse:
    """Write a report back (the provider): only the kinds the referral's status allows."""
    view = read_for_action(context, referral_id)
    if kind not in report_kinds_for(context, view):
        raise Http404
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        api = REPORT_SERIALIZERS[kind](data=form.body(kind))
        if not api.is_valid():
            add_api_errors(form, api.errors, ReportForm.FIELDS_OF[kind][0])
        else:
            try:
                use_cases.report_create(context, referral_id, api.validated_data)
            except DomainError as refusal:
                add_refusal(form, refusal, ReportForm.FIELDS_OF[kind][0])
            else:
                messages.success(request, _("Your report is recorded."))
                return redirect("referral-page", referral_id=referral_id)
    return render(
        request,
        "hub/report_new.html",
        {
            "form": form,
            "fields": [form[name] for name in ReportForm.FIELDS_OF[kind]],
            "kind": kind,
            "kind_label": REPORT_LABELS[kind],
            "referral": view,
            "reference": view["id"][:8],
        },
    )
