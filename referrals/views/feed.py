"""The change feed over HTTP."""

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api import HubViewMixin
from referrals import use_cases
from referrals.representation import EventPageSerializer, EventSerializer
from referrals.serializers import EventQuerySerializer


class EventFeedView(HubViewMixin, GenericAPIView):
    """Your agency's change feed, oldest first: what changed on the referrals it is party to
    (ids and types only; fetch the resource to see it, minimised as ever). Poll with
    `after` set to the last position you have seen: nothing is lost or repeated."""

    required_scopes = {"get": ["referrals:read"]}
    serializer_class = EventSerializer
    pagination_class = None
    touches_personal_data = True

    @extend_schema(
        summary="The change feed",
        parameters=[EventQuerySerializer],
        responses=EventPageSerializer,
    )
    def get(self, request: Request) -> Response:
        query = EventQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        after, size = query.validated_data["after"], query.validated_data["page_size"]

        def link(position: int) -> str:
            return request.build_absolute_uri(f"{request.path}?after={position}&page_size={size}")

        return self.respond(use_cases.event_feed(self.context, after=after, size=size, link=link))
