from django.urls import path

from consent.views import ConsentDetailView, ConsentListView, ConsentWithdrawView

urlpatterns = [
    path("consents/", ConsentListView.as_view(), name="consent-list"),
    path("consents/<uuid:consent_id>/", ConsentDetailView.as_view(), name="consent-detail"),
    path(
        "consents/<uuid:consent_id>/withdraw/",
        ConsentWithdrawView.as_view(),
        name="consent-withdraw",
    ),
]
