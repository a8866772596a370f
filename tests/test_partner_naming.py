"""The naming rule (sharing_policies/naming.py): who may be told which victim service supports
the partner, as a pure table and over HTTP for every reader kind and every output; and the
instances of issue 10 (agreement ids, accesses, agreement lists, subject reports, audit filters)
kept as tests."""

import datetime
import json
import uuid
from base64 import urlsafe_b64decode, urlsafe_b64encode
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import override_settings

from agencies.models import AgencyKind
from audit.models import AccessRecord
from core.vocabulary import Category
from sharing_policies.decision import Decision, ReferralParties, Role
from sharing_policies.naming import VICTIM_SERVICE, Naming, naming_in_referral
from tests.conftest import agreement_body, referral_body

P, PP, VS = AgencyKind.PROBATION, AgencyKind.PROGRAMME_PROVIDER, AgencyKind.VICTIM_SERVICE
COURT, POLICE, OPERATOR = AgencyKind.COURT, AgencyKind.POLICE, AgencyKind.HUB_OPERATOR
TODAY = datetime.date.today()
PARTNER_NHS = {"system": "test.nhs", "value": "NHS-W-0001"}


# --- the rule, pure -------------------------------------------------------------------------------

READER, SERVICE, OTHER_SERVICE, POLICE_ID = (uuid.uuid4() for _ in range(4))
KINDS = {READER: "probation", SERVICE: VS, OTHER_SERVICE: VS, POLICE_ID: "police"}


def naming(reader=READER, kinds=KINDS, **rule):
    return Naming.from_kinds(reader=reader, kinds=kinds, **rule)


@pytest.mark.parametrize(
    ("case", "rule", "agency", "named"),
    [
        ("an agency that is not a victim service", naming(), POLICE_ID, True),
        ("a victim service, outside any referral", naming(), SERVICE, False),
        ("a victim service, to itself", naming(reader=SERVICE), SERVICE, True),
        ("another victim service, to one", naming(reader=SERVICE), OTHER_SERVICE, False),
        ("a victim service, to the hub operator", naming(everything=True), SERVICE, True),
        ("the partner service, to who may see her", naming(known=[SERVICE]), SERVICE, True),
        ("another victim service, to who knows one", naming(known=[SERVICE]), OTHER_SERVICE, False),
        ("an agency of unknown kind (deny by default)", naming(kinds={}), POLICE_ID, False),
        ("nobody", naming(kinds={}), None, True),
    ],
)  # fmt: skip
def test_the_naming_rule_names_a_victim_service_only_to_who_may_know_it(
    case: str, rule: Naming, agency: uuid.UUID | None, named: bool
) -> None:
    assert rule.names(agency) is named
    expected = (str(agency) if agency else None) if named else VICTIM_SERVICE
    assert rule.agency(agency) == expected


def decision(*, roles: set[Role], disclosed: set[Category]) -> Decision:
    return Decision(roles=frozenset(roles), disclosed=frozenset(disclosed), withheld=())


PARTIES = ReferralParties(
    referrer=READER,
    provider=uuid.uuid4(),
    partner_service=SERVICE,
    observers=frozenset({POLICE_ID}),
)


@pytest.mark.parametrize(
    ("reader", "roles", "disclosed", "named"),
    [
        ("referrer", {Role.REFERRER}, {Category.PARTNER_IDENTITY}, True),
        ("provider", {Role.PROVIDER}, {Category.PROGRAMME_PROGRESS}, False),
        ("observer, no partner.identity", {Role.OBSERVER}, {Category.PARTNER_DISCLOSURES}, False),
        ("observer with partner.identity", {Role.OBSERVER}, {Category.PARTNER_IDENTITY}, True),
        ("partner service without partner.identity", {Role.PARTNER_SERVICE}, set(), True),
    ],
)  # fmt: skip
def test_inside_a_referral_the_partner_service_is_named_with_partner_identity(
    reader: str, roles: set[Role], disclosed: set[Category], named: bool
) -> None:
    naming = naming_in_referral(
        parties=PARTIES, decision=decision(roles=roles, disclosed=disclosed)
    )

    assert naming.names(SERVICE) is named
    assert naming.names(OTHER_SERVICE) is False  # no party: denied by default
    assert naming.names(POLICE_ID) and naming.names(PARTIES.provider)


def test_an_agreement_or_consent_is_named_only_with_everything_it_leads_to() -> None:
    naming = Naming.from_kinds(reader=READER, kinds=KINDS)
    to_police, to_service = uuid.uuid4(), uuid.uuid4()
    led = {to_police: frozenset({READER, POLICE_ID}), to_service: frozenset({READER, SERVICE})}

    assert naming.reference(to_police, led[to_police]) == str(to_police)
    assert naming.reference(to_service, led[to_service]) is None
    assert naming.reference(uuid.uuid4(), None) is None  # leads nobody knows where: not named
    assert naming.basis_named(supplier=READER, refs=[to_police], led=led)
    assert not naming.basis_named(supplier=READER, refs=[to_police, to_service], led=led)
    assert not naming.basis_named(supplier=SERVICE, refs=[], led=led)


# --- over HTTP: every reader kind x every output --------------------------------------------------


def publish(client, body) -> str:
    response = client.post("/api/v1/sharing-agreements/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def ok(response) -> Any:
    assert response.status_code in (200, 201), response.content
    return response.json()


@pytest.fixture
def scene(api_client_for, world, make_agency):
    """Probation refers a man (partner service: the victim service; observers: a court without
    partner.identity and a police force with it). The provider reports back to the victim
    service; the victim service shares what she said with the court and with probation, and
    records a contact attempt; every party reads the referral."""
    purposes = {
        P: "risk_management",
        PP: "programme_delivery",
        VS: "partner_safety",
        COURT: "court_compliance",
        POLICE: "risk_management",
        OPERATOR: "audit",
    }
    clients = {kind: api_client_for(world[kind], purpose=purposes[kind]) for kind in purposes}
    clients[OPERATOR] = api_client_for(world[OPERATOR], purpose=None)
    other_service = make_agency(kind=VS)
    body = referral_body(
        world["programme"].id,
        partner_service=str(world[VS].id),
        observers=[str(world[COURT].id), str(world[POLICE].id)],
    )
    body["partner"]["identity"]["identifiers"] = [PARTNER_NHS]
    referral = ok(clients[P].post("/api/v1/referrals/", body, format="json"))
    rid = referral["id"]
    agreements = {
        "probation_to_provider": publish(
            clients[P],
            agreement_body(
                world[P], world[PP], ["subject.identity", "risk"], ["programme_delivery"]
            ),
        ),
        "probation_to_police": publish(
            clients[P],
            agreement_body(
                world[P],
                world[POLICE],
                ["partner.identity", "partner.contact"],
                ["risk_management"],
            ),
        ),
        "probation_to_service": publish(
            clients[P],
            agreement_body(world[P], world[VS], ["partner.contact", "risk"], ["partner_safety"]),
        ),
        "provider_to_service": publish(
            clients[PP],
            agreement_body(world[PP], world[VS], ["programme.progress"], ["partner_safety"]),
        ),
        "service_to_court": publish(
            clients[VS],
            agreement_body(world[VS], world[COURT], ["partner.disclosures"], ["court_compliance"]),
        ),
        "service_to_probation": publish(
            clients[VS],
            agreement_body(world[VS], world[P], ["partner.disclosures"], ["risk_management"]),
        ),
    }
    consent = ok(
        clients[P].post(
            "/api/v1/consents/",
            {
                "referral": rid,
                "data_subject": "partner",
                "provisions": [
                    {
                        "type": "permit",
                        "categories": ["partner.contact"],
                        "recipients": [str(world[VS].id)],
                    }
                ],
                "valid_from": str(TODAY),
                "evidence": {"method": "signed_form", "reference": "F-9"},
            },
            format="json",
        )
    )
    for to in ("acknowledged", "assessment"):
        ok(clients[PP].post(f"/api/v1/referrals/{rid}/transitions/", {"to": to}, format="json"))
    ok(
        clients[PP].post(
            f"/api/v1/referrals/{rid}/reports/",
            {"kind": "assessment", "suitable": True, "summary": "Suitable for group work."},
            format="json",
        )
    )
    ok(clients[PP].post(f"/api/v1/referrals/{rid}/transitions/", {"to": "accepted"}, format="json"))
    ok(
        clients[VS].post(
            f"/api/v1/referrals/{rid}/partner-contact/",
            {
                "attempted_at": datetime.datetime.now(datetime.UTC).isoformat(),
                "outcome": "reached",
                "notes": "Spoke safely.",
            },
            format="json",
        )
    )
    for kind in (PP, VS, COURT, POLICE):
        ok(clients[kind].get(f"/api/v1/referrals/{rid}/"))
    return {
        "world": world,
        "clients": clients,
        "referral": referral,
        "agreements": agreements,
        "consent": consent,
        "other_service": other_service,
    }


def every_page(client, path, params=None) -> list[Any]:
    responses, url = [], path
    while url:
        response = client.get(url, params) if url == path else client.get(url)
        responses.append(response)
        url = response.json().get("next") if response.status_code == 200 else None
    return responses


def text_of(responses) -> str:
    parts = []
    for response in responses:
        if getattr(response, "streaming", False):
            parts.append(b"".join(response.streaming_content).decode())
        else:
            parts.append(response.content.decode())
        parts.append(json.dumps(dict(response.headers)))
    return "\n".join(parts)


def outputs(scene, kind) -> dict[str, list[Any]]:
    """Each output the reader can ask for, as the responses it gets."""
    client = scene["clients"][kind]
    rid = scene["referral"]["id"]
    agency = scene["world"][kind]
    purpose = "risk_management" if kind == OPERATOR else None
    explain = {"referral": rid, "agency": str(agency.id), "purpose": purpose or "partner_safety"}
    if kind != OPERATOR:
        explain["purpose"] = {
            P: "risk_management",
            PP: "programme_delivery",
            VS: "partner_safety",
            COURT: "court_compliance",
            POLICE: "risk_management",
        }[kind]
    agreements = every_page(client, "/api/v1/sharing-agreements/")
    agreement_ids = [a["id"] for r in agreements for a in r.json()["results"]]
    man = scene["referral"]["subject"]["identity"]["id"]
    partner = scene["referral"]["partner"]["identity"]["id"]
    return {
        "referral": [client.get(f"/api/v1/referrals/{rid}/")],
        "referral list": every_page(client, "/api/v1/referrals/"),
        "history": [client.get(f"/api/v1/referrals/{rid}/history/")],
        "reports": [client.get(f"/api/v1/referrals/{rid}/reports/")],
        "accesses": every_page(client, f"/api/v1/referrals/{rid}/accesses/"),
        "events": [client.get("/api/v1/events/", {"after": 0})],
        "explain": [client.get("/api/v1/sharing-agreements/explain/", explain)],
        "agreements": agreements
        + [client.get(f"/api/v1/sharing-agreements/{a}/") for a in agreement_ids],
        "consents": every_page(client, "/api/v1/consents/"),
        "audit search": every_page(client, "/api/v1/audit/events/"),
        "audit export (JSON)": [client.get("/api/v1/audit/events/export/")],
        "audit export (CSV)": [client.get("/api/v1/audit/events/export/", HTTP_ACCEPT="text/csv")],
        "subject reports": [
            client.get(f"/api/v1/audit/subjects/{man}/report/"),
            client.get(f"/api/v1/audit/subjects/{partner}/report/"),
        ],
    }


# Whether the reader is told the partner service's id in each output. A referrer supplied
# partner.identity (rule 0) and the police were granted it: inside the referral they may know
# who supports her. Outside one referral (agreements) a victim service is named only to itself
# and to the hub operator; a subject-access report names none. The hub operator is no party.
READERS = (P, PP, COURT, POLICE, VS, OPERATOR)
NAMED = {
    #                        probation provider court  police  service operator
    "referral":             (True,     False,   False, True,   True,   False),
    "referral list":        (True,     False,   False, True,   True,   False),
    "history":              (False,    False,   False, False,  False,  False),
    "reports":              (False,    False,   False, False,  False,  False),
    "accesses":             (True,     False,   False, False,  True,   False),
    "events":               (False,    False,   False, False,  False,  False),
    "explain":              (True,     False,   False, False,  True,   False),
    "agreements":           (False,    False,   False, False,  True,   True),
    "consents":             (True,     False,   False, False,  True,   False),
    "audit search":         (True,     False,   False, False,  True,   True),
    "audit export (JSON)":  (True,     False,   False, False,  True,   True),
    "audit export (CSV)":   (True,     False,   False, False,  True,   True),
    "subject reports":      (False,    False,   False, False,  False,  False),
}  # fmt: skip


@pytest.mark.parametrize("kind", READERS)
def test_every_output_names_the_partner_service_only_to_who_may_know_it(scene, kind):
    service = str(scene["world"][VS].id)
    other_service = str(scene["other_service"].id)
    column = READERS.index(kind)

    seen = {name: text_of(responses) for name, responses in outputs(scene, kind).items()}

    assert set(seen) == set(NAMED)
    found = {name: service in text for name, text in seen.items()}
    expected = {name: row[column] for name, row in NAMED.items()}
    assert found == expected
    # A victim service that supports nobody here is named to nobody but itself.
    assert not any(other_service in text for text in seen.values())


def test_no_agreement_id_in_any_output_leads_to_the_partner_service_unless_it_may_be_named(
    scene,
):
    leading = {
        scene["agreements"][name]
        for name in (
            "provider_to_service",
            "service_to_court",
            "service_to_probation",
            "probation_to_service",
        )
    }
    for kind in (PP, COURT, POLICE):
        for name, responses in outputs(scene, kind).items():
            if name == "agreements":
                continue  # its own agreements, each naming the service by its kind (above)
            text = text_of(responses)
            assert not [a for a in leading if a in text], (kind, name)


# --- the instances found --------------------------------------------------------------------------


def test_the_providers_dpo_cannot_follow_an_agreement_id_to_the_partner_service(scene):
    provider = scene["clients"][PP]

    text = text_of(
        [
            *every_page(provider, "/api/v1/audit/events/"),
            provider.get("/api/v1/audit/events/export/"),
            provider.get("/api/v1/audit/events/export/", HTTP_ACCEPT="text/csv"),
        ]
    )

    assert scene["agreements"]["provider_to_service"] not in text
    assert str(scene["world"][VS].id) not in text
    # and the agreement it published itself names the service only by its kind
    mine = ok(
        provider.get(f"/api/v1/sharing-agreements/{scene['agreements']['provider_to_service']}/")
    )
    assert mine["recipient"] == VICTIM_SERVICE


def test_accesses_do_not_tell_the_provider_that_a_victim_service_read_its_reports(scene):
    rid = scene["referral"]["id"]

    entries = ok(scene["clients"][PP].get(f"/api/v1/referrals/{rid}/accesses/"))["results"]
    referrers = ok(scene["clients"][P].get(f"/api/v1/referrals/{rid}/accesses/"))["results"]

    assert [e for e in entries if e["agency_kind"] == VS] == []
    # The referrer, who knows who supports her, still sees the service's read.
    assert str(scene["world"][VS].id) in {e["agency"] for e in referrers}


def test_an_observer_seeing_disclosures_finds_their_supplier_in_no_agreement(scene):
    court = scene["clients"][COURT]
    rid = scene["referral"]["id"]

    view = ok(court.get(f"/api/v1/referrals/{rid}/"))
    agreements = ok(court.get("/api/v1/sharing-agreements/"))["results"]

    assert "partner_service" not in view and "identity" not in view.get("partner", {})
    assert {e["supplier"] for e in view["partner"]["disclosures"]} == {VICTIM_SERVICE}
    (granting,) = [a for a in agreements if a["id"] == scene["agreements"]["service_to_court"]]
    assert granting["provider"] == VICTIM_SERVICE
    assert granting["created_by"] == VICTIM_SERVICE


def test_the_mans_subject_report_names_no_agreement_that_leads_to_the_partner_service(scene):
    man = scene["referral"]["subject"]["identity"]["id"]

    report = ok(scene["clients"][OPERATOR].get(f"/api/v1/audit/subjects/{man}/report/"))

    to_service = [d for d in report["disclosures"] if d["recipient_kind"] == VS]
    assert to_service, "the victim service read his reports under the provider's agreement"
    assert all(d["recipient"] is None for d in to_service)
    assert all(b["agreement"] is None for d in to_service for b in d["basis"])
    assert scene["agreements"]["provider_to_service"] not in json.dumps(report)
    assert str(scene["world"][VS].id) not in json.dumps(report)


def test_a_person_filter_matches_only_persons_the_reader_was_shown(scene, world):
    """The partner of one man is referred to the same provider as a service user herself; her
    id is partner.identity in his referral. The provider's DPO finds her by her id only in
    the records that showed her to it, never his."""
    referrer, provider = scene["clients"][P], scene["clients"][PP]
    his = scene["referral"]["id"]
    body = referral_body(world["programme"].id)
    body["subject"]["identity"].update(
        given_name="Wendy", family_name="Womanly", identifiers=[PARTNER_NHS]
    )
    hers = ok(referrer.post("/api/v1/referrals/", body, format="json"))
    her_id = hers["subject"]["identity"]["id"]
    assert her_id == scene["referral"]["partner"]["identity"]["id"]  # one person in the hub
    ok(provider.get(f"/api/v1/referrals/{hers['id']}/"))

    found = ok(provider.get("/api/v1/audit/events/", {"person": her_id}))["results"]
    with_his = ok(provider.get("/api/v1/audit/events/", {"person": her_id, "referral": his}))

    assert found and all(his not in r["referrals"] for r in found)
    assert all(her_id in r["persons"] for r in found)
    assert with_his["results"] == []


def test_a_person_never_shown_to_a_dpo_answers_like_a_random_id(scene):
    provider = scene["clients"][PP]
    partner = scene["referral"]["partner"]["identity"]["id"]  # withheld from the provider

    hidden = provider.get("/api/v1/audit/events/", {"person": partner})
    random = provider.get("/api/v1/audit/events/", {"person": str(uuid.uuid4())})

    assert hidden.status_code == random.status_code == 422
    assert hidden.json()["detail"] == random.json()["detail"]
    assert hidden.json()["errors"] == random.json()["errors"]


def test_a_consent_names_only_the_referrals_own_partner_service(scene):
    referrer = scene["clients"][P]
    service, elsewhere = str(scene["world"][VS].id), str(scene["other_service"].id)
    police = str(scene["world"][POLICE].id)
    provision = {"type": "permit", "categories": ["partner.contact"]}

    recorded = ok(
        referrer.post(
            "/api/v1/consents/",
            {
                "referral": scene["referral"]["id"],
                "data_subject": "partner",
                "provisions": [{**provision, "recipients": [service, elsewhere, police]}],
                "valid_from": str(TODAY),
                "evidence": {"method": "signed_form", "reference": "F-10"},
            },
            format="json",
        )
    )

    # A victim service that supports nobody on this referral is given by its kind only.
    recipients = recorded["provisions"][0]["recipients"]
    assert sorted(recipients) == sorted([service, VICTIM_SERVICE, police])
    listed = ok(referrer.get("/api/v1/consents/"))["results"]
    assert elsewhere not in json.dumps(listed)


def test_the_export_limit_counts_only_what_the_reader_sees(scene):
    provider = scene["clients"][PP]
    visible = len(
        json.loads(text_of([provider.get("/api/v1/audit/events/export/")]).split("\n")[0])
    )
    hidden = AccessRecord.objects.filter(agency_ref=str(scene["world"][VS].id)).count()
    assert hidden, "the victim service's reads exist, and are hidden from the provider"

    with override_settings(AUDIT_EXPORT_MAX_RECORDS=visible):
        at_the_limit = provider.get("/api/v1/audit/events/export/")
    with override_settings(AUDIT_EXPORT_MAX_RECORDS=visible - 1):
        over_it = provider.get("/api/v1/audit/events/export/")

    # Counting the stored records would refuse at the limit, telling hidden records exist.
    assert at_the_limit.status_code == 200
    assert over_it.status_code == 422


@pytest.mark.parametrize("path", ["/api/v1/audit/events/", "accesses"])
def test_pages_never_tell_a_reader_that_something_hidden_lies_between(scene, path):
    provider = scene["clients"][PP]
    if path == "accesses":
        path = f"/api/v1/referrals/{scene['referral']['id']}/accesses/"
    everything = ok(provider.get(path, {"page_size": 200}))["results"]

    pages, page = [], ok(provider.get(path, {"page_size": 1}))
    while True:
        pages.append(page)
        if not page["next"]:
            break
        cursor = parse_qs(urlparse(page["next"]).query)["cursor"][0]
        at = urlsafe_b64decode(cursor).decode().split("|")[0]
        # The cursor is where the last shown item was, never a skipped one.
        assert datetime.datetime.fromisoformat(at) == datetime.datetime.fromisoformat(
            page["results"][-1]["at"].replace("Z", "+00:00")
        )
        page = ok(provider.get(page["next"]))

    # Every page is full, and the last one says so: nothing hidden shows as a gap.
    assert all(len(p["results"]) == 1 for p in pages)
    assert len(pages) >= len(everything) >= 2


@pytest.mark.parametrize(
    "cursor",
    [
        urlsafe_b64encode(b"not-a-date|1").decode(),
        urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|" + str(10**30).encode()).decode(),
        urlsafe_b64encode(b"2026-01-01T00:00:00|1").decode(),
        urlsafe_b64encode(b"2026-01-01T00:00:00+00:00\x00|1").decode(),
        "%%%",
    ],
)
def test_a_crafted_cursor_on_a_visible_page_is_a_400(scene, cursor):
    response = scene["clients"][PP].get("/api/v1/audit/events/", {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"
