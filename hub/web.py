"""The web channel: a signed-in person's `RequestContext`, and a refused page recorded as the
API records a refused request (issue 14, item 1; DESIGN.md, *Audit*).

A person acts for the agency of their staff membership, with the purposes their role allows
(agencies.roles; the first unless they chose another this session), through no OAuth client.
Pages reach referral data only through the use cases (referrals.use_cases), so the decision,
the minimisation and the access record are the API's own; the record names the person and the
channel `web`.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from agencies.actors import Actor
from agencies.models import StaffMembership
from agencies.roles import web_purposes, web_scopes
from audit.bursts import record_refused
from audit.services import AccessDetails
from core.context import Channel, Origin, RequestContext
from core.exceptions import DomainError
from core.problems import DOMAIN_PROBLEMS
from referrals.models import Event

PURPOSE_SESSION_KEY = "hub_purpose"

# What a person is told when a page is refused; never why in more detail than the API says.
REFUSED_TITLES = {
    403: _("You cannot do this"),
    404: _("Page not found"),
    409: _("This cannot be done now"),
    410: _("This referral's data was erased"),
    422: _("This cannot be done"),
}


def membership_of(user: Any) -> StaffMembership | None:
    try:
        membership = user.membership
    except (ObjectDoesNotExist, AttributeError):
        return None
    return membership if membership.agency.active and user.is_active else None


def purposes_of(membership: StaffMembership) -> tuple[str, ...]:
    return tuple(p.value for p in web_purposes(membership.agency.kind, membership.role))


def web_context(request: HttpRequest, membership: StaffMembership) -> RequestContext:
    """The person's context: their agency, the purpose chosen this session (if their role
    allows it, else their first), and the request's origin on the web channel."""
    purposes = purposes_of(membership)
    chosen = request.session.get(PURPOSE_SESSION_KEY)
    purpose = chosen if chosen in purposes else (purposes[0] if purposes else "")
    agency = membership.agency
    actor = Actor(
        agency=agency,
        client=None,
        person=request.user,
        scopes=web_scopes(agency.kind, membership.role),
    )
    return RequestContext(actor=actor, purpose=purpose, origin=Origin.of(request, Channel.WEB))


Page = Callable[..., HttpResponse]


def refused_status(refusal: DomainError | Http404) -> int:
    """The status the API would answer a refusal with (core.problems)."""
    if isinstance(refusal, Http404):
        return 404
    return next(v[0] for cls, v in DOMAIN_PROBLEMS.items() if isinstance(refusal, cls))


def staff_page(page: Page) -> Page:
    """A page for a person who acts for an agency: `page(request, context, **kwargs)`.

    Signed out: to the sign-in page. Signed in without an active agency: a 403 page. A use case
    that refuses (a `DomainError`) gives the refusal's status and page, and the refusal is
    recorded with the referral tried (`audit.bursts.record_refused`), as the API records it."""

    @login_required
    @wraps(page)
    def wrapped(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        membership = membership_of(request.user)
        if membership is None:
            return render(
                request,
                "hub/refused.html",
                {"title": REFUSED_TITLES[403], "status": 403, "no_agency": True},
                status=403,
            )
        context = web_context(request, membership)
        try:
            return page(request, context, **kwargs)
        except (DomainError, Http404) as refusal:
            status = refused_status(refusal)
            tried = kwargs.get("referral_id")
            record_refused(
                origin=context.origin,
                actor=context.actor,
                status=status,
                purpose=context.purpose,
                details=AccessDetails(referrals=[tried] if isinstance(tried, UUID) else []),
            )
            return render(
                request,
                "hub/refused.html",
                {"title": REFUSED_TITLES.get(status, REFUSED_TITLES[422]), "status": status},
                status=status,
            )

    return wrapped


def changes_waiting(request: HttpRequest) -> dict[str, Any]:
    """A template context processor: how many changes to the agency's referrals the person has
    not seen on *What's changed* (event ids and types only: no personal data, so no record)."""
    membership = membership_of(getattr(request, "user", None))
    if membership is None:
        return {}
    waiting = Event.objects.filter(
        recipient_id=membership.agency_id, position__gt=membership.changes_seen
    ).count()
    return {"changes_waiting": waiting}


def idle_timeout(request: HttpRequest) -> dict[str, Any]:
    """A template context processor: when a signed-in person's session ends without a request,
    and how long before it the pages warn (seconds; settings.SESSION_COOKIE_AGE)."""
    if not getattr(getattr(request, "user", None), "is_authenticated", False):
        return {}
    return {
        "idle_timeout_seconds": settings.SESSION_COOKIE_AGE,
        "idle_warning_seconds": min(settings.WEB_IDLE_WARNING_SECONDS, settings.SESSION_COOKIE_AGE),
    }
