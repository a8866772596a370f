from django.urls import path

from referrals.views import (
    EventFeedView,
    HistoryView,
    PartnerContactView,
    ProgrammeDetailView,
    ProgrammeListView,
    ReferralDetailView,
    ReferralListView,
    ReportsView,
    StatesView,
    TransitionView,
)

urlpatterns = [
    path("programmes/", ProgrammeListView.as_view(), name="programme-list"),
    path("programmes/<uuid:programme_id>/", ProgrammeDetailView.as_view(), name="programme-detail"),
    path("referrals/", ReferralListView.as_view(), name="referral-list"),
    path("events/", EventFeedView.as_view(), name="event-feed"),
    path("referrals/states/", StatesView.as_view(), name="referral-states"),
    path("referrals/<uuid:referral_id>/", ReferralDetailView.as_view(), name="referral-detail"),
    path(
        "referrals/<uuid:referral_id>/transitions/",
        TransitionView.as_view(),
        name="referral-transitions",
    ),
    path("referrals/<uuid:referral_id>/history/", HistoryView.as_view(), name="referral-history"),
    path("referrals/<uuid:referral_id>/reports/", ReportsView.as_view(), name="referral-reports"),
    path(
        "referrals/<uuid:referral_id>/partner-contact/",
        PartnerContactView.as_view(),
        name="referral-partner-contact",
    ),
]
