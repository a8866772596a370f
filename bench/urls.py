"""The hub's own URLs, plus the bare baseline (bench/views.py) under /bench/."""

from django.urls import include, path

from bench import views
from hub.urls import handler400, handler403, handler404, handler500  # noqa: F401

urlpatterns = [
    path("bench/referrals/", views.referral_list_or_create),
    path("bench/referrals/<uuid:referral_id>/", views.referral_read_or_amend),
    path("bench/consents/<uuid:consent_id>/withdraw/", views.consent_withdraw),
    path("bench/events/", views.event_feed),
    path("bench/token/", views.token),
    path("bench/audit/events/", views.audit_search),
    path("", include("hub.urls")),
]
