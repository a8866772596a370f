"""A referral's lifecycle over HTTP: the state machine, moves, and history."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api import HubViewMixin
from referrals import use_cases
from referrals.representation import HistorySerializer, ReferralSerializer, StatesSerializer
from referrals.serializers import TransitionRequestSerializer
from referrals.states import LIFECYCLE


class StatesView(HubViewMixin, GenericAPIView):
    """The referral lifecycle as data: statuses, moves, who makes each, what each requires,
    reason codes and the report kinds each status allows. Any valid token."""

    required_scopes: list[str] = []
    serializer_class = StatesSerializer
    pagination_class = None

    @extend_schema(summary="The referral state machine", responses=StatesSerializer)
    def get(self, request: Request) -> Response:
        return Response(StatesSerializer(LIFECYCLE).data)


class TransitionView(HubViewMixin, GenericAPIView):
    """Move a referral along its lifecycle (see referrals/states/)."""

    required_scopes = {"post": ["referrals:write"]}
    serializer_class = TransitionRequestSerializer
    problem_statuses = {"post": [409, 410]}
    touches_personal_data = True

    @extend_schema(
        summary="Move a referral",
        request=TransitionRequestSerializer,
        responses={200: ReferralSerializer},
    )
    def post(self, request: Request, referral_id: UUID) -> Response:
        serializer = TransitionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        served = use_cases.referral_transition(
            self.context,
            referral_id,
            to=data["to"],
            reason_code=data.get("reason_code", ""),
            reason=data.get("reason", ""),
        )
        return self.respond(served)


class HistoryView(HubViewMixin, GenericAPIView):
    """A referral's moves (every party) and amendments (only the categories you may see, with
    their old and new values; an amendment of nothing you may see is left out), oldest first."""

    required_scopes = {"get": ["referrals:read"]}
    serializer_class = HistorySerializer
    pagination_class = None
    problem_statuses = {"get": [410]}
    touches_personal_data = True

    @extend_schema(summary="A referral's history", responses=HistorySerializer)
    def get(self, request: Request, referral_id: UUID) -> Response:
        return self.respond(use_cases.referral_history(self.context, referral_id))
