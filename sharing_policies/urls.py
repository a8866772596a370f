from django.urls import path

from sharing_policies.views import AgreementDetailView, AgreementListView, ExplainView

urlpatterns = [
    path("sharing-agreements/", AgreementListView.as_view(), name="agreement-list"),
    path("sharing-agreements/explain/", ExplainView.as_view(), name="agreement-explain"),
    path(
        "sharing-agreements/<uuid:agreement_id>/",
        AgreementDetailView.as_view(),
        name="agreement-detail",
    ),
]
