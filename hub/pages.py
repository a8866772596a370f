"""The hub's web pages for people (issue 14): the sign-in page, the root URL, the signed-in home
page and the accessibility statement. Layout in hub/templates/hub/base.html; styles and scripts
built by `make assets` (WEB-NOTES.md)."""

import re
from collections.abc import Iterable
from datetime import datetime, time
from typing import Any
from uuid import UUID

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count
from django.forms.boundfield import BoundField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from agencies.models import REFERRER_KINDS, Agency, StaffMembership
from audit.services import is_uuid
from core.context import RequestContext
from core.pagination import PageRequest
from hub import actions
from hub.web import PURPOSE_SESSION_KEY, membership_of, purposes_of, staff_page
from hub.widgets import date_input, select, text_input
from referrals import selectors, use_cases
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


# The list's tabs: which statuses each holds (referrals.states).
TABS = {
    "open": (_("Open"), tuple(OPEN_STATUSES)),
    "completed": (_("Completed"), (Status.COMPLETED,)),
    "ended": (_("Ended"), (Status.DECLINED, Status.TERMINATED, Status.WITHDRAWN)),
    "all": (_("All"), tuple(Status)),
}
REFERENCE = re.compile(r"^[0-9a-fA-F]{1,32}$")


class ReferralFilterForm(forms.Form):
    """The referral list's filters: the API's (status, programme, dates) and the pages' own
    (tab, reference, sort). Each only narrows what the agency is party to."""

    use_required_attribute = False

    tab = forms.ChoiceField(
        required=False, choices=[(t, t) for t in TABS], widget=forms.HiddenInput
    )
    reference = forms.CharField(
        label=_("Reference"),
        required=False,
        max_length=36,
        help_text=_("The first characters of the referral's reference."),
        widget=text_input("10"),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Status.choices],
        widget=select(),
    )
    programme = forms.ChoiceField(label=_("Programme"), required=False, widget=select())
    created_after = forms.DateField(label=_("Referred from"), required=False, widget=date_input())
    created_before = forms.DateField(
        label=_("Referred before"), required=False, widget=date_input()
    )
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[("newest", _("Newest first")), ("oldest", _("Oldest first"))],
        widget=select(),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        programmes = Programme.objects.order_by("name").values_list("id", "name")
        self.fields["programme"].choices = [
            ("", _("Any programme")),
            *((str(i), name) for i, name in programmes),
        ]

    def clean_reference(self) -> str:
        reference = self.cleaned_data["reference"].strip().replace("-", "")
        if reference and not REFERENCE.match(reference):
            raise forms.ValidationError(_("Enter a reference of letters a to f and digits"))
        return reference

    def filters(self) -> dict[str, Any]:
        """The use case's filters (referrals.selectors.referral_filters)."""
        data = self.cleaned_data
        filters: dict[str, Any] = {}
        if data.get("status"):  # a status chosen outright, whichever tab is open
            filters["status"] = data["status"]
        else:
            filters["statuses"] = TABS[data.get("tab") or "open"][1]
        if data.get("programme"):
            filters["programme"] = UUID(data["programme"])
        for name in ("created_after", "created_before"):
            if data.get(name):
                filters[name] = datetime.combine(
                    data[name], time.min, tzinfo=timezone.get_current_timezone()
                )
        if data.get("reference"):
            filters["reference"] = data["reference"]
        return filters


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
    wanted = {i for i in ids if is_uuid(i)}
    return {str(a.id): a.name for a in Agency.objects.filter(id__in=wanted)}


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def referral_list(request: HttpRequest, context: RequestContext) -> HttpResponse:
    """My agency's referrals in tabs (open, completed, ended, all) with counts, filtered,
    searched by reference and sorted; urgent risk changes tagged and first on each page; paged
    by cursor, every link keeping the filters and the sort."""
    if request.method == "POST":
        return choose_purpose(request, context)
    form = ReferralFilterForm(request.GET)
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "open"
    common = {"context": context, "tab": tab, "tabs": tab_links(request, context, tab)}
    if not form.is_valid():
        # The list again with its error summary; nothing is read.
        return render(
            request, "hub/referrals.html", {"form": form, **common, **purpose_choice(context)}
        )
    query = request.GET.copy()

    def link(cursor: str) -> str:
        query["cursor"] = cursor
        return f"{request.path}?{query.urlencode()}"

    page = PageRequest(cursor=request.GET.get("cursor") or None, size=WEB_PAGE_SIZE, link=link)
    served = use_cases.referral_list(
        context, form.filters(), page, oldest_first=form.cleaned_data.get("sort") == "oldest"
    )
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
    # Urgent risk changes first, in the chosen order within each (the sort is stable).
    rows.sort(key=lambda row: not row["urgent"])
    return render(
        request,
        "hub/referrals.html",
        {
            "form": form,
            "rows": rows,
            "next": served.body["next"],
            **common,
            **purpose_choice(context),
        },
    )


def tab_links(request: HttpRequest, context: RequestContext, current: str) -> list[dict[str, Any]]:
    """Each tab with its count of the agency's referrals and a link keeping the other filters.
    A count of referrals the agency is party to tells it nothing its list does not."""
    counts = dict(
        selectors.referrals_visible_to(agency_id=context.actor.agency.id)
        .order_by()
        .values_list("status")
        .annotate(Count("id"))
    )
    tabs = []
    for name, (label, statuses) in TABS.items():
        query = request.GET.copy()
        query.pop("cursor", None)
        query["tab"] = name
        tabs.append(
            {
                "name": name,
                "label": label,
                "count": sum(counts.get(s, 0) for s in statuses),
                "href": f"{request.path}?{query.urlencode()}",
                "current": name == current,
            }
        )
    return tabs


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
        return render(
            request,
            "hub/referrals.html",
            {
                "form": ReferralFilterForm(),
                "rows": [],
                "context": context,
                "purpose_error": True,
                "tab": "open",
                "tabs": tab_links(request, context, "open"),
                **purpose_choice(context),
            },
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


@require_http_methods(["POST"])
@login_required
def session_extend(request: HttpRequest) -> HttpResponse:
    """Stay signed in: the request itself renews the session (SESSION_SAVE_EVERY_REQUEST).
    204 for the warning's script; without script, back to the page the person was on."""
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/"
    return redirect(back)
