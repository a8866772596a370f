"""The hub's web pages for people (issue 14): the sign-in page, the root URL, the signed-in home
page and the accessibility statement. Layout in hub/templates/hub/base.html; styles and scripts
built by `make assets` (WEB-NOTES.md)."""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ObjectDoesNotExist
from django.forms.boundfield import BoundField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from agencies.models import REFERRER_KINDS, Agency, StaffMembership
from hub import actions
from hub.context import RequestContext
from hub.pagination import PageRequest
from hub.web import PURPOSE_SESSION_KEY, membership_of, purposes_of, staff_page
from referrals import use_cases
from referrals.models import Programme, Status
from referrals.states import OPEN_STATUSES


class GovukBoundField(BoundField):
    """A field rendered as a GOV.UK input: red when it has an error (Django itself adds
    aria-invalid and the aria-describedby that names the error message)."""

    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        if self.errors:
            widget = widget or self.field.widget
            attrs["class"] = f"{widget.attrs.get('class', '')} govuk-input--error".strip()
        return attrs


class SignInForm(AuthenticationForm):
    """Django's sign-in form with GOV.UK inputs and GOV.UK's wording for errors."""

    bound_field_class = GovukBoundField
    # GOV.UK forms validate on the server only: the browser's own bubbles skip the error summary.
    use_required_attribute = False
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Enter a correct user name and password. Both are case-sensitive."),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        username, password = self.fields["username"], self.fields["password"]
        username.label = _("User name")
        username.error_messages["required"] = _("Enter your user name")
        password.label = _("Password")
        password.error_messages["required"] = _("Enter your password")
        # No autofocus: the first Tab must reach the skip link, and after a failed attempt the
        # error summary takes focus (GOV.UK's guidance on autofocus).
        username.widget.attrs.pop("autofocus", None)
        username.widget.attrs.update(
            {"class": "govuk-input", "autocomplete": "username", "spellcheck": "false"}
        )
        password.widget.attrs.update({"class": "govuk-input", "autocomplete": "current-password"})


class ReferralFilterForm(forms.Form):
    """The referral list's filters (the API's `status`; more to come with issue 14)."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Status.choices],
        widget=forms.Select(attrs={"class": "govuk-select"}),
    )


# The partner-contact task opens when the man is accepted (referrals.services).
TASK_STATUSES = ("accepted", "in_programme", "completed", "terminated")

# An agency the naming rule names only by its kind (sharing_policies.naming).
KIND_LABELS = {"victim_service": _("A victim service")}

# What each category of data is called on a page (DESIGN.md, *Data categories*).
CATEGORY_LABELS = {
    "subject.identity": _("The man's identity"),
    "subject.contact": _("The man's contact details"),
    "offence": _("Offence and court order"),
    "risk": _("Risk"),
    "programme.progress": _("Progress on the programme (reports)"),
    "partner.identity": _("The partner's identity"),
    "partner.contact": _("The partner's contact details"),
    "partner.disclosures": _("What the partner has disclosed"),
    "children": _("Children"),
}


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "registration/login.html"
    next_page = "root"


@require_safe
def root(request: HttpRequest) -> HttpResponse:
    """The sign-in page for someone signed out; their agency's referrals for someone signed in
    (their account page if they act for no agency)."""
    if request.user.is_authenticated:
        return redirect("referral-list-page" if membership_of(request.user) else "home")
    return redirect("login")


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    try:
        membership = request.user.membership
    except ObjectDoesNotExist:
        membership = None
    return render(request, "hub/home.html", {"membership": membership})


@require_safe
def accessibility_statement(request: HttpRequest) -> HttpResponse:
    return render(request, "hub/accessibility.html")


# --- Referrals (issue 14, item 3): through referrals.use_cases only -------------------------

WEB_PAGE_SIZE = 25


def agency_names(ids: Iterable[str]) -> dict[str, str]:
    """Names of agencies the page already names by id: each id shown passed the naming rule
    (sharing_policies.naming); a victim service hidden from the reader arrives as its kind, and
    is shown as one (`KIND_LABELS`), never looked up."""
    wanted = {i for i in ids if is_uuid_text(i)}
    return {str(a.id): a.name for a in Agency.objects.filter(id__in=wanted)}


def is_uuid_text(value: Any) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def referral_list(request: HttpRequest, context: RequestContext) -> HttpResponse:
    """My agency's referrals, newest first, filtered by status; paged by cursor."""
    if request.method == "POST":
        return choose_purpose(request, context)
    form = ReferralFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "hub/referrals.html",
            {"form": form, "results": [], "context": context, **purpose_choice(context)},
        )
    filters = {k: v for k, v in filters.items() if v}
    query = request.GET.copy()

    def link(cursor: str) -> str:
        query["cursor"] = cursor
        return f"{request.path}?{query.urlencode()}"

    page = PageRequest(cursor=request.GET.get("cursor") or None, size=WEB_PAGE_SIZE, link=link)
    served = use_cases.referral_list(context, filters, page)
    results = served.body["results"]
    programmes = dict(
        Programme.objects.filter(id__in={r["programme"] for r in results}).values_list("id", "name")
    )
    rows = [
        {
            "id": r["id"],
            "reference": r["id"][:8],
            "status": r["status"],
            "programme": programmes.get(UUID(r["programme"]), ""),
            "subject": r.get("subject", {}).get("identity"),
            "created_at": parse_datetime(r["created_at"]),
            "urgent": bool(urgent_risk_changes(r.get("programme_progress", {}).get("reports", []))),
        }
        for r in results
    ]
    # Urgent risk changes first, newest first within each (the sort is stable).
    rows.sort(key=lambda row: not row["urgent"])
    return render(
        request,
        "hub/referrals.html",
        {
            "form": form,
            "rows": rows,
            "next": served.body["next"],
            "context": context,
            **purpose_choice(context),
        },
    )


def purpose_choice(context: RequestContext) -> dict[str, Any]:
    membership = membership_of(context.actor.person)
    purposes = purposes_of(membership) if membership else ()
    return {
        "purpose": context.purpose,
        "purposes": purposes,
        "may_refer": context.actor.agency.kind in REFERRER_KINDS,
    }


def choose_purpose(request: HttpRequest, context: RequestContext) -> HttpResponse:
    """The person changes the purpose they act for, among those their role allows (the list again
    with an error summary for any other); then back to the list (post/redirect/get)."""
    membership = membership_of(request.user)
    chosen = request.POST.get("purpose", "")
    if membership is None or chosen not in purposes_of(membership):
        form = ReferralFilterForm()
        choice = purpose_choice(context)
        return render(
            request,
            "hub/referrals.html",
            {"form": form, "rows": [], "context": context, "purpose_error": True, **choice},
        )
    request.session[PURPOSE_SESSION_KEY] = chosen
    return redirect("referral-list-page")


@require_safe
@staff_page
def referral_page(request: HttpRequest, context: RequestContext, referral_id: UUID) -> HttpResponse:
    """One referral as this agency may see it, each withheld category named with its reason
    (never its content), and its history."""
    served = use_cases.referral_overview(context, referral_id)
    referral, history = served.body["referral"], served.body["history"]
    shown = [
        referral["referrer"],
        referral["provider"],
        *([referral["partner_service"]] if referral.get("partner_service") else []),
        *(entry["by"] for entry in history if entry.get("by")),
    ]
    names = agency_names(shown)

    def name(named: str | None) -> str:
        """An agency as the naming rule let the page name it: by name, else by its kind."""
        if named is None:
            return str(_("None"))
        return names.get(named) or str(KIND_LABELS.get(named, _("Another agency")))

    history = [{**entry, "by_name": name(entry.get("by"))} for entry in history]
    reports = referral.get("programme_progress", {}).get("reports", [])
    programme = Programme.objects.filter(id=referral["programme"]).values_list("name", flat=True)
    return render(
        request,
        "hub/referral.html",
        {
            "referral": referral,
            "reference": referral["id"][:8],
            "programme": programme.first() or "",
            "history": history,
            "referrer": name(referral["referrer"]),
            "provider": name(referral["provider"]),
            "partner_service": name(referral["partner_service"])
            if "partner_service" in referral
            else None,
            "withheld": [
                {**w, "label": CATEGORY_LABELS.get(w["category"], w["category"])}
                for w in referral["withheld"]
            ],
            "urgent": urgent_risk_changes(reports),
            "moves": bool(actions.moves_for(context, referral)),
            "may_amend": referral["referrer"] == str(context.actor.agency.id)
            and referral["status"] in OPEN_STATUSES,
            "partner_task": referral.get("partner_service") == str(context.actor.agency.id)
            and referral["status"] in TASK_STATUSES,
            "consents": str(context.actor.agency.id)
            in (referral["referrer"], referral.get("partner_service")),
            "report_kinds": [
                (kind, actions.REPORT_LABELS[kind])
                for kind in actions.report_kinds_for(context, referral)
            ],
            "context": context,
        },
    )


def urgent_risk_changes(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The urgent risk changes among the reports the reader may see, newest first."""
    urgent = [r for r in reports if r.get("kind") == "risk_change" and r.get("urgent")]
    return sorted(urgent, key=lambda r: r["written_at"], reverse=True)


# --- What's changed: the agency's change feed as a page ------------------------------------

CHANGES_PAGE_SIZE = 100
EVENT_LABELS = {
    "created": _("New referral"),
    "transition": _("Moved on"),
    "report": _("New report"),
    "urgent_risk_change": _("Urgent risk change"),
    "partner_contact_task": _("Partner contact task"),
    "amendment": _("Amended"),
    "emergency_release": _("Emergency release"),
}


@require_safe
@staff_page
def changes(request: HttpRequest, context: RequestContext) -> HttpResponse:
    """The changes to the agency's referrals since the person last looked, urgent risk changes
    first, then newest first; looking marks them seen (the header's count goes down). Ids and
    kinds only, as the feed holds them: open a referral to see what changed, minimised."""
    membership = membership_of(request.user)
    seen = membership.changes_seen if membership else 0
    served = use_cases.event_feed(
        context, after=seen, size=CHANGES_PAGE_SIZE, link=lambda position: ""
    )
    events = served.body["results"]
    if events:
        last = events[-1]["position"]
        StaffMembership.objects.filter(pk=membership.pk, changes_seen__lt=last).update(
            changes_seen=last
        )
        # The header of this very page counts from here too.
        membership.changes_seen = max(membership.changes_seen, last)
    rows = sorted(
        (
            {
                **event,
                "label": EVENT_LABELS.get(event["type"], event["type"]),
                "urgent": event["type"] == "urgent_risk_change",
                "reference": event["referral"][:8],
                "at": parse_datetime(event["at"]),
            }
            for event in events
        ),
        key=lambda row: (not row["urgent"], -row["position"]),
    )
    return render(
        request,
        "hub/changes.html",
        {
            "rows": rows,
            "more": len(events) == CHANGES_PAGE_SIZE,
        },
    )
