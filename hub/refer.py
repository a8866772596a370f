"""Make a referral, on the web (issue 14, item 3): the form, *check your answers*, then a
confirmation with the reference (post/redirect/get at each step).

The form's answers become the API's body (`ReferralCreateSerializer`, the same validation, its
errors mapped back to the form's fields) and its parties are checked by the API's own rule
(`referrals.services.referral_parties`: a couples or mediation programme is refused with the
reason) before the person checks their answers; sending calls `referrals.use_cases.
referral_create` under an idempotency key drawn for the form, so a double submit gives one
referral. The draft lives in the person's session until it is sent.
"""

import secrets
from datetime import date
from typing import Any
from uuid import UUID

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from agencies.models import REFERRER_KINDS, Agency, AgencyKind
from core.context import RequestContext
from core.exceptions import DomainError
from core.problems import flatten_errors
from hub.web import staff_page
from hub.widgets import date_input, risk_level_field, risk_tool_field, select, text_input, textarea
from referrals import services, use_cases
from referrals.models import Programme
from referrals.serializers import ReferralCreateSerializer

DRAFTS = "referral_drafts"
SENT = "referrals_sent"

# Each form field and where its answer goes in the API's body (DESIGN.md, *Bodies*).
BODY_PATHS: dict[str, tuple[str, ...]] = {
    "programme": ("programme",),
    "given_name": ("subject", "identity", "given_name"),
    "family_name": ("subject", "identity", "family_name"),
    "date_of_birth": ("subject", "identity", "date_of_birth"),
    "mandate": ("offence", "mandate"),
    "offence_summary": ("offence", "summary"),
    "court": ("offence", "court_order", "court"),
    "court_order_reference": ("offence", "court_order", "reference"),
    "court_order_made_on": ("offence", "court_order", "made_on"),
    "risk_tool": ("risk", "tool"),
    "risk_level": ("risk", "level"),
    "partner_name": ("partner", "identity", "name"),
    "partner_address": ("partner", "contact", "address"),
    "partner_phone": ("partner", "contact", "phone"),
    "partner_safe_contact": ("partner", "contact", "safe_contact"),
    "partner_service": ("partner_service",),
}
FIELD_OF_PATH = {
    **{".".join(path): name for name, path in BODY_PATHS.items()},
    "observers": "observers",
    "children.0.name": "child_1_name",
    "children.0.date_of_birth": "child_1_date_of_birth",
    "children.1.name": "child_2_name",
    "children.1.date_of_birth": "child_2_date_of_birth",
}
CHILD_SLOTS = (1, 2)
# Who may follow a referral (a victim service is only ever its partner service).
OBSERVER_KINDS = (
    AgencyKind.COURT,
    AgencyKind.PROBATION,
    AgencyKind.POLICE,
    AgencyKind.CHILDREN_SERVICES,
    AgencyKind.MARAC,
)


class ReferralForm(forms.Form):
    """The answers of a referral; what each must hold is the API's rule, checked after."""

    use_required_attribute = False

    programme = forms.ChoiceField(label=_("Programme"), widget=forms.RadioSelect)
    given_name = forms.CharField(label=_("Given name"), widget=text_input())
    family_name = forms.CharField(label=_("Family name"), widget=text_input())
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        widget=date_input(),
        error_messages={"invalid": _("Enter a real date of birth")},
    )
    mandate = forms.ChoiceField(
        label=_("Is the programme ordered by a court?"),
        required=False,
        choices=[
            ("", _("Not known")),
            ("court_mandated", _("Yes, a court ordered it")),
            ("voluntary", _("No, he joins voluntarily")),
        ],
        widget=select(),
    )
    offence_summary = forms.CharField(
        label=_("The offence or incident"),
        help_text=_(
            "Never what the partner said: that goes only to the service that supports her."
        ),
        required=False,
        widget=textarea(4),
    )
    court = forms.CharField(
        label=_("Court that made the order"), required=False, widget=text_input()
    )
    court_order_reference = forms.CharField(
        label=_("Order's reference"), required=False, widget=text_input("20")
    )
    court_order_made_on = forms.DateField(
        label=_("Date the order was made"), required=False, widget=date_input()
    )
    risk_tool = risk_tool_field()
    risk_level = risk_level_field()
    partner_name = forms.CharField(label=_("Partner's name"), required=False, widget=text_input())
    partner_address = forms.CharField(
        label=_("Partner's address"),
        required=False,
        widget=textarea(3),
    )
    partner_phone = forms.CharField(
        label=_("Partner's phone"),
        required=False,
        widget=text_input("20", type="tel"),
    )
    partner_safe_contact = forms.CharField(
        label=_("How and when she may be contacted safely"),
        required=False,
        widget=text_input(),
    )
    partner_service = forms.ChoiceField(
        label=_("Victim service supporting the partner"),
        required=False,
        widget=select(),
    )
    observers = forms.MultipleChoiceField(
        label=_("Agencies that follow the referral (observers)"),
        help_text=_("They see what their agreements allow. A victim service is never one."),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    child_1_name = forms.CharField(
        label=_("First child's name"),
        required=False,
        widget=text_input(),
    )
    child_1_date_of_birth = forms.DateField(
        label=_("First child's date of birth"),
        required=False,
        widget=date_input(),
    )
    child_2_name = forms.CharField(
        label=_("Second child's name"),
        required=False,
        widget=text_input(),
    )
    child_2_date_of_birth = forms.DateField(
        label=_("Second child's date of birth"),
        required=False,
        widget=date_input(),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.programmes = list(
            Programme.objects.filter(active=True, provider__active=True)
            .select_related("provider")
            .order_by("name")
        )
        self.fields["programme"].choices = [(str(p.id), p.name) for p in self.programmes]
        self.fields["programme"].error_messages["required"] = _("Choose a programme")
        self.fields["given_name"].error_messages["required"] = _("Enter his given name")
        self.fields["family_name"].error_messages["required"] = _("Enter his family name")
        self.fields["date_of_birth"].error_messages["required"] = _("Enter his date of birth")
        services_ = Agency.objects.filter(kind=AgencyKind.VICTIM_SERVICE, active=True)
        self.fields["partner_service"].choices = [
            ("", _("None")),
            *((str(a.id), a.name) for a in services_.order_by("name")),
        ]
        observers = Agency.objects.filter(active=True, kind__in=OBSERVER_KINDS).order_by("name")
        self.fields["observers"].choices = [(str(a.id), a.name) for a in observers]

    def body(self) -> dict[str, Any]:
        """The API's body from the answers given (blank answers are left out)."""
        body: dict[str, Any] = {}
        for name, path in BODY_PATHS.items():
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            parent = body
            for key in path[:-1]:
                parent = parent.setdefault(key, {})
            parent[path[-1]] = value.isoformat() if isinstance(value, date) else value
        if self.cleaned_data.get("observers"):
            body["observers"] = list(self.cleaned_data["observers"])
        children = [self.child(n) for n in CHILD_SLOTS]
        if any(children):
            body["children"] = [child for child in children if child]
        return body

    def child(self, slot: int) -> dict[str, Any]:
        """One child's answers as the API takes them ({} when none was given)."""
        child: dict[str, Any] = {}
        if name := self.cleaned_data.get(f"child_{slot}_name"):
            child["name"] = name
        if born := self.cleaned_data.get(f"child_{slot}_date_of_birth"):
            child["date_of_birth"] = born.isoformat()
        return child

    def add_api_errors(self, detail: Any) -> None:
        """The API's validation errors, each on the field it is about (else the form's)."""
        for error in flatten_errors(detail):
            path = error["field"] or ""
            name = FIELD_OF_PATH.get(path) or next(
                (n for p, n in FIELD_OF_PATH.items() if path.startswith(p + ".")), None
            )
            if name is None and path.startswith("observers."):
                name = "observers"
            if name is None and path.startswith("risk"):
                name = "risk_level"
            self.add_error(name, error["message"])


def may_refer(context: RequestContext) -> bool:
    return context.actor.agency.kind in REFERRER_KINDS


def refer_form_page(request: HttpRequest, form: ReferralForm) -> HttpResponse:
    """The form, with an error summary when it holds errors (200, as Django and GOV.UK answer
    a form shown again: the page is the answer, not a failure of the request)."""
    return render(request, "hub/refer.html", {"form": form})


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def refer(request: HttpRequest, context: RequestContext) -> HttpResponse:
    """The referral form: answers checked as the API checks them, then *check your answers*."""
    if not may_refer(context):
        raise Http404
    drafts = request.session.get(DRAFTS, {})
    if request.method != "POST":
        draft = drafts.get(request.GET.get("draft", ""))
        return refer_form_page(request, ReferralForm(initial=draft["answers"] if draft else None))
    form = ReferralForm(request.POST)
    if not form.is_valid():
        return refer_form_page(request, form)
    body = form.body()
    api = ReferralCreateSerializer(data=body)
    if not api.is_valid():
        form.add_api_errors(api.errors)
        return refer_form_page(request, form)
    data = api.validated_data
    try:
        services.referral_parties(
            programme_id=data["programme"],
            partner_service_id=data.get("partner_service"),
            observer_ids=list(data.get("observers", [])),
        )
    except DomainError as refused:
        form.add_error(FIELD_OF_PATH.get(refused.field or ""), refused.detail)
        return refer_form_page(request, form)
    key = secrets.token_urlsafe(16)
    answers = {k: v.isoformat() if isinstance(v, date) else v for k, v in form.cleaned_data.items()}
    drafts[key] = {"body": body, "answers": answers}
    request.session[DRAFTS] = drafts
    return redirect(f"{reverse('refer-check')}?draft={key}")


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def refer_check(request: HttpRequest, context: RequestContext) -> HttpResponse:
    """*Check your answers*; sending makes the referral (once, whatever the clicks)."""
    if not may_refer(context):
        raise Http404
    key = request.POST.get("draft") or request.GET.get("draft", "")
    sent = request.session.get(SENT, {})
    if key in sent:  # sent already (a second click, a reload): its confirmation
        return redirect("refer-sent", referral_id=sent[key])
    draft = request.session.get(DRAFTS, {}).get(key)
    if draft is None:
        return redirect("refer")
    form = ReferralForm(draft["answers"])
    form.is_valid()
    if request.method != "POST":
        return render(request, "hub/refer_check.html", answers_page(form, key))
    api = ReferralCreateSerializer(data=draft["body"])
    api.is_valid(raise_exception=True)  # checked when the draft was made
    try:
        served = use_cases.referral_create(
            context, api.validated_data, idempotency_key=key, raw_body=draft["body"]
        )
    except DomainError as refused:
        form.add_error(FIELD_OF_PATH.get(refused.field or ""), refused.detail)
        return refer_form_page(request, form)
    referral_id = served.body["id"]
    request.session[SENT] = {**sent, key: referral_id}
    drafts = request.session.get(DRAFTS, {})
    drafts.pop(key, None)
    request.session[DRAFTS] = drafts
    return redirect("refer-sent", referral_id=referral_id)


def answers_page(form: ReferralForm, key: str) -> dict[str, Any]:
    programme = next(p for p in form.programmes if str(p.id) == form.cleaned_data["programme"])
    service = dict(form.fields["partner_service"].choices).get(
        form.cleaned_data.get("partner_service") or ""
    )
    rows = [
        (_("Programme"), f"{programme.name} ({programme.approach}, {programme.modality})"),
        *(
            (form.fields[name].label, form.cleaned_data.get(name) or _("Not given"))
            for name in BODY_PATHS
            if name not in ("programme", "partner_service")
        ),
        (form.fields["partner_service"].label, service or _("None")),
        (
            form.fields["observers"].label,
            ", ".join(
                label
                for value, label in form.fields["observers"].choices
                if value in form.cleaned_data.get("observers", [])
            )
            or _("None"),
        ),
        *(
            (form.fields[name].label, form.cleaned_data.get(name) or _("Not given"))
            for n in CHILD_SLOTS
            for name in (f"child_{n}_name", f"child_{n}_date_of_birth")
        ),
    ]
    return {"rows": rows, "draft": key}


@require_safe
@staff_page
def refer_sent(request: HttpRequest, context: RequestContext, referral_id: UUID) -> HttpResponse:
    """The confirmation, with the referral's reference: only for the person who sent it."""
    if str(referral_id) not in request.session.get(SENT, {}).values():
        raise Http404
    return render(
        request,
        "hub/refer_sent.html",
        {"referral_id": referral_id, "reference": str(referral_id)[:8]},
    )
