from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from oauth2_provider import views as oauth_views

from agencies.oauth_views import IntrospectTokenView
from hub import (
    actions,
    amend,
    consents,
    directory,
    docs,
    health,
    pages,
    partner_contact,
    refer,
    transparency,
)
from hub.token_views import TokenView

# Only the OAuth2 endpoints the hub needs: no application management, device flow or
# dynamic registration.
oauth_patterns = (
    [
        path("authorize/", oauth_views.AuthorizationView.as_view(), name="authorize"),
        path("token/", TokenView.as_view(), name="token"),
        path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
        path("introspect/", IntrospectTokenView.as_view(), name="introspect"),
    ],
    "oauth2_provider",
)

api_v1 = [
    path("agencies/", directory.AgencyListView.as_view(), name="agency-list"),
    path("", include("referrals.urls")),
    path("", include("sharing_policies.urls")),
    path("", include("consent.urls")),
    path("", include("audit.urls")),
]

urlpatterns = [
    path("o/", include(oauth_patterns)),
    # The web pages for people (hub.pages); the sign-in page is the hub's own (not the
    # admin's): it is served with the admin switched off.
    path("", pages.root, name="root"),
    path("home/", pages.home, name="home"),
    path("accessibility/", pages.accessibility_statement, name="accessibility"),
    path("referrals/", pages.referral_list, name="referral-list-page"),
    path("changes/", pages.changes, name="changes"),
    path("session/extend/", pages.session_extend, name="session-extend"),
    path("referrals/new/", refer.refer, name="refer"),
    path("referrals/new/check/", refer.refer_check, name="refer-check"),
    path("referrals/<uuid:referral_id>/", pages.referral_page, name="referral-page"),
    path("referrals/<uuid:referral_id>/sent/", refer.refer_sent, name="refer-sent"),
    path("referrals/<uuid:referral_id>/move/", actions.referral_move, name="referral-move"),
    path("referrals/<uuid:referral_id>/amend/", amend.referral_amend, name="referral-amend"),
    path(
        "referrals/<uuid:referral_id>/partner-contact/",
        partner_contact.partner_contact,
        name="partner-contact-page",
    ),
    path("referrals/<uuid:referral_id>/why/", transparency.why, name="why-page"),
    path("referrals/<uuid:referral_id>/accesses/", transparency.accesses, name="accesses-page"),
    path("referrals/<uuid:referral_id>/consents/", consents.consent_list, name="consent-list-page"),
    path(
        "referrals/<uuid:referral_id>/consents/new/", consents.consent_new, name="consent-new-page"
    ),
    path(
        "consents/<uuid:consent_id>/withdraw/",
        consents.consent_withdraw,
        name="consent-withdraw-page",
    ),
    path(
        "referrals/<uuid:referral_id>/reports/<slug:kind>/new/",
        actions.report_new,
        name="report-new",
    ),
    path("accounts/login/", pages.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", docs.swagger_ui, name="swagger-ui"),
    path("api/redoc/", docs.redoc, name="redoc"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

if settings.ADMIN_ENABLED:
    urlpatterns.append(path("admin/", admin.site.urls))

handler400 = "core.problems.bad_request"
handler403 = "core.problems.permission_denied"
handler404 = "core.problems.page_not_found"
handler500 = "core.problems.server_error"
