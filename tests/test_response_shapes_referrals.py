"""One source per response shape (issue 13, item 3): every body of the referrals app is rendered
by the serializer that the OpenAPI schema documents for it (referrals/representation.py), and a
referral's keys are exactly those of the categories its reader's decision discloses, plus the
keys every reader gets; a withheld category is not even read from the referral.
"""

import itertools
import json
from typing import Any

import pytest
from django.db.models import Model
from django.utils import timezone
from rest_framework import serializers

from agencies.models import AgencyKind
from core.vocabulary import Category, WithholdReason
from referrals import services
from referrals.models import PartnerDisclosure, Referral, Report
from referrals.representation import (
    DecidedSerializer,
    PartnerContactTaskSerializer,
    ReferralPartnerSerializer,
    ReferralSerializer,
    ReferralSubjectSerializer,
    ReportListSerializer,
    reader_context,
    referral_rendering,
    render_referral,
)
from referrals.selectors import referral_queryset
from referrals.serializers import ContactAttemptSerializer
from sharing_policies.classification import FIELD_CATEGORIES
from sharing_policies.decision import Decision, Role, Withheld
from tests import factories
from tests.conftest import referral_body
from tests.schema_components import generated

pytestmark = pytest.mark.django_db

C = Category
ADMIN = C.REFERRAL_ADMIN
WITHHOLDABLE = [c for c in Category if c is not ADMIN]
# Every subset of the categories a decision may withhold: 2^9 of them.
SUBSETS = [
    frozenset(subset)
    for size in range(len(WITHHOLDABLE) + 1)
    for subset in itertools.combinations(WITHHOLDABLE, size)
]
# Where DESIGN.md (*Bodies*) keeps each category: its name as a path, but for
# programme.progress (`programme_progress`).
DESIGN_PATHS = {
    C.SUBJECT_IDENTITY: ("subject", "identity"),
    C.SUBJECT_CONTACT: ("subject", "contact"),
    C.OFFENCE: ("offence",),
    C.RISK: ("risk",),
    C.PROGRAMME_PROGRESS: ("programme_progress",),
    C.PARTNER_IDENTITY: ("partner", "identity"),
    C.PARTNER_CONTACT: ("partner", "contact"),
    C.PARTNER_DISCLOSURES: ("partner", "disclosures"),
    C.CHILDREN: ("children",),
}
ADMIN_KEYS = {
    "id",
    "status",
    "referrer",
    "provider",
    "observers",
    "programme",
    "created_at",
    "updated_at",
}


def decision_for(role: Role, disclosed: frozenset[Category], suppliers: Any = ()) -> Decision:
    """A decision for a reader of this role disclosing these categories (and referral.admin);
    each withheld one with a reason of its own, so that their order and reasons are checked."""
    reasons = itertools.cycle(WithholdReason)
    return Decision(
        roles=frozenset({role}),
        disclosed=frozenset({ADMIN, *disclosed}),
        withheld=tuple(
            Withheld(category, next(reasons))
            for category in WITHHOLDABLE
            if category not in disclosed
        ),
        disclosure_entries_from=(
            frozenset(suppliers) if C.PARTNER_DISCLOSURES in disclosed else None
        ),
    )


@pytest.fixture
def filled(world):
    """An accepted referral holding data in every category: a partner service, two observers,
    a report back, a contact attempt beside the referrer's disclosure, loaded as a read loads
    it. Returns it with the suppliers of its partner.disclosures entries."""
    service = world[AgencyKind.VICTIM_SERVICE]
    made = factories.AcceptedReferralFactory(
        referrer=world[AgencyKind.PROBATION],
        programme=world["programme"],
        extra={
            "partner_service": service,
            "observers": [world[AgencyKind.COURT], world[AgencyKind.POLICE]],
        },
    )
    services.report_write(
        referral_id=made.id,
        data={"kind": "risk_change", "level": "medium", "tool": "dash", "urgent": False},
        actor=factories.actor_for(world[AgencyKind.PROGRAMME_PROVIDER]),
    )
    task = services.partner_contact_task_of(referral_id=made.id, actor=factories.actor_for(service))
    attempt = {"attempted_at": timezone.now().isoformat(), "outcome": "reached", "notes": "Safe."}
    services.partner_contact_attempt_record(
        task=task,
        data=factories.validated(ContactAttemptSerializer, attempt),
        actor=factories.actor_for(service),
    )
    referral = referral_queryset().get(id=made.id)
    suppliers = {entry.supplier_id for entry in referral.disclosures.all()}
    assert len(suppliers) == 2
    return referral, suppliers, task


def at(body: dict[str, Any], path: tuple[str, ...]) -> bool:
    for key in path:
        if not isinstance(body, dict) or key not in body:
            return False
        body = body[key]
    return True


def expected_keys(
    role: Role, disclosed: frozenset[Category]
) -> tuple[set[str], dict[str, set[str]]]:
    """The serializer's keys for these categories, and those every reader gets: the top-level
    keys, and each group's (subject, partner) where any of its keys is shown."""
    meta = ReferralSerializer.Meta
    top = {name for name, c in meta.categories.items() if c is ADMIN or c in disclosed}
    top |= set(meta.always)
    if role is Role.PARTNER_SERVICE:
        top.add("partner_service")  # DESIGN.md: it always sees its own role
    groups = {}
    for group, shape in (
        ("subject", ReferralSubjectSerializer),
        ("partner", ReferralPartnerSerializer),
    ):
        keys = {name for name, c in shape.Meta.categories.items() if c in disclosed}
        if keys:
            top.add(group)
            groups[group] = keys
    return top, groups


# --- a referral's keys, over every decision -------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_a_referrals_keys_are_exactly_those_of_the_categories_its_reader_may_see(filled, role):
    referral, suppliers, _ = filled
    for disclosed in SUBSETS:
        decision = decision_for(role, disclosed, suppliers)

        body = json.loads(json.dumps(render_referral(referral, decision)))

        top, groups = expected_keys(role, disclosed)
        assert set(body) == top, sorted(disclosed)
        assert {group: set(body[group]) for group in groups} == groups
        for category, path in DESIGN_PATHS.items():
            assert at(body, path) == (category in disclosed), (category, sorted(disclosed))
        assert set(body) >= ADMIN_KEYS
        shows_service = C.PARTNER_IDENTITY in disclosed or role is Role.PARTNER_SERVICE
        assert ("partner_service" in body) == shows_service
        assert body["withheld"] == [
            {"category": str(w.category), "reason": str(w.reason)} for w in decision.withheld
        ]


@pytest.mark.parametrize("role", list(Role))
def test_a_page_rendered_by_one_serializer_gives_each_referral_its_own_readers_view(filled, role):
    """A list renders its page with one serializer (`referral_rendering`), each referral with
    its own decision in turn: every body is what rendering it alone gives, whatever the
    decisions before it disclosed."""
    referral, suppliers, _ = filled
    render = referral_rendering()
    # Alternately everything and nothing, then every subset: a key of one body never stays on.
    decisions = [decision_for(role, frozenset(s), suppliers) for s in (WITHHOLDABLE, (), *SUBSETS)]

    for decision in decisions:
        alone = json.dumps(render_referral(referral, decision))
        assert json.dumps(render(referral, decision)) == alone


def test_each_category_is_kept_where_design_puts_it():
    assert ReferralSerializer().places() == DESIGN_PATHS


def test_every_key_of_a_referral_belongs_to_a_category_or_to_every_reader():
    for shape in (ReferralSerializer, ReferralSubjectSerializer, ReferralPartnerSerializer):
        meta = shape.Meta
        for name, field in shape().fields.items():
            assert (
                name in meta.categories
                or name in meta.always
                or isinstance(field, DecidedSerializer)
            ), name
    assert set(ReferralSerializer.Meta.always) == {"withheld"}


def test_a_shape_cannot_declare_a_key_without_a_category():
    with pytest.raises(TypeError, match="belongs to no data category"):

        class Careless(DecidedSerializer):
            id = serializers.UUIDField()
            partner_phone = serializers.CharField()

            class Meta(DecidedSerializer.Meta):
                categories = {"id": ADMIN}


def test_a_shape_renders_only_for_a_reader():
    with pytest.raises(TypeError, match="reader_context"):
        ReferralSerializer(Referral()).data  # noqa: B018 (rendering is the point)


# --- minimisation is structural: a withheld category is never read -------------------------------

# Who the partner service is and who supplied each partner.disclosures entry are what the
# decision and the naming rule are worked out from (parties_of), for every reader: they are
# read, and shown only as the naming rule allows (test above, tests/test_partner_naming.py).
READ_TO_DECIDE = {"referrals.Referral.partner_service", "referrals.PartnerDisclosure.supplier"}


def fields_of(model: type[Model], withheld: frozenset[Category]) -> set[str]:
    """The attributes of `model` that hold only the data of withheld categories."""
    names = set()
    for field in model._meta.concrete_fields:
        key = f"{model._meta.label}.{field.name}"
        declared = FIELD_CATEGORIES[key]
        if key in READ_TO_DECIDE or not isinstance(declared, Category):
            continue
        if declared in withheld:
            names |= {field.name, field.attname}
    return names


def unreadable(monkeypatch: pytest.MonkeyPatch, withheld: frozenset[Category]) -> None:
    """From now on, reading a withheld category's field of a referral, a report or a
    partner.disclosures entry fails the test."""
    for model in (Referral, Report, PartnerDisclosure):
        forbidden = fields_of(model, withheld)

        def guarded(self: Any, name: str, _forbidden: set[str] = forbidden) -> Any:
            if name in _forbidden:
                raise AssertionError(f"{type(self).__name__}.{name} was read, but is withheld")
            return object.__getattribute__(self, name)

        monkeypatch.setattr(model, "__getattribute__", guarded)


@pytest.mark.parametrize("role", list(Role))
def test_a_withheld_category_is_never_read_from_the_referral(filled, role, monkeypatch):
    referral, suppliers, task = filled
    for disclosed in SUBSETS:
        decision = decision_for(role, disclosed, suppliers)
        withheld = frozenset(WITHHOLDABLE) - disclosed
        context = reader_context(referral, decision)
        with monkeypatch.context() as patch:
            unreadable(patch, withheld)
            ReferralSerializer(referral, context=context).data  # noqa: B018
            ReportListSerializer(referral, context=context).data  # noqa: B018
            shape = {"task": task, "referral": referral}
            PartnerContactTaskSerializer(shape, context=context).data  # noqa: B018


def test_the_guard_catches_a_read_of_a_withheld_category(filled, monkeypatch):
    referral, _, _ = filled
    unreadable(monkeypatch, frozenset({C.RISK}))
    with pytest.raises(AssertionError, match="risk was read"):
        referral.risk  # noqa: B018


# --- the narrower shapes of a referral ------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_reports_and_the_contact_task_speak_only_of_their_own_categories(filled, role):
    referral, suppliers, task = filled
    partner = (C.PARTNER_IDENTITY, C.PARTNER_CONTACT, C.PARTNER_DISCLOSURES)
    for disclosed in SUBSETS:
        decision = decision_for(role, disclosed, suppliers)
        context = reader_context(referral, decision)

        reports = ReportListSerializer(referral, context=context).data
        contact = PartnerContactTaskSerializer(
            {"task": task, "referral": referral}, context=context
        ).data

        assert set(reports) == {"results", "withheld"}
        assert bool(reports["results"]) == (C.PROGRAMME_PROGRESS in disclosed)
        assert [w["category"] for w in reports["withheld"]] == [
            str(w.category) for w in decision.withheld if w.category is C.PROGRAMME_PROGRESS
        ]
        shown = {"identity", "contact"} & {
            name for name, c in ReferralPartnerSerializer.Meta.categories.items() if c in disclosed
        }
        assert set(contact) == {"task", "attempts", "withheld"} | ({"partner"} if shown else set())
        assert set(contact.get("partner", {})) == shown
        assert bool(contact["attempts"]) == (C.PARTNER_DISCLOSURES in disclosed)
        assert all(a["kind"] == "contact_attempt" for a in contact["attempts"])
        assert [w["category"] for w in contact["withheld"]] == [
            str(w.category) for w in decision.withheld if w.category in partner
        ]


# --- the schema documents the class that renders --------------------------------------------------


@pytest.fixture(scope="module")
def documented() -> Any:
    """The response serializer the OpenAPI schema documents for an operation and status (for a
    list page, that of its items)."""
    schema, registry = generated()["schema"], generated()["registry"]

    def component(ref: str) -> tuple[str, dict[str, Any]]:
        name = ref.rsplit("/", 1)[-1]
        return name, schema["components"]["schemas"][name]

    def lookup(path: str, method: str, status: int) -> type:
        response = schema["paths"][path][method]["responses"][str(status)]
        name, body = component(response["content"]["application/json"]["schema"]["$ref"])
        if name.startswith("Paginated"):
            name, _ = component(body["properties"]["results"]["items"]["$ref"])
        found = registry[(name, "schemas")].object
        return found if isinstance(found, type) else type(found)

    return lookup


class Renders:
    """What a serializer class rendered as a whole body (or list item) during a request."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, shape: type) -> None:
        self.bodies: list[Any] = []
        original = shape.to_representation

        def spy(serializer: Any, instance: Any) -> Any:
            body = original(serializer, instance)
            if serializer.parent is None:
                self.bodies.append(json.loads(json.dumps(body)))
            return body

        monkeypatch.setattr(shape, "to_representation", spy)


@pytest.fixture
def parties(api_client_for, world):
    clients = {
        "referrer": api_client_for(world[AgencyKind.PROBATION]),
        "provider": api_client_for(
            world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery"
        ),
        "service": api_client_for(world[AgencyKind.VICTIM_SERVICE], purpose="partner_safety"),
        "dpo": api_client_for(world[AgencyKind.HUB_OPERATOR], scopes=["audit:read"]),
    }
    referral = factories.AcceptedReferralFactory(
        referrer=world[AgencyKind.PROBATION],
        programme=world["programme"],
        extra={"partner_service": world[AgencyKind.VICTIM_SERVICE]},
        client=clients["referrer"],
        provider_client=clients["provider"],
    )
    return {**clients, "id": str(referral.id), "world": world}


def amend(scene: dict[str, Any]) -> Any:
    path = f"/api/v1/referrals/{scene['id']}/"
    etag = scene["referrer"].get(path)["ETag"]
    return scene["referrer"].patch(
        path, {"risk": {"summary": "Calmer."}}, format="json", HTTP_IF_MATCH=etag
    )


def create(scene: dict[str, Any]) -> Any:
    body = referral_body(scene["world"]["programme"].id)
    body["subject"]["identity"]["identifiers"] = [{"system": "test.pnc", "value": "SHAPE/1"}]
    return scene["referrer"].post("/api/v1/referrals/", body, format="json")


def subject_report(scene: dict[str, Any]) -> Any:
    person = Referral.objects.get(id=scene["id"]).subject_id
    return scene["dpo"].get(f"/api/v1/audit/subjects/{person}/report/")


R = "/api/v1/referrals/{referral_id}/"
ATTEMPT = {"outcome": "no_answer", "notes": "Voicemail."}
OPERATIONS = {
    "read": ("get", R, 200, lambda s: s["referrer"].get(f"/api/v1/referrals/{s['id']}/")),
    "list": ("get", "/api/v1/referrals/", 200, lambda s: s["provider"].get("/api/v1/referrals/")),
    "create": ("post", "/api/v1/referrals/", 201, create),
    "amend": ("patch", R, 200, amend),
    "move": (
        "post",
        R + "transitions/",
        200,
        lambda s: s["provider"].post(
            f"/api/v1/referrals/{s['id']}/transitions/", {"to": "in_programme"}, format="json"
        ),
    ),
    "history": (
        "get",
        R + "history/",
        200,
        lambda s: s["service"].get(f"/api/v1/referrals/{s['id']}/history/"),
    ),
    "reports": (
        "get",
        R + "reports/",
        200,
        lambda s: s["referrer"].get(f"/api/v1/referrals/{s['id']}/reports/"),
    ),
    "report": (
        "post",
        R + "reports/",
        201,
        lambda s: s["provider"].post(
            f"/api/v1/referrals/{s['id']}/reports/",
            {"kind": "risk_change", "level": "high", "tool": "dash", "urgent": True},
            format="json",
        ),
    ),
    "contact task": (
        "get",
        R + "partner-contact/",
        200,
        lambda s: s["service"].get(f"/api/v1/referrals/{s['id']}/partner-contact/"),
    ),
    "contact attempt": (
        "post",
        R + "partner-contact/",
        201,
        lambda s: s["service"].post(
            f"/api/v1/referrals/{s['id']}/partner-contact/",
            {**ATTEMPT, "attempted_at": timezone.now().isoformat()},
            format="json",
        ),
    ),
    "events": ("get", "/api/v1/events/", 200, lambda s: s["referrer"].get("/api/v1/events/")),
    "states": (
        "get",
        "/api/v1/referrals/states/",
        200,
        lambda s: s["provider"].get("/api/v1/referrals/states/"),
    ),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_operation_documents_the_serializer_that_renders_its_body(
    operation, documented, parties, monkeypatch
):
    method, path, status, call = OPERATIONS[operation]
    shape = documented(path, method, status)
    renders = Renders(monkeypatch, shape)

    response = call(parties)

    assert response.status_code == status, response.content
    body = response.json()
    if operation == "list":
        assert body["results"] and body["results"] == renders.bodies
    else:
        assert renders.bodies[-1] == body


def test_the_subject_report_holds_what_the_referral_serializer_renders(parties, monkeypatch):
    renders = Renders(monkeypatch, ReferralSerializer)

    report = subject_report(parties).json()

    (held,) = report["held"]
    (rendered,) = renders.bodies
    places = ReferralSerializer().places()
    for category, value in held["data"].items():
        found: Any = rendered
        for key in places[Category(category)]:
            found = found[key]
        assert value == found, category
