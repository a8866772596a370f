from django.urls import path

from referrals.views import ProgrammeListView, ReferralDetailView, ReferralListView

urlpatterns = [
    path("programmes/", ProgrammeListView.as_view(), name="programme-list"),
    path("referrals/", ReferralListView.as_view(), name="referral-list"),
    path("referrals/<uuid:referral_id>/", ReferralDetailView.as_view(), name="referral-detail"),
]
