"""The directory of agencies over HTTP (`agencies/`): the hub lists who is on it."""

from rest_framework.generics import ListAPIView

from agencies.models import Agency
from agencies.serializers import AgencySerializer
from hub.api import HubViewMixin


class AgencyListView(HubViewMixin, ListAPIView):
    """The directory of agencies on the hub (any valid token)."""

    required_scopes: list[str] = []
    serializer_class = AgencySerializer
    queryset = Agency.objects.all()
    cursor_ordering = ("name",)
