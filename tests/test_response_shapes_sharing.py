"""One source per response shape (issue 13, item 3): consents, agreements, explain, access
records, a referral's accesses and flag reviews.

Each body is rendered by one output serializer, and that class is what the OpenAPI schema
documents: for every kind of reader, the body is what the class rendered, its keys are exactly
the class's fields (a reader is shown null where its view withholds a value, never a key less),
and the schema's component is generated from that class.
"""

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import AgencyKind
from audit.bursts import close_bursts
from audit.serializers import (
    AccessBurstSerializer,
    AccessRecordSerializer,
    AccessSerializer,
    BasisSerializer,
    RecordDecisionSerializer,
    ReviewSerializer,
    WithheldEntrySerializer,
)
from consent.serializers import ConsentSerializer, ProvisionViewSerializer
from referrals.models import Referral
from sharing_policies.serializers import (
    AgreementRefSerializer,
    AgreementSerializer,
    ExplainedBasisSerializer,
    ExplainedCategorySerializer,
    ExplanationSerializer,
    GrantSerializer,
)
from tests import factories
from tests.conftest import referral_body
from tests.schema_components import (
    assert_component_made_from,
    fields_of,
    generated,
    operation,
)

pytestmark = pytest.mark.django_db

P = AgencyKind.PROBATION
PP = AgencyKind.PROGRAMME_PROVIDER
COURT = AgencyKind.COURT
POLICE = AgencyKind.POLICE
VS = AgencyKind.VICTIM_SERVICE
HUB = AgencyKind.HUB_OPERATOR
READERS = [P, PP, COURT, POLICE, VS, HUB]
PURPOSES = {
    P: "risk_management",
    PP: "programme_delivery",
    COURT: "court_compliance",
    POLICE: "risk_management",
    VS: "partner_safety",
    HUB: "audit",
}
PARTIES = [P, PP, COURT, POLICE, VS]


# An object kept as JSON (a grant, a provision, a recorded basis, withheld entry or burst)
# keeps its stored key order (core.serializers.StoredKeyOrder, PostgreSQL's own): compare those
# as sets.


@pytest.fixture
def renders(monkeypatch) -> Callable[[type], list[Any]]:
    """`renders(cls)`: the bodies `cls` renders from then on, in a list filled as it renders."""

    def spy(serializer_class: type) -> list[Any]:
        bodies: list[Any] = []
        real = serializer_class.to_representation

        def to_representation(self, instance):
            body = real(self, instance)
            bodies.append(body)
            return body

        monkeypatch.setattr(serializer_class, "to_representation", to_representation)
        return bodies

    return spy


@pytest.fixture
def scene(api_client_for, world):
    """A probation referral to the provider's programme, its partner supported by the victim
    service, observed by the court and the police; agreements that make each kind a provider or
    recipient of one; the partner's consents (one naming the victim service and the court, one
    withdrawn); every party has read the referral; a refused request waits for review."""
    clients = {
        kind: api_client_for(world[kind], purpose=PURPOSES[kind]) for kind in READERS if kind != HUB
    }
    clients[HUB] = api_client_for(world[HUB], purpose="audit")
    created = clients[P].post(
        "/api/v1/referrals/",
        referral_body(
            world["programme"].id,
            partner_service=str(world[VS].id),
            observers=[str(world[COURT].id), str(world[POLICE].id)],
        ),
        format="json",
    )
    assert created.status_code == 201, created.content
    referral = created.json()
    factories.AgreementFactory(provider=world[P], recipient=world[PP], grants=("offence", "risk"))
    factories.AgreementFactory(
        provider=world[P],
        recipient=world[COURT],
        grants=("offence",),
        purposes=("court_compliance",),
    )
    factories.AgreementFactory(
        provider=world[P],
        recipient=None,
        recipient_kind=POLICE,
        grants=("subject.identity", "risk"),
        purposes=("risk_management",),
    )
    factories.AgreementFactory(
        provider=world[P],
        recipient=world[VS],
        purposes=("partner_safety",),
        changes={"grants": [{"category": "partner.contact", "lawful_basis": "consent"}]},
    )
    factories.AgreementFactory(
        provider=world[VS],
        recipient=world[P],
        grants=("partner.disclosures",),
        purposes=("risk_management",),
        changes={"review_date": str(datetime.date.today() - datetime.timedelta(days=1))},
    )
    stored = Referral.objects.get(id=referral["id"])
    factories.ConsentFactory(referral=stored)
    factories.ConsentFactory(
        referral=stored,
        provisions=[
            {
                "type": "permit",
                "categories": ["risk"],
                "recipients": [world[VS], world[COURT]],
                "purposes": ["court_compliance", "partner_safety"],
            },
            {"type": "deny", "categories": ["children"]},
        ],
    )
    factories.WithdrawnConsentFactory(referral=stored, recorder=world[VS])
    for kind in PARTIES:
        assert clients[kind].get(f"/api/v1/referrals/{referral['id']}/").status_code == 200
    refused = clients[PP].post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    )
    assert refused.status_code == 403
    return {"world": world, "referral": referral, "clients": clients}


# --- consents -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", READERS)
def test_a_consent_body_has_exactly_the_consent_serializers_fields_for_each_reader(
    scene, kind, renders
):
    rendered = renders(ConsentSerializer)
    response = scene["clients"][kind].get(
        "/api/v1/consents/", {"referral": scene["referral"]["id"]}
    )

    if kind == HUB:  # holds no consent:read
        assert response.status_code == 403
        return
    if kind not in (P, VS):  # to anyone but these two a consent does not exist
        assert response.json()["results"] == []
        return
    consents = response.json()["results"]
    assert len(consents) == 3
    assert consents == rendered
    for consent in consents:
        assert list(consent) == fields_of(ConsentSerializer)
        for provision in consent["provisions"]:
            # Keys a provision was recorded without are left out, never given as null.
            assert set(provision) <= set(fields_of(ProvisionViewSerializer))
            assert {"type", "categories"} <= set(provision)


def test_one_consent_read_and_its_withdrawal_are_rendered_by_the_consent_serializer(scene, renders):
    referrer = scene["clients"][P]
    consents = referrer.get("/api/v1/consents/").json()["results"]
    consent = next(c for c in consents if c["status"] == "active")
    rendered = renders(ConsentSerializer)

    read = referrer.get(f"/api/v1/consents/{consent['id']}/")
    withdrawn = referrer.post(
        f"/api/v1/consents/{consent['id']}/withdraw/", {"reason": "Asked to."}, format="json"
    )

    assert [read.json(), withdrawn.json()] == rendered
    assert list(withdrawn.json()) == fields_of(ConsentSerializer)
    assert withdrawn.json()["withdrawal_reason"] == "Asked to."


# --- agreements -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", READERS)
def test_an_agreement_body_has_exactly_the_agreement_serializers_fields_for_each_reader(
    scene, kind, renders
):
    rendered = renders(AgreementSerializer)
    response = scene["clients"][kind].get("/api/v1/sharing-agreements/")

    assert response.status_code == 200
    agreements = response.json()["results"]
    assert agreements, f"the scene gives {kind} an agreement"
    assert agreements == rendered
    for agreement in agreements:
        assert list(agreement) == fields_of(AgreementSerializer)
        for grant in agreement["grants"]:
            assert set(grant) == set(fields_of(GrantSerializer))
    read = scene["clients"][kind].get(f"/api/v1/sharing-agreements/{agreements[0]['id']}/")
    assert read.json() == rendered[-1] == agreements[0]


def test_an_agreement_names_the_victim_service_only_to_itself_and_the_hub_operator(scene):
    world = scene["world"]

    def providers_seen_by(kind):
        results = scene["clients"][kind].get("/api/v1/sharing-agreements/").json()["results"]
        return {a["provider"] for a in results}

    assert providers_seen_by(P) == {str(world[P].id), "victim_service"}
    assert providers_seen_by(VS) == {str(world[P].id), str(world[VS].id)}
    assert providers_seen_by(HUB) == {str(world[P].id), str(world[VS].id)}


# --- explain --------------------------------------------------------------------------------------


def explained(scene, kind, about):
    world = scene["world"]
    return scene["clients"][kind].get(
        "/api/v1/sharing-agreements/explain/",
        {
            "referral": scene["referral"]["id"],
            "agency": str(world[about].id),
            "purpose": PURPOSES[about],
        },
    )


@pytest.mark.parametrize("kind", READERS)
def test_explain_has_exactly_the_explanation_serializers_fields_for_each_reader(
    scene, kind, renders
):
    rendered = renders(ExplanationSerializer)
    # A party asks about itself; the hub operator about anyone (here the programme provider).
    response = explained(scene, kind, PP if kind == HUB else kind)

    assert response.status_code == 200
    explanation = response.json()
    assert [explanation] == rendered
    assert list(explanation) == fields_of(ExplanationSerializer)
    assert len(explanation["categories"]) == 10
    bases = []
    for category in explanation["categories"]:
        assert list(category) == fields_of(ExplainedCategorySerializer)
        bases += category["bases"]
        for ref in category["agreements"]:
            assert list(ref) == fields_of(AgreementRefSerializer)
    assert bases, "every party sees the categories it supplied, or referral.admin"
    for basis in bases:
        assert list(basis) == fields_of(ExplainedBasisSerializer)


# --- access records (the DPO search) -------------------------------------------------------------


@pytest.mark.parametrize("kind", READERS)
def test_an_access_record_has_exactly_the_access_record_serializers_fields_for_each_reader(
    scene, kind, renders
):
    rendered = renders(AccessRecordSerializer)
    response = scene["clients"][kind].get(
        "/api/v1/audit/events/", {"referral": scene["referral"]["id"]}
    )

    assert response.status_code == 200
    records = response.json()["results"]
    assert records, f"{kind} sees at least its own read"
    assert all(record in rendered for record in records)
    in_full_only = set(AccessRecordSerializer.IN_FULL_ONLY)
    own = str(scene["world"][kind].id)
    for record in records:
        assert list(record) == fields_of(AccessRecordSerializer)
        if kind != HUB and record["agency"] != own:
            # Another agency's request: what the reader's view withholds is null, not absent.
            assert all(record[name] is None for name in in_full_only)
        for entry in record["withheld"]:
            assert set(entry) == set(fields_of(WithheldEntrySerializer))
        for decision in record["decisions"]:
            assert list(decision) == fields_of(RecordDecisionSerializer)
            for basis in decision["bases"]:
                assert set(basis) == set(fields_of(BasisSerializer))


def test_a_reviewed_record_and_its_review_have_exactly_their_serializers_fields(scene, renders):
    operator = scene["clients"][HUB]
    (flagged,) = operator.get(
        "/api/v1/audit/events/", {"flagged": "true", "agency": scene["world"][PP].id}
    ).json()["results"]
    rendered = renders(ReviewSerializer)

    reviewed = operator.post(
        f"/api/v1/audit/events/{flagged['id']}/review/", {"note": "Checked."}, format="json"
    )
    (record,) = operator.get(
        "/api/v1/audit/events/", {"flagged": "true", "agency": scene["world"][PP].id}
    ).json()["results"]

    assert reviewed.status_code == 201
    assert reviewed.json() == rendered[0]
    assert list(reviewed.json()) == fields_of(ReviewSerializer)
    assert record["review"] == reviewed.json()
    assert list(record) == fields_of(AccessRecordSerializer)


def test_a_folded_burst_of_refusals_has_exactly_the_burst_serializers_fields(scene):
    # Refusals without an accountable caller are folded into one record (audit.bursts).
    for _ in range(4):
        forged = APIClient().get("/api/v1/referrals/", HTTP_AUTHORIZATION="Bearer forged")
        assert forged.status_code == 401
    close_bursts(now=timezone.now() + datetime.timedelta(hours=1))

    response = scene["clients"][HUB].get("/api/v1/audit/events/", {"outcome": "refused"})

    bursts = [r["burst"] for r in response.json()["results"] if r["burst"]]
    assert [burst["count"] for burst in bursts] == [3]
    assert set(bursts[0]) == set(fields_of(AccessBurstSerializer))


# --- a referral's accesses, for its parties -------------------------------------------------------


@pytest.mark.parametrize("kind", READERS)
def test_an_access_has_exactly_the_access_serializers_fields_for_each_reader(scene, kind, renders):
    rendered = renders(AccessSerializer)
    response = scene["clients"][kind].get(f"/api/v1/referrals/{scene['referral']['id']}/accesses/")

    if kind == HUB:  # not a party, and without referrals:read
        assert response.status_code == 403
        return
    assert response.status_code == 200
    accesses = response.json()["results"]
    assert accesses, f"{kind} sees at least its own read"
    assert accesses == rendered
    own = str(scene["world"][kind].id)
    for access in accesses:
        assert list(access) == fields_of(AccessSerializer)
        assert (access["method"] is None) == (access["agency"] != own)


# --- the schema is generated from the rendering classes -------------------------------------------


# (rendering class, its component, operations whose success body is it or a page of it)
DOCUMENTED = [
    (
        ConsentSerializer,
        "Consent",
        [
            ("get", "/api/v1/consents/"),
            ("post", "/api/v1/consents/"),
            ("get", "/api/v1/consents/{consent_id}/"),
            ("post", "/api/v1/consents/{consent_id}/withdraw/"),
        ],
    ),
    (
        AgreementSerializer,
        "Agreement",
        [
            ("get", "/api/v1/sharing-agreements/"),
            ("post", "/api/v1/sharing-agreements/"),
            ("get", "/api/v1/sharing-agreements/{agreement_id}/"),
            ("patch", "/api/v1/sharing-agreements/{agreement_id}/"),
        ],
    ),
    (ExplanationSerializer, "Explanation", [("get", "/api/v1/sharing-agreements/explain/")]),
    (ExplainedCategorySerializer, "ExplainedCategory", []),
    (
        AccessRecordSerializer,
        "AccessRecord",
        [("get", "/api/v1/audit/events/"), ("get", "/api/v1/audit/events/export/")],
    ),
    (RecordDecisionSerializer, "RecordDecision", []),
    (BasisSerializer, "Basis", []),
    (ReviewSerializer, "Review", [("post", "/api/v1/audit/events/{record_id}/review/")]),
    (AccessSerializer, "Access", [("get", "/api/v1/referrals/{referral_id}/accesses/")]),
]


@pytest.mark.parametrize(
    ("serializer_class", "component", "operations"),
    DOCUMENTED,
    ids=[component for _, component, _ in DOCUMENTED],
)
def test_the_schema_component_is_generated_from_the_class_that_renders_the_body(
    serializer_class, component, operations
):
    components = assert_component_made_from(serializer_class, component)
    for method, path in operations:
        responses = operation(method, path)["responses"]
        success = next(r for status, r in responses.items() if status[0] == "2")
        body = success["content"]["application/json"]["schema"]
        assert f"#/components/schemas/{component}" in (
            body.get("$ref"),
            body.get("items", {}).get("$ref"),
            paginated_items(components, body),
        ), f"{method.upper()} {path} does not answer {component}"


def paginated_items(components: dict[str, Any], body: dict[str, Any]) -> str | None:
    name = body.get("$ref", "").removeprefix("#/components/schemas/")
    results = components.get(name, {}).get("properties", {}).get("results", {})
    return results.get("items", {}).get("$ref")


def test_explain_documents_each_basis_as_an_object_whose_keys_its_class_renders():
    # The committed contract gives a basis as an object of any keys; the keys a body holds
    # are those of ExplainedBasisSerializer (test above, for every reader).
    category = generated()["schema"]["components"]["schemas"]["ExplainedCategory"]

    assert category["properties"]["bases"]["items"] == {
        "type": "object",
        "additionalProperties": {},
    }
