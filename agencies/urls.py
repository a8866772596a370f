from django.urls import path

from agencies.views import AgencyListView

urlpatterns = [
    path("agencies/", AgencyListView.as_view(), name="agency-list"),
]
