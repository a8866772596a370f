"""Programmes and referrals over HTTP: validate, call one service or selector, render."""

import re
from functools import cached_property
from typing import Any
from uuid import UUID

from django.db import transaction
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.models import Agency
from hub.api import EMERGENCY_HEADER, MIN_JUSTIFICATION_LENGTH, HubViewMixin
from hub.conditional import check_if_match, etag_of
from hub.exceptions import NotAParty
from hub.pagination import visible_page
from hub.serializers import timestamp
from referrals import selectors, services
from referrals.events import events_raise
from referrals.models import Event, EventType, Referral
from referrals.representation import referral_naming, render_referral, render_report
from referrals.serializers import (
    REPORT_SERIALIZERS,
    ContactAttemptSerializer,
    EventPageSerializer,
    EventQuerySerializer,
    EventSerializer,
    HistorySerializer,
    PartnerContactTaskSerializer,
    ProgrammeSerializer,
    ReferralAmendSerializer,
    ReferralCreateSerializer,
    ReferralFilterSerializer,
    ReferralSerializer,
    ReportListSerializer,
    ReportSerializer,
    StatesSerializer,
    TransitionRequestSerializer,
    check_risk_level,
)
from referrals.states import states_document
from sharing_policies.decision import Decision
from sharing_policies.selectors import consents_on, decision_inputs
from sharing_policies.vocabulary import (
    PARTNER_CATEGORIES,
    PURPOSE_VALUES,
    SUBJECT_CATEGORIES,
    Category,
    LawfulBasis,
)


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
        programme = services.programme_create(actor=self.actor, data=serializer.validated_data)
        return Response(ProgrammeSerializer(programme).data, status=status.HTTP_201_CREATED)


class ProgrammeDetailView(HubViewMixin, GenericAPIView):
    """One programme of the catalogue; its provider changes it (capacity, active, ...)."""

    required_scopes = {"get": [], "patch": ["referrals:write"]}
    serializer_class = ProgrammeSerializer

    def programme(self, programme_id: UUID, *, lock: bool = False) -> Any:
        programmes = selectors.programme_list()
        if lock:
            programmes = programmes.select_for_update()
        programme = programmes.filter(id=programme_id).first()
        if programme is None:
            raise NotAParty("No programme has this id.")
        return programme

    @extend_schema(summary="Read a programme")
    def get(self, request: Request, programme_id: UUID) -> Response:
        view = ProgrammeSerializer(self.programme(programme_id)).data
        return Response(view, headers={"ETag": etag_of(view)})

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
        with transaction.atomic():
            # Locked: concurrent changes queue, each checked against the one before it.
            programme = self.programme(programme_id, lock=True)
            check_if_match(request, etag_of(ProgrammeSerializer(programme).data))
            programme = services.programme_change(
                actor=self.actor, programme=programme, changes=serializer.validated_data
            )
        view = ProgrammeSerializer(programme).data
        return Response(view, headers={"ETag": etag_of(view)})


# What the narrower endpoints answer with (their access records name only these).
REPORTS_ANSWER = frozenset({Category.REFERRAL_ADMIN, Category.PROGRAMME_PROGRESS})
PARTNER_CONTACT_ANSWER = frozenset(
    {
        Category.REFERRAL_ADMIN,
        Category.PARTNER_IDENTITY,
        Category.PARTNER_CONTACT,
        Category.PARTNER_DISCLOSURES,
    }
)


class ReferralViewMixin(HubViewMixin):
    touches_personal_data = True

    def views_of(
        self, referrals: list[Referral], *, answers: frozenset[Category] | None = None
    ) -> list[dict[str, Any]]:
        """The caller's minimised view of each referral, noted for the access record. A view
        that answers with only some categories (`answers`) records only those as disclosed."""
        inputs = decision_inputs(
            agency=self.actor.agency,
            purpose=self.purpose,
            emergency=bool(self.justification),
            referral_ids=[r.id for r in referrals],
        )
        return [
            self.view_of(referral, inputs.decide(referral), answers=answers)
            for referral in referrals
        ]

    def view_of(
        self,
        referral: Referral,
        decision: Decision,
        *,
        answers: frozenset[Category] | None = None,
    ) -> dict[str, Any]:
        recorded = decision if answers is None else decision.limited_to(answers)
        persons = [referral.subject_id] if recorded.disclosed & SUBJECT_CATEGORIES else []
        if referral.partner_id and recorded.disclosed & PARTNER_CATEGORIES:
            persons.append(referral.partner_id)
        self.access.add(referral.id, recorded, persons)
        return render_referral(referral, decision)


IDEMPOTENCY_HEADER = "Idempotency-Key"
SAFE_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not SAFE_KEY.match(key):
        raise ValidationError({IDEMPOTENCY_HEADER: ["Use 1 to 255 visible ASCII characters."]})
    return key


class ReferralListView(ReferralViewMixin, GenericAPIView):
    """Referrals: create one (the token's agency refers), or list those your agency is party to.
    Each listed referral's `updated_at` is when your view of it last changed, and
    `updated_since` keeps those whose view did: a change to data withheld from you moves
    neither. Referrals changed only in what you may not see are skipped without a trace:
    pages are full, and the cursor never points at one."""

    required_scopes = {"get": ["referrals:read"], "post": ["referrals:write"]}
    # 409: a second open referral of the same man to the same programme (names the first).
    problem_statuses = {"post": [409]}
    serializer_class = ReferralSerializer
    cursor_ordering = ("-created_at", "-id")

    @cached_property
    def filters(self) -> dict[str, Any]:
        filters = ReferralFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return filters.validated_data

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Referral.objects.none()
        return selectors.referrals_visible_to(agency_id=self.actor.agency.id).filter(
            selectors.referral_filters(self.filters)
        )

    @extend_schema(
        summary="List the referrals your agency is party to",
        parameters=[ReferralFilterSerializer],
        responses=ReferralSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        since = self.filters.get("updated_since")
        with transaction.atomic():
            inputs = decision_inputs(
                agency=self.actor.agency,
                purpose=self.purpose,
                emergency=bool(self.justification),
                referral_ids=[],
            )

            def decided(batch: list[Referral]) -> list[tuple[Referral, Decision]]:
                # The database kept every referral in which anything changed since; the
                # caller gets those whose view of them changed.
                inputs.consents.update(consents_on(r.id for r in batch))
                pairs = [(referral, inputs.decide(referral)) for referral in batch]
                return [
                    (referral, decision)
                    for referral, decision in pairs
                    if since is None or selectors.updated_at_seen(referral, decision) >= since
                ]

            page, next_link = visible_page(
                self.get_queryset(), request, keep=decided, ordering=self.cursor_ordering
            )
            # Only what is returned is disclosed, and recorded.
            results = [self.view_of(referral, decision) for referral, decision in page]
            self.record_access(status.HTTP_200_OK)
        return Response({"results": results, "next": next_link})

    @extend_schema(
        summary="Refer a man into a programme",
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                location=OpenApiParameter.HEADER,
                required=False,
                description="Retry safely: the same key and body within 24 hours return the "
                "first result; the same key with another body is a 422. Scoped to your client.",
            )
        ],
        request=ReferralCreateSerializer,
        responses={201: ReferralSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = ReferralCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = idempotency_key(request)
        with transaction.atomic():
            if key is None:
                created = services.referral_create(actor=self.actor, data=serializer.validated_data)
            else:
                created, _ = services.referral_create_once(
                    actor=self.actor,
                    key=key,
                    raw_body=request.data,
                    data=serializer.validated_data,
                )
            referral = selectors.referral_get_visible(
                agency_id=self.actor.agency.id, referral_id=created.id
            )
            (view,) = self.views_of([referral])
            self.record_access(status.HTTP_201_CREATED)
        return Response(
            view,
            status=status.HTTP_201_CREATED,
            headers={"ETag": etag_of(view), "Location": f"{request.path}{referral.id}/"},
        )


class ReferralDetailView(ReferralViewMixin, GenericAPIView):
    """One referral, minimised to what your agency may see for its purpose."""

    required_scopes = {"get": ["referrals:read"], "patch": ["referrals:write"]}
    problem_statuses = {"get": [410], "patch": [409, 410]}
    serializer_class = ReferralSerializer
    honours_emergency_justification = frozenset({"GET"})

    @extend_schema(
        summary="Read a referral",
        parameters=[
            OpenApiParameter(
                EMERGENCY_HEADER,
                type={"type": "string", "minLength": MIN_JUSTIFICATION_LENGTH},
                location=OpenApiParameter.HEADER,
                required=False,
                description="Emergency release (at least 10 characters): releases categories "
                "granted on `vital_interests`; audited, flagged for DPO review, and reported "
                "to the data's supplier.",
            )
        ],
        responses={
            200: OpenApiResponse(ReferralSerializer, description="The minimised referral."),
        },
    )
    def get(self, request: Request, referral_id: UUID) -> Response:
        with transaction.atomic():
            referral = selectors.referral_get_visible(
                agency_id=self.actor.agency.id, referral_id=referral_id
            )
            (view,) = self.views_of([referral])
            if self.justification:
                self.notify_emergency_release(referral)
            self.record_access(status.HTTP_200_OK)
        return Response(view, headers={"ETag": etag_of(view)})

    def notify_emergency_release(self, referral: Referral) -> None:
        """Rule 4: the supplier of what an emergency released hears of it."""
        _, decision = self.access.decisions[-1]
        released = [b for b in decision.bases if b.lawful_basis == LawfulBasis.VITAL_INTERESTS]
        if released:
            services.emergency_release_notify(
                referral=referral,
                suppliers=[b.supplier for b in released if b.supplier],
                categories=[str(b.category) for b in released],
                actor=self.actor,
            )

    @extend_schema(
        summary="Amend a referral (the referrer; If-Match required)",
        request=ReferralAmendSerializer,
        responses={200: ReferralSerializer},
    )
    def patch(self, request: Request, referral_id: UUID) -> Response:
        serializer = ReferralAmendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        reason = changes.pop("amendment_reason", "")
        agency_id = self.actor.agency.id
        with transaction.atomic():
            locked = selectors.referral_lock_visible(agency_id=agency_id, referral_id=referral_id)
            before = selectors.referral_get_visible(agency_id=agency_id, referral_id=referral_id)
            inputs = decision_inputs(
                agency=self.actor.agency,
                purpose=self.purpose,
                emergency=False,
                referral_ids=[referral_id],
            )
            check_if_match(request, etag_of(render_referral(before, inputs.decide(before))))
            if "risk" in changes:
                # A level alone is checked against the tool already held.
                try:
                    check_risk_level({**(locked.risk or {}), **changes["risk"]})
                except ValidationError as exc:
                    raise ValidationError({"risk": exc.detail}) from exc
            amendment = services.referral_amend(
                referral=locked, changes=changes, reason=reason, actor=self.actor
            )
            referral = selectors.referral_get_visible(agency_id=agency_id, referral_id=referral_id)
            if amendment is not None:
                changed = set(amendment.changes)
                events_raise(
                    referral=referral,
                    recipients=dict.fromkeys(
                        (a.id for a in amendment_recipients(referral, changed)),
                        EventType.AMENDMENT,
                    ),
                    about={"amendment": str(amendment.id)},
                )
            (view,) = self.views_of([referral])
            self.record_access(status.HTTP_200_OK)
        return Response(view, headers={"ETag": etag_of(view)})


class StatesView(HubViewMixin, GenericAPIView):
    """The referral lifecycle as data: statuses, moves, who makes each, what each requires,
    reason codes and the report kinds each status allows. Any valid token."""

    required_scopes: list[str] = []
    serializer_class = StatesSerializer
    pagination_class = None

    @extend_schema(summary="The referral state machine", responses=StatesSerializer)
    def get(self, request: Request) -> Response:
        return Response(states_document())


class TransitionView(ReferralViewMixin, GenericAPIView):
    """Move a referral along its lifecycle (see referrals/states/)."""

    required_scopes = {"post": ["referrals:write"]}
    serializer_class = TransitionRequestSerializer
    problem_statuses = {"post": [409, 410]}

    @extend_schema(
        summary="Move a referral",
        request=TransitionRequestSerializer,
        responses={200: ReferralSerializer},
    )
    def post(self, request: Request, referral_id: UUID) -> Response:
        serializer = TransitionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            services.referral_transition(
                referral_id=referral_id,
                to=data["to"],
                reason_code=data.get("reason_code", ""),
                reason=data.get("reason", ""),
                actor=self.actor,
            )
            referral = selectors.referral_get_visible(
                agency_id=self.actor.agency.id, referral_id=referral_id
            )
            (view,) = self.views_of([referral])
            self.record_access(status.HTTP_200_OK)
        return Response(view, headers={"ETag": etag_of(view)})


class HistoryView(ReferralViewMixin, GenericAPIView):
    """A referral's moves (every party) and amendments (only the categories you may see, with
    their old and new values; an amendment of nothing you may see is left out), oldest first."""

    required_scopes = {"get": ["referrals:read"]}
    serializer_class = HistorySerializer
    pagination_class = None
    problem_statuses = {"get": [410]}

    @extend_schema(summary="A referral's history", responses=HistorySerializer)
    def get(self, request: Request, referral_id: UUID) -> Response:
        with transaction.atomic():
            referral = selectors.referral_get_visible(
                agency_id=self.actor.agency.id, referral_id=referral_id
            )
            self.views_of([referral])
            _, decision = self.access.decisions[-1]
            naming = referral_naming(referral, decision)
            moves = [
                {
                    "type": "transition",
                    "id": str(t.id),
                    "at": timestamp(t.at),
                    "by": naming.agency(t.by_id),
                    "from_status": t.from_status,
                    "to_status": t.to_status,
                    "reason_code": t.reason_code or None,
                    "reason": t.reason or None,
                }
                for t in referral.transitions.all()
            ]
            amendments = []
            for amendment in referral.amendments.all():
                visible = {
                    category: change
                    for category, change in amendment.changes.items()
                    if decision.sees(category)
                }
                if visible:
                    amendments.append(
                        {
                            "type": "amendment",
                            "id": str(amendment.id),
                            "at": timestamp(amendment.at),
                            "by": naming.agency(amendment.by_id),
                            "changes": visible,
                            # Free text about every category changed: shown only to who
                            # sees them all (a reason may speak of her contact).
                            "reason": (amendment.reason or None)
                            if len(visible) == len(amendment.changes)
                            else None,
                        }
                    )
            self.record_access(status.HTTP_200_OK)
        return Response({"results": sorted(moves + amendments, key=lambda e: e["at"])})


class ReportsView(ReferralViewMixin, GenericAPIView):
    """Reports back: the provider writes them; the others read them as the decision allows
    (they are the `programme.progress` category; the referrer always sees them)."""

    required_scopes = {"get": ["referrals:read"], "post": ["referrals:write"]}
    serializer_class = ReportSerializer
    pagination_class = None
    problem_statuses = {"get": [410], "post": [409, 410]}

    @extend_schema(summary="A referral's reports", responses=ReportListSerializer)
    def get(self, request: Request, referral_id: UUID) -> Response:
        with transaction.atomic():
            referral = selectors.referral_get_visible(
                agency_id=self.actor.agency.id, referral_id=referral_id
            )
            (view,) = self.views_of([referral], answers=REPORTS_ANSWER)
            self.record_access(status.HTTP_200_OK)
        progress = view.get("programme_progress", {"reports": []})
        withheld = [w for w in view["withheld"] if w["category"] == "programme.progress"]
        return Response({"results": progress["reports"], "withheld": withheld})

    @extend_schema(
        summary="Write a report back (the provider)",
        request=PolymorphicProxySerializer(
            component_name="ReportRequest",
            # The explicit mapping: a `kind` ChoiceField has no single value to read (null key).
            serializers=REPORT_SERIALIZERS,
            resource_type_field_name="kind",
        ),
        responses={201: ReportSerializer},
    )
    def post(self, request: Request, referral_id: UUID) -> Response:
        kind = request.data.get("kind") if isinstance(request.data, dict) else None
        if not isinstance(kind, str) or kind not in REPORT_SERIALIZERS:
            raise ValidationError({"kind": [f"Use one of: {', '.join(REPORT_SERIALIZERS)}."]})
        serializer = REPORT_SERIALIZERS[kind](data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            report = services.report_write(
                referral_id=referral_id, data=serializer.validated_data, actor=self.actor
            )
            self.access.referrals.append(referral_id)
            self.record_access(status.HTTP_201_CREATED)
        return Response(render_report(report), status=status.HTTP_201_CREATED)


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
        with transaction.atomic():
            events = list(
                Event.objects.filter(recipient=self.actor.agency, position__gt=after).order_by(
                    "position"
                )[:size]
            )
            self.access.referrals.extend(dict.fromkeys(e.referral_id for e in events))
            self.record_access(status.HTTP_200_OK)
        results = [
            {
                "id": str(e.id),
                "position": e.position,
                "type": e.type,
                "referral": str(e.referral_id),
                "at": timestamp(e.at),
                "about": e.about,
            }
            for e in events
        ]
        last = events[-1].position if events else after
        next_url = request.build_absolute_uri(f"{request.path}?after={last}&page_size={size}")
        return Response({"results": results, "next": next_url if events else None})


def amendment_recipients(referral: Referral, categories: set[str]) -> list[Agency]:
    """The parties that may see at least one changed category, for some purpose."""
    return services.amendment_recipients(
        referral=referral, categories=categories, purposes=PURPOSE_VALUES
    )


class PartnerContactView(ReferralViewMixin, GenericAPIView):
    """The partner service's contact task and its attempts. For every other agency, the
    referrer included, it does not exist (404), and no event, history entry or count shows it."""

    required_scopes = {"get": ["referrals:read"], "post": ["referrals:write"]}
    serializer_class = PartnerContactTaskSerializer
    pagination_class = None
    problem_statuses = {"get": [410], "post": [410]}

    @extend_schema(summary="The partner-contact task", responses=PartnerContactTaskSerializer)
    def get(self, request: Request, referral_id: UUID) -> Response:
        with transaction.atomic():
            # The referral first: once erased, its task is gone too, and its parties hear 410.
            referral = selectors.referral_get_visible(
                agency_id=self.actor.agency.id, referral_id=referral_id
            )
            task = services.partner_contact_task_of(referral_id=referral_id, actor=self.actor)
            (view,) = self.views_of([referral], answers=PARTNER_CONTACT_ANSWER)
            self.record_access(status.HTTP_200_OK)
        return Response(partner_contact_document(task, view))

    @extend_schema(
        summary="Record a contact attempt (the partner service)",
        request=ContactAttemptSerializer,
        responses={201: PartnerContactTaskSerializer},
    )
    def post(self, request: Request, referral_id: UUID) -> Response:
        serializer = ContactAttemptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            # Locked, so that an attempt cannot land on a referral retention is erasing.
            selectors.referral_lock_visible(agency_id=self.actor.agency.id, referral_id=referral_id)
            task = services.partner_contact_task_of(referral_id=referral_id, actor=self.actor)
            services.partner_contact_attempt_record(
                task=task, data=serializer.validated_data, actor=self.actor
            )
            referral = selectors.referral_get_visible(
                agency_id=self.actor.agency.id, referral_id=referral_id
            )
            (view,) = self.views_of([referral], answers=PARTNER_CONTACT_ANSWER)
            self.record_access(status.HTTP_201_CREATED)
        return Response(partner_contact_document(task, view), status=status.HTTP_201_CREATED)


def partner_contact_document(task: Any, view: dict[str, Any]) -> dict[str, Any]:
    """The task, the partner's details as the decision allows, and the attempts recorded."""
    partner = view.get("partner", {})
    attempts = [e for e in partner.get("disclosures", []) if e.get("kind") == "contact_attempt"]
    details = {k: v for k, v in partner.items() if k in ("identity", "contact")}
    return {
        "task": {"id": str(task.id), "created_at": timestamp(task.created_at)},
        **({"partner": details} if details else {}),
        "attempts": attempts,
        "withheld": [
            w
            for w in view["withheld"]
            if w["category"] in ("partner.identity", "partner.contact", "partner.disclosures")
        ],
    }
