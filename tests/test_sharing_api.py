"""Agreements, consents and explain over HTTP, and what they change in a referral's views."""

import datetime
import uuid

import pytest

from agencies.models import AgencyKind
from audit.models import AccessRecord
from consent.models import Consent
from sharing_policies.models import AgreementVersion
from tests.conftest import referral_body

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
P = AgencyKind.PROBATION


def agreement(provider, *, recipient=None, recipient_kind=None, grants, purposes, **extra):
    body = {
        "name": "Test agreement",
        "provider": str(provider.id),
        "recipient": str(recipient.id) if recipient else None,
        "recipient_kind": recipient_kind,
        "purposes": purposes,
        "grants": [{"category": c, "lawful_basis": b} for c, b in grants],
        "valid_from": str(TODAY - datetime.timedelta(days=30)),
        "valid_to": str(TODAY + datetime.timedelta(days=365)),
        "status": "active",
    }
    body.update(extra)
    return body


@pytest.fixture
def scene(api_client_for, world):
    """A probation referral with a partner service and a court observer, and each party's client."""
    clients = {
        "referrer": api_client_for(world[P]),
        "provider": api_client_for(
            world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery"
        ),
        "victim_service": api_client_for(
            world[AgencyKind.VICTIM_SERVICE], purpose="partner_safety"
        ),
        "observer": api_client_for(world[AgencyKind.COURT], purpose="court_compliance"),
        "operator": api_client_for(world[AgencyKind.HUB_OPERATOR], purpose="audit"),
    }
    created = clients["referrer"].post(
        "/api/v1/referrals/",
        referral_body(
            world["programme"].id,
            partner_service=str(world[AgencyKind.VICTIM_SERVICE].id),
            observers=[str(world[AgencyKind.COURT].id)],
        ),
        format="json",
    )
    assert created.status_code == 201
    return {"world": world, "referral": created.json(), **clients}


def read(client, referral):
    response = client.get(f"/api/v1/referrals/{referral['id']}/")
    assert response.status_code == 200
    return response.json()


def publish(client, body):
    response = client.post("/api/v1/sharing-agreements/", body, format="json")
    assert response.status_code == 201, response.content
    return response


def record_consent(client, referral, subject, provisions, **extra):
    body = {
        "referral": referral["id"],
        "data_subject": subject,
        "provisions": provisions,
        "valid_from": str(TODAY - datetime.timedelta(days=1)),
        "evidence": {"method": "signed_form", "reference": "F-1"},
    }
    body.update(extra)
    response = client.post("/api/v1/consents/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- agreements ---------------------------------------------------------------------------------


def test_returns_401_if_unauthenticated(client):
    assert client.get("/api/v1/sharing-agreements/").status_code == 401
    assert client.get("/api/v1/consents/").status_code == 401


def test_publishing_needs_policies_write(api_client_for, world):
    client = api_client_for(world[P], scopes=["policies:read"])
    body = agreement(
        world[P],
        recipient=world[AgencyKind.POLICE],
        grants=[("risk", "public_task")],
        purposes=["marac"],
    )

    assert client.post("/api/v1/sharing-agreements/", body, format="json").status_code == 403


def test_a_provider_publishes_an_agreement_and_parties_to_it_read_it(api_client_for, world):
    probation = api_client_for(world[P])
    body = agreement(
        world[P],
        recipient=world[AgencyKind.POLICE],
        grants=[("risk", "public_task")],
        purposes=["marac"],
    )

    created = publish(probation, body).json()

    assert created["version"] == 1
    assert created["provider"] == str(world[P].id)
    police = api_client_for(world[AgencyKind.POLICE])
    assert police.get(f"/api/v1/sharing-agreements/{created['id']}/").json() == created
    stranger = api_client_for(world[AgencyKind.COURT])
    assert stranger.get(f"/api/v1/sharing-agreements/{created['id']}/").status_code == 404
    assert stranger.get("/api/v1/sharing-agreements/").json()["results"] == []


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"grants": [{"category": "risk", "lawful_basis": "whim"}]}, 400, "grants.0.lawful_basis"),
        (
            {"grants": [{"category": "shoe_size", "lawful_basis": "public_task"}]},
            400,
            "grants.0.category",
        ),
        ({"purposes": ["curiosity"]}, 400, "purposes.0"),
        ({"valid_to": str(TODAY - datetime.timedelta(days=60))}, 400, "valid_to"),
        ({"recipient_kind": "police"}, 400, "recipient"),
        ({"recipient": None}, 400, "recipient"),
        ({"provider": str(uuid.uuid4())}, 422, "provider"),
        ({"recipient": str(uuid.uuid4())}, 422, "recipient"),
    ],
    ids=[
        "unknown-basis",
        "unknown-category",
        "unknown-purpose",
        "valid-to-before-valid-from",
        "both-recipients",
        "no-recipient",
        "unknown-provider",
        "unknown-recipient",
    ],
)
def test_bad_agreements_are_refused_and_nothing_is_written(
    api_client_for, world, change, status, field
):
    client = api_client_for(world[P])
    body = {
        **agreement(
            world[P],
            recipient=world[AgencyKind.POLICE],
            grants=[("risk", "public_task")],
            purposes=["marac"],
        ),
        **change,
    }

    response = client.post("/api/v1/sharing-agreements/", body, format="json")

    assert response.status_code == status
    assert field in [e["field"] for e in response.json()["errors"]]
    assert AgreementVersion.objects.count() == 0


@pytest.mark.parametrize(
    "category", ["partner.contact", "partner.identity", "partner.disclosures", "children"]
)
def test_an_agreement_granting_victim_confidential_data_to_a_programme_provider_is_refused(
    api_client_for, world, category
):
    client = api_client_for(world[P])

    by_id = client.post(
        "/api/v1/sharing-agreements/",
        agreement(
            world[P],
            recipient=world[AgencyKind.PROGRAMME_PROVIDER],
            grants=[(category, "consent")],
            purposes=["programme_delivery"],
        ),
        format="json",
    )
    by_kind = client.post(
        "/api/v1/sharing-agreements/",
        agreement(
            world[P],
            recipient_kind="programme_provider",
            grants=[(category, "legal_obligation")],
            purposes=["programme_delivery"],
        ),
        format="json",
    )

    assert (by_id.status_code, by_kind.status_code) == (422, 422)
    assert AgreementVersion.objects.count() == 0


def test_an_agency_publishes_only_over_data_it_supplies(api_client_for, world):
    police = api_client_for(world[AgencyKind.POLICE])

    response = police.post(
        "/api/v1/sharing-agreements/",
        agreement(
            world[P],
            recipient=world[AgencyKind.COURT],
            grants=[("risk", "public_task")],
            purposes=["marac"],
        ),
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "provider"


def test_the_hub_operator_publishes_for_any_provider(api_client_for, world):
    operator = api_client_for(world[AgencyKind.HUB_OPERATOR])

    publish(
        operator,
        agreement(
            world[P],
            recipient=world[AgencyKind.COURT],
            grants=[("risk", "public_task")],
            purposes=["marac"],
        ),
    )


def test_an_agreement_with_itself_is_refused(api_client_for, world):
    client = api_client_for(world[P])

    response = client.post(
        "/api/v1/sharing-agreements/",
        agreement(
            world[P], recipient=world[P], grants=[("risk", "public_task")], purposes=["marac"]
        ),
        format="json",
    )

    assert response.status_code == 422


def test_a_change_is_a_new_version_and_needs_if_match(api_client_for, world):
    client = api_client_for(world[P])
    created = publish(
        client,
        agreement(
            world[P],
            recipient=world[AgencyKind.POLICE],
            grants=[("risk", "public_task")],
            purposes=["marac"],
        ),
    )
    url = f"/api/v1/sharing-agreements/{created.json()['id']}/"

    missing = client.patch(url, {"status": "suspended"}, format="json")
    stale = client.patch(url, {"status": "suspended"}, format="json", HTTP_IF_MATCH='"stale"')
    changed = client.patch(
        url, {"status": "suspended"}, format="json", HTTP_IF_MATCH=created["ETag"]
    )
    again = client.patch(url, {"status": "active"}, format="json", HTTP_IF_MATCH=created["ETag"])

    assert (missing.status_code, stale.status_code, changed.status_code) == (428, 412, 200)
    assert changed.json()["version"] == 2
    assert changed.json()["id"] == created.json()["id"]
    assert again.status_code == 412
    versions = AgreementVersion.objects.filter(agreement_id=created.json()["id"]).order_by(
        "version"
    )
    assert [(v.version, v.status) for v in versions] == [(1, "active"), (2, "suspended")]


def test_only_the_provider_or_the_hub_operator_changes_an_agreement(api_client_for, world):
    created = publish(
        api_client_for(world[P]),
        agreement(
            world[P],
            recipient=world[AgencyKind.POLICE],
            grants=[("risk", "public_task")],
            purposes=["marac"],
        ),
    )
    police = api_client_for(world[AgencyKind.POLICE])
    url = f"/api/v1/sharing-agreements/{created.json()['id']}/"

    response = police.patch(
        url, {"status": "suspended"}, format="json", HTTP_IF_MATCH=created["ETag"]
    )

    assert response.status_code == 403


# --- what each party sees of one referral -------------------------------------------------------


def test_one_referral_four_views(scene):
    world, referrer = scene["world"], scene["referrer"]
    publish(
        referrer,
        agreement(
            world[P],
            recipient=world[AgencyKind.PROGRAMME_PROVIDER],
            grants=[
                ("subject.identity", "public_task"),
                ("offence", "public_task"),
                ("risk", "public_task"),
            ],
            purposes=["programme_delivery"],
        ),
    )
    publish(
        referrer,
        agreement(
            world[P],
            recipient=world[AgencyKind.VICTIM_SERVICE],
            grants=[
                ("partner.identity", "public_task"),
                ("partner.contact", "consent"),
                ("risk", "legitimate_interests"),
            ],
            purposes=["partner_safety"],
        ),
    )
    publish(
        referrer,
        agreement(
            world[P],
            recipient_kind="court",
            grants=[("subject.identity", "legal_obligation"), ("offence", "legal_obligation")],
            purposes=["court_compliance"],
        ),
    )
    record_consent(
        referrer,
        scene["referral"],
        "partner",
        [
            {
                "type": "permit",
                "categories": ["partner.contact"],
                "recipients": [str(world[AgencyKind.VICTIM_SERVICE].id)],
                "purposes": ["partner_safety"],
            }
        ],
    )

    provider = read(scene["provider"], scene["referral"])
    victim_service = read(scene["victim_service"], scene["referral"])
    observer = read(scene["observer"], scene["referral"])
    referrer_view = read(referrer, scene["referral"])

    assert set(provider) >= {"subject", "offence", "risk"}
    assert "contact" not in provider["subject"] and "partner" not in provider
    assert {w["category"] for w in provider["withheld"]} == {
        "subject.contact",
        "partner.identity",
        "partner.contact",
        "partner.disclosures",
        "children",
    }
    assert victim_service["partner"]["contact"]["safe_contact"] == "Mornings"
    assert victim_service["partner"]["identity"]["name"] == "Beth Private"
    assert victim_service["risk"]["level"] == "high"
    assert "subject" not in victim_service and "offence" not in victim_service
    assert observer["subject"]["identity"]["family_name"] == "Testcase"
    assert "risk" not in observer and "partner_service" not in observer
    assert referrer_view["withheld"] == []


def test_a_withdrawn_partner_consent_hides_partner_contact_on_the_next_read(scene):
    world, referrer = scene["world"], scene["referrer"]
    publish(
        referrer,
        agreement(
            world[P],
            recipient=world[AgencyKind.VICTIM_SERVICE],
            grants=[("partner.contact", "consent")],
            purposes=["partner_safety"],
        ),
    )
    consent = record_consent(
        referrer,
        scene["referral"],
        "partner",
        [{"type": "permit", "categories": ["partner.contact"]}],
    )
    assert "contact" in read(scene["victim_service"], scene["referral"])["partner"]

    withdrawn = scene["victim_service"].post(
        f"/api/v1/consents/{consent['id']}/withdraw/",
        {"reason": "She asked us to stop."},
        format="json",
    )

    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    view = read(scene["victim_service"], scene["referral"])
    assert "partner" not in view
    assert {"category": "partner.contact", "reason": "no_consent"} in view["withheld"]


def test_a_suspended_agreement_hides_its_categories_on_the_next_read(scene):
    world, referrer = scene["world"], scene["referrer"]
    created = publish(
        referrer,
        agreement(
            world[P],
            recipient=world[AgencyKind.PROGRAMME_PROVIDER],
            grants=[("risk", "public_task")],
            purposes=["programme_delivery"],
        ),
    )
    assert "risk" in read(scene["provider"], scene["referral"])

    referrer.patch(
        f"/api/v1/sharing-agreements/{created.json()['id']}/",
        {"status": "suspended"},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )

    view = read(scene["provider"], scene["referral"])
    assert "risk" not in view
    assert {"category": "risk", "reason": "no_agreement"} in view["withheld"]


def test_a_deny_beats_a_permit_but_not_a_legal_obligation(scene):
    world, referrer = scene["world"], scene["referrer"]
    publish(
        referrer,
        agreement(
            world[P],
            recipient=world[AgencyKind.VICTIM_SERVICE],
            grants=[("risk", "consent"), ("offence", "legal_obligation")],
            purposes=["partner_safety"],
        ),
    )
    record_consent(
        referrer,
        scene["referral"],
        "subject",
        [
            {"type": "permit", "categories": ["risk", "offence"]},
            {
                "type": "deny",
                "categories": ["risk", "offence"],
                "recipient_kinds": ["victim_service"],
            },
        ],
    )

    view = read(scene["victim_service"], scene["referral"])

    assert "risk" not in view
    assert {"category": "risk", "reason": "consent_denied"} in view["withheld"]
    assert view["offence"]["summary"] == "Common assault."


def test_vital_interests_release_only_on_an_emergency_read(scene):
    world, referrer = scene["world"], scene["referrer"]
    publish(
        referrer,
        agreement(
            world[P],
            recipient=world[AgencyKind.COURT],
            grants=[("partner.contact", "vital_interests")],
            purposes=["court_compliance"],
        ),
    )
    url = f"/api/v1/referrals/{scene['referral']['id']}/"

    plain = scene["observer"].get(url).json()
    emergency = scene["observer"].get(
        url, HTTP_X_EMERGENCY_JUSTIFICATION="Police report threat to life tonight"
    )

    assert {"category": "partner.contact", "reason": "emergency_only"} in plain["withheld"]
    assert emergency.json()["partner"]["contact"]["phone"] == "01632 960200"
    record = AccessRecord.objects.latest("at")
    assert record.flagged and record.justification.startswith("Police report")
    basis = next(b for b in record.decisions[0]["bases"] if b["category"] == "partner.contact")
    assert basis["lawful_basis"] == "vital_interests"
    assert basis["agreement_version"] == 1


def test_an_emergency_release_raises_an_event_for_the_supplier_only(scene):
    from referrals.models import Event

    world, referrer = scene["world"], scene["referrer"]
    publish(
        referrer,
        agreement(
            world[P],
            recipient=world[AgencyKind.COURT],
            grants=[("partner.contact", "vital_interests"), ("risk", "public_task")],
            purposes=["court_compliance"],
        ),
    )
    url = f"/api/v1/referrals/{scene['referral']['id']}/"

    scene["observer"].get(url)
    assert not Event.objects.filter(type="emergency_release").exists()
    scene["observer"].get(
        url, HTTP_X_EMERGENCY_JUSTIFICATION="Police report threat to life tonight"
    )

    event = Event.objects.get(type="emergency_release")
    assert event.recipient_id == world[P].id
    assert str(event.referral_id) == scene["referral"]["id"]
    assert event.about == {
        "released_to": str(world[AgencyKind.COURT].id),
        "categories": ["partner.contact"],
    }


def test_an_emergency_read_that_releases_nothing_raises_no_event(scene):
    from referrals.models import Event

    scene["observer"].get(
        f"/api/v1/referrals/{scene['referral']['id']}/",
        HTTP_X_EMERGENCY_JUSTIFICATION="Police report threat to life tonight",
    )

    assert not Event.objects.filter(type="emergency_release").exists()


def test_access_record_names_the_agreement_and_consent_versions_a_disclosure_rested_on(scene):
    world, referrer = scene["world"], scene["referrer"]
    created = publish(
        referrer,
        agreement(
            world[P],
            recipient=world[AgencyKind.VICTIM_SERVICE],
            grants=[("partner.contact", "consent")],
            purposes=["partner_safety"],
        ),
    ).json()
    consent = record_consent(
        referrer,
        scene["referral"],
        "partner",
        [{"type": "permit", "categories": ["partner.contact"]}],
    )

    read(scene["victim_service"], scene["referral"])

    record = AccessRecord.objects.latest("at")
    basis = next(b for b in record.decisions[0]["bases"] if b["category"] == "partner.contact")
    assert basis == {
        "category": "partner.contact",
        "lawful_basis": "consent",
        "agreement": created["id"],
        "agreement_version": 1,
        "consent": consent["id"],
        "supplier": str(world[P].id),
    }


# --- consents -----------------------------------------------------------------------------------


def test_consents_exist_only_for_the_referrer_and_the_partner_service(scene):
    consent = record_consent(
        scene["referrer"],
        scene["referral"],
        "subject",
        [{"type": "permit", "categories": ["risk"]}],
    )

    assert scene["victim_service"].get(f"/api/v1/consents/{consent['id']}/").status_code == 200
    for other in ("provider", "observer"):
        assert scene[other].get(f"/api/v1/consents/{consent['id']}/").status_code == 404
        assert scene[other].get("/api/v1/consents/").json()["results"] == []
        response = scene[other].post(
            "/api/v1/consents/",
            {
                "referral": scene["referral"]["id"],
                "data_subject": "subject",
                "provisions": [{"type": "permit", "categories": ["risk"]}],
                "valid_from": str(TODAY),
                "evidence": {"method": "verbal"},
            },
            format="json",
        )
        assert response.status_code == 404


def test_a_permit_naming_a_programme_provider_for_partner_data_is_refused(scene):
    world = scene["world"]

    for provision in (
        {
            "type": "permit",
            "categories": ["partner.contact"],
            "recipient_kinds": ["programme_provider"],
        },
        {
            "type": "permit",
            "categories": ["children"],
            "recipients": [str(world[AgencyKind.PROGRAMME_PROVIDER].id)],
        },
    ):
        response = scene["referrer"].post(
            "/api/v1/consents/",
            {
                "referral": scene["referral"]["id"],
                "data_subject": "partner",
                "provisions": [provision],
                "valid_from": str(TODAY),
                "evidence": {"method": "verbal"},
            },
            format="json",
        )
        assert response.status_code == 422
    assert Consent.objects.count() == 0


def test_a_deny_naming_a_programme_provider_is_accepted(scene):
    record_consent(
        scene["referrer"],
        scene["referral"],
        "partner",
        [
            {
                "type": "deny",
                "categories": ["partner.contact"],
                "recipient_kinds": ["programme_provider"],
            }
        ],
    )


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (
            {
                "provisions": [
                    {"type": "permit", "categories": ["risk"], "recipients": [str(uuid.uuid4())]}
                ]
            },
            422,
        ),
        ({"provisions": [{"type": "permit", "categories": ["hobbies"]}]}, 400),
        ({"valid_to": "2000-01-01"}, 400),
        ({"referral": str(uuid.uuid4())}, 404),
        ({"data_subject": "neighbour"}, 400),
    ],
    ids=[
        "unknown-recipient",
        "unknown-category",
        "dates-in-wrong-order",
        "unknown-referral",
        "unknown-subject",
    ],
)
def test_bad_consents_are_refused_and_nothing_is_written(scene, change, status):
    body = {
        "referral": scene["referral"]["id"],
        "data_subject": "subject",
        "provisions": [{"type": "permit", "categories": ["risk"]}],
        "valid_from": str(TODAY),
        "evidence": {"method": "verbal"},
        **change,
    }

    response = scene["referrer"].post("/api/v1/consents/", body, format="json")

    assert response.status_code == status
    assert Consent.objects.count() == 0


def test_a_second_withdrawal_is_a_409(scene):
    consent = record_consent(
        scene["referrer"],
        scene["referral"],
        "subject",
        [{"type": "permit", "categories": ["risk"]}],
    )
    url = f"/api/v1/consents/{consent['id']}/withdraw/"

    first = scene["referrer"].post(url, {"reason": "He withdrew it."}, format="json")
    second = scene["referrer"].post(url, {"reason": "Again."}, format="json")

    assert (first.status_code, second.status_code) == (200, 409)
    assert Consent.objects.get().withdrawal_reason == "He withdrew it."


# --- explain ------------------------------------------------------------------------------------


def test_a_party_asks_why_it_cannot_see_a_category(scene):
    world = scene["world"]
    vs = world[AgencyKind.VICTIM_SERVICE]
    publish(
        scene["referrer"],
        agreement(
            world[P],
            recipient=vs,
            grants=[("partner.contact", "consent")],
            purposes=["partner_safety"],
        ),
    )

    response = scene["victim_service"].get(
        "/api/v1/sharing-agreements/explain/",
        {"referral": scene["referral"]["id"], "agency": str(vs.id), "purpose": "partner_safety"},
    )

    assert response.status_code == 200
    by_category = {c["category"]: c for c in response.json()["categories"]}
    assert by_category["partner.contact"]["disclosed"] is False
    assert by_category["partner.contact"]["reason"] == "no_consent"
    assert by_category["partner.contact"]["agreements"][0]["version"] == 1
    assert by_category["risk"]["reason"] == "no_agreement"
    assert by_category["referral.admin"]["disclosed"] is True
    assert "Beth" not in response.content.decode()


def test_explain_about_another_agency_is_a_404_except_for_the_hub_operator(scene):
    world = scene["world"]
    query = {
        "referral": scene["referral"]["id"],
        "agency": str(world[AgencyKind.VICTIM_SERVICE].id),
        "purpose": "partner_safety",
    }

    assert scene["provider"].get("/api/v1/sharing-agreements/explain/", query).status_code == 404
    operator = scene["operator"].get("/api/v1/sharing-agreements/explain/", query)
    assert operator.status_code == 200
    assert operator.json()["roles"] == ["partner_service"]


def test_explain_names_the_partner_service_only_to_those_who_may_know_it(scene):
    world = scene["world"]
    vs = world[AgencyKind.VICTIM_SERVICE]
    court = world[AgencyKind.COURT]
    publish(
        scene["victim_service"],
        agreement(
            vs, recipient=court, grants=[("risk", "public_task")], purposes=["court_compliance"]
        ),
    )

    response = scene["observer"].get(
        "/api/v1/sharing-agreements/explain/",
        {
            "referral": scene["referral"]["id"],
            "agency": str(court.id),
            "purpose": "court_compliance",
        },
    )

    assert str(vs.id) not in response.content.decode()


def test_a_change_naming_a_grant_without_its_basis_is_a_400(api_client_for, world):
    client = api_client_for(world[P])
    created = publish(
        client,
        agreement(
            world[P],
            recipient=world[AgencyKind.POLICE],
            grants=[("risk", "public_task")],
            purposes=["marac"],
        ),
    )

    response = client.patch(
        f"/api/v1/sharing-agreements/{created.json()['id']}/",
        {"grants": [{"category": "risk"}]},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "grants.0.lawful_basis", "message": "This field is required."}
    ]
