"""The programme catalogue over HTTP (no personal data)."""

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api import HubViewMixin
from referrals import selectors, use_cases
from referrals.serializers import ProgrammeSerializer


class ProgrammeListView(HubViewMixin, GenericAPIView):
    """The programme catalogue. Any valid token reads it; a provider lists its own entries."""

    required_scopes = {"get": [], "post": ["referrals:write"]}
    serializer_class = ProgrammeSerializer
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self) -> Any:
        return selectors.programme_list()

    @extend_schema(responses=ProgrammeSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ProgrammeSerializer(page, many=True).data)

    @extend_schema(request=ProgrammeSerializer, responses={201: ProgrammeSerializer})
    def post(self, request: Request) -> Response:
        serializer = ProgrammeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.respond(use_cases.programme_create(self.context, serializer.validated_data))


class ProgrammeDetailView(HubViewMixin, GenericAPIView):
    """One programme of the catalogue; its provider changes it (capacity, active, ...)."""

    required_scopes = {"get": [], "patch": ["referrals:write"]}
    serializer_class = ProgrammeSerializer

    @extend_schema(summary="Read a programme")
    def get(self, request: Request, programme_id: UUID) -> Response:
        return self.respond(use_cases.programme_read(self.context, programme_id))

    @extend_schema(
        summary="Change a programme (its provider; If-Match required)",
        description="Its provider changes a programme (capacity, active, ...). One with open "
        "referrals cannot become `couples` or `mediation` work (422, field `modality`): couple "
        "work and mediation are never a response to domestic violence.",
        request=ProgrammeSerializer(partial=True),
        responses={200: ProgrammeSerializer},
    )
    def patch(self, request: Request, programme_id: UUID) -> Response:
        serializer = ProgrammeSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        served = use_cases.programme_change(
            self.context,
            programme_id,
            serializer.validated_data,
            if_match=request.headers.get("If-Match"),
        )
        return self.respond(served)
