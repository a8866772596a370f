"""The partner service's contact task over HTTP."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api import HubViewMixin
from referrals import use_cases
from referrals.representation import PartnerContactTaskSerializer
from referrals.serializers import ContactAttemptSerializer


class PartnerContactView(HubViewMixin, GenericAPIView):
    """The partner service's contact task and its attempts. For every other agency, the
    referrer included, it does not exist (404), and no event, history entry or count shows it."""

    required_scopes = {"get": ["referrals:read"], "post": ["referrals:write"]}
    serializer_class = PartnerContactTaskSerializer
    pagination_class = None
    problem_statuses = {"get": [410], "post": [410]}
    touches_personal_data = True

    @extend_schema(summary="The partner-contact task", responses=PartnerContactTaskSerializer)
    def get(self, request: Request, referral_id: UUID) -> Response:
        return self.respond(use_cases.partner_contact_read(self.context, referral_id))

    @extend_schema(
        summary="Record a contact attempt (the partner service)",
        request=ContactAttemptSerializer,
        responses={201: PartnerContactTaskSerializer},
    )
    def post(self, request: Request, referral_id: UUID) -> Response:
        serializer = ContactAttemptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        served = use_cases.partner_contact_attempt(
            self.context, referral_id, serializer.validated_data
        )
        return self.respond(served)
