"""Side doors around the partner's safety (issue 10): identifier matching that would tell a
referrer what the hub holds, an emergency release on a request other than a referral's read,
and couple work reached by changing a programme after referrals were made."""

import datetime
import json
import re
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from agencies.models import AgencyKind
from audit.models import AccessRecord, FlagReview
from consent.models import Consent
from referrals.models import (
    Amendment,
    Event,
    PartnerDisclosure,
    Person,
    PersonIdentifier,
    Programme,
    Referral,
    Report,
    Transition,
)
from sharing_policies.models import Agreement, AgreementVersion
from tests.conftest import openapi_schema, referral_body
from tests.factories import ProgrammeFactory

pytestmark = pytest.mark.django_db

REFERRALS = "/api/v1/referrals/"
TODAY = datetime.date.today()
JUSTIFICATION = "Police report an imminent threat to her life."
# The partner's NHS number: what a probing referrer would like to know the hub holds.
HER_NHS = {"system": "test.nhs", "value": "943 476 5919"}
HIS_PNC = {"system": "test.pnc", "value": "85/000001A"}


# --- helpers -------------------------------------------------------------------------------------


def refer(client: Any, programme: Programme, *, subject_ids=(), partner_ids=None, **extra) -> Any:
    """A referral whose man (and, given `partner_ids`, partner) carries these identifiers."""
    body = referral_body(programme.id, **extra)
    body["subject"]["identity"]["identifiers"] = list(subject_ids)
    if partner_ids is None:
        body.pop("partner")
    else:
        body["partner"]["identity"]["identifiers"] = list(partner_ids)
    return client.post(REFERRALS, body, format="json")


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.content
    return response.json()


def identifiers_of(person_id: Any) -> set[tuple[str, str]]:
    return set(PersonIdentifier.objects.filter(person_id=person_id).values_list("system", "value"))


def holder_of(identifier: dict[str, str]) -> str | None:
    held = PersonIdentifier.objects.filter(**identifier).values_list("person_id", flat=True)
    return str(held[0]) if held else None


UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MOMENT_PATTERN = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)?")


def as_the_caller_compares_it(body: Any, *, known: dict[str, str]) -> str:
    """The response as a caller can compare it across worlds: an id it knew before becomes the
    name it knows it by (`known`); every other id its order of first appearance (a new id
    reveals nothing but whether it recurs); times are dropped."""
    text = json.dumps(body, sort_keys=True)
    fresh: dict[str, str] = {}

    def normalise(match: re.Match[str]) -> str:
        value = match.group(0)
        return known.get(value) or fresh.setdefault(value, f"new-{len(fresh)}")

    return MOMENT_PATTERN.sub("<time>", UUID_PATTERN.sub(normalise, text))


def in_a_world_rolled_back(build: Any) -> Any:
    """Runs `build` and then undoes everything it wrote (the audit tables refuse DELETE, so a
    world is rolled back, never cleaned up)."""
    with transaction.atomic():
        result = build()
        transaction.set_rollback(True)
    return result


@pytest.fixture
def prober(api_client_for, make_agency):
    """A referring agency party to nothing of anyone else's."""
    return api_client_for(make_agency(kind=AgencyKind.POLICE, name="Probing force"))


@pytest.fixture
def others(api_client_for, world):
    """Another referrer, whose referral of a man names his partner by her NHS number."""
    return api_client_for(world[AgencyKind.PROBATION])


def test_returns_401_if_unauthenticated(client, world):
    assert client.post(REFERRALS, {}, content_type="application/json").status_code == 401
    url = f"/api/v1/programmes/{world['programme'].id}/"
    assert client.patch(url, {}, content_type="application/json").status_code == 401


# --- 1. identifier matching is no existence oracle -----------------------------------------------


def test_an_identifier_probe_answers_alike_whether_or_not_the_identifier_is_held(
    prober, others, world
):
    # The prober's own man M, known to it by his PNC number.
    own_programme = ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER])
    own = created(refer(prober, own_programme, subject_ids=[HIS_PNC]))
    own_man = own["subject"]["identity"]["id"]
    probe_programme = world["programme"]

    def probe(*, held: bool) -> dict[str, Any]:
        if held:
            created(
                refer(
                    others,
                    world["programme"],
                    subject_ids=[{"system": "test.pnc", "value": "90/123456Z"}],
                    partner_ids=[HER_NHS],
                )
            )
        her = holder_of(HER_NHS)
        response = refer(prober, probe_programme, subject_ids=[HIS_PNC, HER_NHS])
        record = AccessRecord.objects.latest("at")
        return {
            "status": response.status_code,
            "body": as_the_caller_compares_it(response.json(), known={own_man: "own man"}),
            "record": (record.status, record.outcome, record.flagged, record.justification),
            "her_person_before": her,
            "her_person_after": holder_of(HER_NHS),
            "his_identifiers": identifiers_of(own_man),
        }

    held = in_a_world_rolled_back(lambda: probe(held=True))
    not_held = in_a_world_rolled_back(lambda: probe(held=False))

    assert held["status"] == not_held["status"] == 201
    assert held["body"] == not_held["body"]
    assert json.loads(held["body"])["subject"]["identity"]["id"] == "own man"
    assert held["record"] == not_held["record"] == (201, "served", False, "")
    # Her number stays hers; where nobody held it, it stays unbound: a number given beside a
    # held one is never added to that person (a later probe naming it alone would tell).
    assert held["her_person_after"] == held["her_person_before"] is not None
    assert held["his_identifiers"] == not_held["his_identifiers"] == {tuple(HIS_PNC.values())}
    assert not_held["her_person_after"] is None


def test_a_conflicting_request_never_attaches_an_identifier_to_another_person(
    prober, others, world
):
    his_other_pnc = {"system": "test.pnc", "value": "90/123456Z"}
    theirs = created(
        refer(others, world["programme"], subject_ids=[his_other_pnc], partner_ids=[HER_NHS])
    )
    their_man = theirs["subject"]["identity"]["id"]
    her = holder_of(HER_NHS)
    own_partner_nhs = {"system": "test.nhs", "value": "401 023 2137"}
    own = created(
        refer(
            prober,
            ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER]),
            subject_ids=[HIS_PNC],
            partner_ids=[own_partner_nhs],
        )
    )
    own_man = own["subject"]["identity"]["id"]
    own_partner = own["partner"]["identity"]["id"]
    fresh = {"system": "test.ni", "value": "QQ123456C"}
    before = {person: identifiers_of(person) for person in (her, their_man, own_man, own_partner)}

    # Her number beside his own, and beside a number nobody holds.
    with_hers = created(refer(prober, world["programme"], subject_ids=[HIS_PNC, HER_NHS, fresh]))
    # Two numbers of people the prober does not know.
    strangers = created(
        refer(prober, world["programme"], subject_ids=[his_other_pnc, HER_NHS, fresh])
    )
    # The same for a partner: her number beside the one of the prober's own partner...
    # (Each to a programme of its own: the same man twice to one programme is a 409.)
    partner_side = created(
        refer(
            prober,
            ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER]),
            subject_ids=[HIS_PNC],
            partner_ids=[own_partner_nhs, HER_NHS, fresh],
        )
    )
    # ... and a partner named by the man's own number.
    partner_is_him = created(
        refer(
            prober,
            ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER]),
            subject_ids=[HIS_PNC],
            partner_ids=[HIS_PNC, fresh],
        )
    )

    assert with_hers["subject"]["identity"]["id"] == own_man
    assert strangers["subject"]["identity"]["id"] not in (own_man, their_man, her)
    assert partner_side["partner"]["identity"]["id"] == own_partner
    assert partner_is_him["partner"]["identity"]["id"] not in (own_man, own_partner, her)
    # Nothing moved: every number stays with whom it was, and none was added to anyone.
    assert {person: identifiers_of(person) for person in before} == before
    assert holder_of(fresh) is None
    for new_person in (
        strangers["subject"]["identity"]["id"],
        partner_is_him["partner"]["identity"]["id"],
    ):
        assert identifiers_of(new_person) == set()


def test_a_known_man_referred_with_a_new_identifier_is_matched_but_it_is_not_bound(prober, world):
    new_number = {"system": "test.nhs", "value": "485 777 3456"}
    first = created(refer(prober, world["programme"], subject_ids=[HIS_PNC]))
    programme = ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER])
    second = created(refer(prober, programme, subject_ids=[HIS_PNC, new_number]))

    man = first["subject"]["identity"]["id"]
    assert second["subject"]["identity"]["id"] == man
    assert identifiers_of(man) == {tuple(HIS_PNC.values())}
    # What was sent stays on the referral, for display.
    assert new_number in second["subject"]["identity"]["identifiers"]


@pytest.mark.parametrize("held", [True, False], ids=["held", "not held"])
def test_a_probe_in_two_requests_answers_alike_whether_or_not_the_identifier_is_held(
    prober, world, api_client_for, held
):
    """[his number, her number], then [her number] alone: the second answer's man must not be
    the prober's own man in one world and someone else in the other."""
    if held:
        other = api_client_for(world[AgencyKind.POLICE])
        created(refer(other, world["programme"], subject_ids=[], partner_ids=[HER_NHS]))
    first = created(refer(prober, world["programme"], subject_ids=[HIS_PNC]))
    second = created(refer(prober, new_programme(world), subject_ids=[HIS_PNC, HER_NHS]))
    third = created(refer(prober, new_programme(world), subject_ids=[HER_NHS]))

    man = first["subject"]["identity"]["id"]
    assert second["subject"]["identity"]["id"] == man
    assert third["subject"]["identity"]["id"] != man


def new_programme(world):
    return ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER])


# Generated small worlds: other agencies' referrals whose men and partners carry numbers from a
# small shared pool, the prober's own earlier referral with numbers of its own, and a probe that
# mixes all of these with the target number, held by someone else in one world and by nobody in
# the other.
POOL = [{"system": "test.pnc", "value": f"P{i}"} for i in range(3)] + [
    {"system": "test.nhs", "value": f"N{i}"} for i in range(3)
]
OWN = [{"system": "test.pnc", "value": "OWN-1"}, {"system": "test.nhs", "value": "OWN-2"}]
TARGET = HER_NHS


def numbers(pool: list[dict[str, str]], max_size: int = 2) -> st.SearchStrategy:
    return st.lists(st.sampled_from(pool), max_size=max_size, unique_by=lambda i: i["value"])


referral_numbers = st.fixed_dictionaries(
    {"subject": numbers(POOL), "partner": st.none() | numbers(POOL)}
)
scenarios = st.fixed_dictionaries(
    {
        "others": st.lists(referral_numbers, min_size=1, max_size=3),
        "holder": st.tuples(st.integers(0, 2), st.sampled_from(["subject", "partner"])),
        "own": st.fixed_dictionaries(
            {"subject": numbers(OWN[:1], 1), "partner": st.none() | numbers(OWN[1:], 1)}
        ),
        "probe": st.fixed_dictionaries(
            {
                "subject": numbers(POOL + OWN, 3),
                "partner": st.none() | numbers(POOL + OWN, 3),
                "target_in": st.sampled_from(["subject", "partner", "both"]),
            }
        ),
    }
)


@pytest.fixture
def programmes(world):
    provider = world[AgencyKind.PROGRAMME_PROVIDER]
    return [ProgrammeFactory(provider=provider) for _ in range(5)]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios)
def test_no_probe_tells_a_referrer_party_to_nothing_whether_an_identifier_is_held(
    scenario, prober, others, programmes
):
    probe = scenario["probe"]
    probe_subject = list(probe["subject"])
    probe_partner = None if probe["partner"] is None else list(probe["partner"])
    if probe["target_in"] in ("subject", "both"):
        probe_subject.append(TARGET)
    if probe["target_in"] in ("partner", "both"):
        probe_partner = [*(probe_partner or []), TARGET]
    # One programme per referral: a man referred twice to one programme is another rule.
    own_programme, probe_programme, *their_programmes = programmes

    def world_where(*, held: bool) -> tuple[int, str]:
        theirs = [
            created(
                refer(
                    others,
                    their_programmes[index],
                    subject_ids=drawn["subject"],
                    partner_ids=drawn["partner"],
                )
            )
            for index, drawn in enumerate(scenario["others"])
        ]
        if held:
            # The target is one more number of a man or a partner the others referred.
            index, side = scenario["holder"]
            holder = theirs[index % len(theirs)]
            person = (holder[side]["identity"] or holder["subject"]["identity"])["id"]
            PersonIdentifier.objects.create(person_id=person, **TARGET)
        own = created(
            refer(
                prober,
                own_programme,
                subject_ids=scenario["own"]["subject"],
                partner_ids=scenario["own"]["partner"],
            )
        )
        known = {own["subject"]["identity"]["id"]: "own man"}
        if own["partner"]["identity"]:
            known[own["partner"]["identity"]["id"]] = "own partner"
        response = refer(
            prober, probe_programme, subject_ids=probe_subject, partner_ids=probe_partner
        )
        return response.status_code, as_the_caller_compares_it(response.json(), known=known)

    held = in_a_world_rolled_back(lambda: world_where(held=True))
    not_held = in_a_world_rolled_back(lambda: world_where(held=False))

    assert held == not_held
    assert held[0] == 201


# --- 2. an emergency justification is honoured on a referral's read, and nowhere else ------------


@pytest.fixture
def emergency_scene(api_client_for, world):
    """An accepted referral with a partner service that recorded a contact attempt and shares
    it with the referrer only in an emergency (vital interests); a consent and an agreement."""
    victim_service = world[AgencyKind.VICTIM_SERVICE]
    clients = {
        "referrer": api_client_for(world[AgencyKind.PROBATION]),
        "provider": api_client_for(
            world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery"
        ),
        "victim_service": api_client_for(victim_service, purpose="partner_safety"),
        "operator": api_client_for(world[AgencyKind.HUB_OPERATOR], purpose="audit"),
    }
    referral = created(
        clients["referrer"].post(
            REFERRALS,
            referral_body(world["programme"].id, partner_service=str(victim_service.id)),
            format="json",
        )
    )
    url = f"{REFERRALS}{referral['id']}/"
    for to in ("acknowledged", "assessment", "accepted"):
        moved = clients["provider"].post(f"{url}transitions/", {"to": to}, format="json")
        assert moved.status_code == 200, moved.content
    attempt = {
        "attempted_at": timezone.now().isoformat(),
        "outcome": "reached",
        "notes": "She is frightened of him since the hearing.",
    }
    assert (
        clients["victim_service"].post(f"{url}partner-contact/", attempt, format="json").status_code
        == 201
    )
    published = clients["victim_service"].post(
        "/api/v1/sharing-agreements/",
        {
            "name": "Emergency sharing with probation",
            "provider": str(victim_service.id),
            "recipient": str(world[AgencyKind.PROBATION].id),
            "recipient_kind": None,
            "purposes": ["risk_management"],
            "grants": [{"category": "partner.disclosures", "lawful_basis": "vital_interests"}],
            "valid_from": str(TODAY - datetime.timedelta(days=30)),
            "valid_to": str(TODAY + datetime.timedelta(days=365)),
            "status": "active",
        },
        format="json",
    )
    assert published.status_code == 201, published.content
    consent = clients["referrer"].post(
        "/api/v1/consents/",
        {
            "referral": referral["id"],
            "data_subject": "subject",
            "provisions": [{"type": "permit", "categories": ["risk"]}],
            "valid_from": str(TODAY - datetime.timedelta(days=1)),
            "evidence": {"method": "written", "reference": "Form 7"},
        },
        format="json",
    )
    assert consent.status_code == 201, consent.content
    return {
        "world": world,
        "referral": referral,
        "url": url,
        "agreement": published.json()["id"],
        "consent": consent.json()["id"],
        **clients,
    }


def everything_held() -> dict[str, list[str]]:
    """Every row of every table a request could change, but the access records themselves."""
    models = (
        Referral,
        Person,
        PersonIdentifier,
        PartnerDisclosure,
        Transition,
        Report,
        Amendment,
        Event,
        Programme,
        Consent,
        Agreement,
        AgreementVersion,
        FlagReview,
        LogEntry,
    )
    return {model.__name__: sorted(map(repr, model.objects.values_list())) for model in models}


def released_to_the_referrer(view: dict[str, Any]) -> bool:
    return "She is frightened" in json.dumps(view)


def test_an_emergency_header_on_an_amendment_is_refused_and_releases_nothing(emergency_scene):
    referrer, url = emergency_scene["referrer"], emergency_scene["url"]
    read = referrer.get(url)
    assert not released_to_the_referrer(read.json())
    held = everything_held()
    records = set(AccessRecord.objects.values_list("id", flat=True))

    response = referrer.patch(
        url,
        {"risk": {"summary": "Escalating since the hearing."}},
        format="json",
        HTTP_IF_MATCH=read["ETag"],
        HTTP_X_EMERGENCY_JUSTIFICATION=JUSTIFICATION,
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["X-Emergency-Justification"]
    assert not released_to_the_referrer(response.json())
    assert everything_held() == held
    (record,) = AccessRecord.objects.exclude(id__in=records)
    assert (record.method, record.status, record.outcome) == ("PATCH", 400, "refused")
    assert (record.justification, record.disclosed) == ("", [])


def operations_but_the_read() -> list[tuple[str, str]]:
    """Every operation of the committed schema but `GET referrals/{id}/`: one added later is
    covered from its first day."""
    return [
        (method, template)
        for template, operations in openapi_schema()["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
        and (method, template) != ("get", "/api/v1/referrals/{referral_id}/")
    ]


def test_every_other_operation_refuses_an_emergency_header_and_changes_nothing(
    emergency_scene,
):
    scene = emergency_scene
    referral = scene["referral"]
    values = {
        "referral_id": referral["id"],
        "consent_id": scene["consent"],
        "agreement_id": scene["agreement"],
        "person_id": referral["subject"]["identity"]["id"],
        "programme_id": str(scene["world"]["programme"].id),
        "record_id": str(AccessRecord.objects.values_list("id", flat=True).first()),
    }
    operations = operations_but_the_read()
    assert len(operations) >= 25
    for method, template in operations:
        names = re.findall(r"\{([^}]+)\}", template)
        assert all(name in values for name in names), f"give a value for {template}"
        path = template
        for name in names:
            path = path.replace("{" + name + "}", values[name])
        # The hub operator for its own endpoints (explain, audit), the referrer elsewhere;
        # both with every scope, so that only the header stands in the way.
        client = scene["operator"] if "/audit/" in template else scene["referrer"]
        held = everything_held()
        records = set(AccessRecord.objects.values_list("id", flat=True))
        request = getattr(client, method)
        kwargs = {"format": "json"} if method != "get" else {}
        if method == "patch":
            kwargs["HTTP_IF_MATCH"] = client.get(path)["ETag"]
            held = everything_held()
            records = set(AccessRecord.objects.values_list("id", flat=True))

        response = request(
            path,
            {} if method != "get" else None,
            HTTP_X_EMERGENCY_JUSTIFICATION=JUSTIFICATION,
            **kwargs,
        )

        assert response.status_code == 400, (method, template, response.status_code)
        fields = [e["field"] for e in response.json()["errors"]]
        assert fields == ["X-Emergency-Justification"], (method, template)
        assert everything_held() == held, (method, template)
        new = AccessRecord.objects.exclude(id__in=records)
        assert [(r.status, r.justification, r.disclosed) for r in new] == [(400, "", [])], (
            method,
            template,
        )


@pytest.mark.parametrize("method", ["head", "options"])
def test_a_head_or_options_request_on_a_referral_refuses_an_emergency_header(
    emergency_scene, method
):
    # Outside the schema, so with a client that does not check responses against it.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {emergency_scene['referrer'].access_token}")
    events = Event.objects.count()

    response = getattr(client, method)(
        emergency_scene["url"], HTTP_X_EMERGENCY_JUSTIFICATION=JUSTIFICATION
    )

    # Refused before the header is read (no scope is declared for them: deny by default), or
    # for the header; never served.
    assert response.status_code in (400, 403)
    assert Event.objects.count() == events
    assert not AccessRecord.objects.filter(justification=JUSTIFICATION).exists()


def test_an_emergency_read_still_releases_and_tells_the_supplier(emergency_scene):
    referrer, url = emergency_scene["referrer"], emergency_scene["url"]

    response = referrer.get(url, HTTP_X_EMERGENCY_JUSTIFICATION=JUSTIFICATION)

    assert response.status_code == 200
    assert released_to_the_referrer(response.json())
    record = AccessRecord.objects.latest("at")
    assert (record.method, record.status, record.flagged) == ("GET", 200, True)
    assert record.justification == JUSTIFICATION
    event = Event.objects.get(type="emergency_release")
    assert event.recipient_id == emergency_scene["world"][AgencyKind.VICTIM_SERVICE].id
    assert event.about["categories"] == ["partner.disclosures"]


def test_a_view_cannot_honour_an_emergency_on_every_method():
    from hub.api import HubViewMixin

    for flag in (True, frozenset({"GET", "PATCH"}), {"GET"}):
        with pytest.raises(TypeError):
            type("Careless", (HubViewMixin,), {"honours_emergency_justification": flag})


# --- 3. no couple work through a programme change ------------------------------------------------


@pytest.fixture
def open_referral(api_client_for, world):
    clients = {
        "referrer": api_client_for(world[AgencyKind.PROBATION]),
        "provider": api_client_for(world[AgencyKind.PROGRAMME_PROVIDER]),
    }
    referral = created(
        clients["referrer"].post(REFERRALS, referral_body(world["programme"].id), format="json")
    )
    return {"referral": referral, "programme": world["programme"], **clients}


def change_programme(client: Any, programme: Programme, changes: dict[str, Any]) -> Any:
    url = f"/api/v1/programmes/{programme.id}/"
    return client.patch(url, changes, format="json", HTTP_IF_MATCH=client.get(url)["ETag"])


@pytest.mark.parametrize("modality", ["couples", "mediation"])
def test_a_programme_with_open_referrals_cannot_become_couples_work(open_referral, modality):
    programme = open_referral["programme"]

    response = change_programme(open_referral["provider"], programme, {"modality": modality})

    assert response.status_code == 422
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["modality"]
    assert "open referrals" in body["detail"] and "domestic violence" in body["detail"]
    programme.refresh_from_db()
    assert programme.modality == "group"
    assert AccessRecord.objects.latest("at").status == 422


def test_a_programme_whose_referrals_are_all_closed_may_change_modality(open_referral):
    referral_id = open_referral["referral"]["id"]
    withdrawn = open_referral["referrer"].post(
        f"{REFERRALS}{referral_id}/transitions/",
        {"to": "withdrawn", "reason_code": "other", "reason": "Moved away."},
        format="json",
    )
    assert withdrawn.status_code == 200

    response = change_programme(
        open_referral["provider"], open_referral["programme"], {"modality": "couples"}
    )

    assert response.status_code == 200
    assert response.json()["modality"] == "couples"


def test_other_changes_to_a_programme_with_open_referrals_still_pass(open_referral):
    response = change_programme(
        open_referral["provider"], open_referral["programme"], {"capacity": 6}
    )

    assert response.status_code == 200


@pytest.mark.parametrize("modality", ["couples", "mediation"])
def test_no_referral_moves_while_its_programme_is_couples_work(open_referral, modality):
    # Older data: the programme holds the modality whatever the API would allow today.
    Programme.objects.filter(id=open_referral["programme"].id).update(modality=modality)
    url = f"{REFERRALS}{open_referral['referral']['id']}/transitions/"
    events = Event.objects.count()

    moves = [
        open_referral["provider"].post(url, {"to": "acknowledged"}, format="json"),
        open_referral["referrer"].post(
            url,
            {"to": "withdrawn", "reason_code": "other", "reason": "Moved away."},
            format="json",
        ),
    ]

    for response in moves:
        assert response.status_code == 422, response.content
        assert "couple work and mediation" in response.json()["detail"]
    assert Referral.objects.get(id=open_referral["referral"]["id"]).status == "submitted"
    assert not Transition.objects.exists()
    assert Event.objects.count() == events


def test_a_couples_programme_may_still_be_listed_but_takes_no_referrals(api_client_for, world):
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], scopes=["referrals:write"])
    listed = provider.post(
        "/api/v1/programmes/",
        {"name": "Couples course", "approach": "family", "modality": "couples"},
        format="json",
    )
    assert listed.status_code == 201, listed.content

    response = api_client_for(world[AgencyKind.PROBATION]).post(
        REFERRALS, referral_body(listed.json()["id"]), format="json"
    )

    assert response.status_code == 422
    assert not Referral.objects.exists()


def test_the_schema_documents_these_refusals():
    paths = openapi_schema()["paths"]

    assert "422" in paths["/api/v1/programmes/{programme_id}/"]["patch"]["responses"]
    assert "422" in paths["/api/v1/referrals/{referral_id}/transitions/"]["post"]["responses"]
    assert "couples" in paths["/api/v1/programmes/{programme_id}/"]["patch"]["description"]
