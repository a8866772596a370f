"""The DPO's audit API: search, export, flag review, a referral's accesses, subject reports.

Every record here is made by real requests with real tokens; assertions look at what each DPO
sees and at what the records hold (ids and categories, never personal data values).
"""

import csv
import datetime
import io
import json
import uuid

import pytest
from django.db import connection
from django.test import override_settings

from agencies.models import Agency, AgencyKind
from audit.models import AccessRecord, FlagReview
from audit.serializers import VerifySerializer
from core.serializers import rendering
from referrals.models import Referral
from sharing_policies.naming import Naming
from tests.conftest import agreement_body, referral_body

# The verification report's body, as the API serves it and audit_verify prints it.
VERIFY_BODY = rendering(VerifySerializer)

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
P = AgencyKind.PROBATION
VS = AgencyKind.VICTIM_SERVICE
PP = AgencyKind.PROGRAMME_PROVIDER
# The partner's details in referral_body(), none of which may reach any audit output.
PARTNER_VALUES = (
    "Beth Private",
    "Refuge, secret",
    "01632 960200",
    "Mornings",
    "threats began in spring",
    "Primary school",
)
SUBJECT_VALUES = ("Adam", "Testcase", "2 Test Road", "Common assault", "Escalating")


@pytest.fixture
def scene(api_client_for, world):
    """A probation referral with a partner service; probation shares subject.identity and risk
    with the provider, partner.contact and risk with the victim service; both have read it."""
    referrer = api_client_for(world[P])
    provider = api_client_for(world[PP], purpose="programme_delivery")
    victim_service = api_client_for(world[VS], purpose="partner_safety")
    created = referrer.post(
        "/api/v1/referrals/",
        referral_body(world["programme"].id, partner_service=str(world[VS].id)),
        format="json",
    )
    assert created.status_code == 201
    referral = created.json()
    published = referrer.post(
        "/api/v1/sharing-agreements/",
        agreement_body(world[P], world[PP], ["subject.identity", "risk"], ["programme_delivery"]),
        format="json",
    )
    assert published.status_code == 201, published.content
    published = referrer.post(
        "/api/v1/sharing-agreements/",
        agreement_body(world[P], world[VS], ["partner.contact", "risk"], ["partner_safety"]),
        format="json",
    )
    assert published.status_code == 201, published.content
    for client in (provider, victim_service):
        assert client.get(f"/api/v1/referrals/{referral['id']}/").status_code == 200
    return {
        "world": world,
        "referral": referral,
        "referrer": referrer,
        "provider": provider,
        "victim_service": victim_service,
        "operator_dpo": api_client_for(world[AgencyKind.HUB_OPERATOR], scopes=["audit:read"]),
        "probation_dpo": api_client_for(world[P], scopes=["audit:read"]),
        "provider_dpo": api_client_for(world[PP], scopes=["audit:read"]),
    }


def search(dpo, **filters):
    response = dpo.get("/api/v1/audit/events/", filters)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def assert_no_personal_data(text):
    for value in (*PARTNER_VALUES, *SUBJECT_VALUES):
        assert value not in text


# --- who may search -----------------------------------------------------------------------------


def test_returns_401_if_unauthenticated(client):
    for path in (
        "/api/v1/audit/events/",
        "/api/v1/audit/events/export/",
        "/api/v1/audit/verify/",
        f"/api/v1/audit/subjects/{uuid.uuid4()}/report/",
    ):
        response = client.get(path)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"


def test_a_token_without_audit_read_is_refused_and_the_attempt_recorded(api_client_for, world):
    caseworker = api_client_for(world[P], scopes=["referrals:read"])

    response = caseworker.get("/api/v1/audit/events/")

    assert response.status_code == 403
    record = AccessRecord.objects.get(path="/api/v1/audit/events/")
    assert (record.outcome, record.flagged, record.agency_id) == ("refused", True, world[P].id)


def test_audit_endpoints_serve_the_audit_purpose_only(scene):
    response = scene["operator_dpo"].get(
        "/api/v1/audit/events/", HTTP_X_PURPOSE="programme_delivery"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "X-Purpose"


# --- the hub operator's DPO -----------------------------------------------------------------------


def test_operator_dpo_finds_each_access_to_a_referral_with_its_categories_and_bases(scene):
    referral_id = scene["referral"]["id"]

    records = search(scene["operator_dpo"], referral=referral_id, agency=scene["world"][PP].id)

    (read,) = [r for r in records if r["method"] == "GET"]
    assert read["outcome"] == "served"
    assert read["purpose"] == "programme_delivery"
    assert read["client"] == scene["provider"].oauth_client.client_id
    # Its own programme.progress (rule 0), and what probation's agreement grants it.
    assert set(read["disclosed"]) == {
        "referral.admin",
        "programme.progress",
        "subject.identity",
        "risk",
    }
    assert {w["category"] for w in read["withheld"]} >= {"partner.contact", "offence"}
    (decision,) = read["decisions"]
    assert {(b["category"], b["lawful_basis"]) for b in decision["bases"]} == {
        ("programme.progress", "supplier"),
        ("subject.identity", "public_task"),
        ("risk", "public_task"),
    }
    granted = [b for b in decision["bases"] if b["lawful_basis"] == "public_task"]
    assert all(b["agreement"] and b["agreement_version"] == 1 for b in granted)


def test_search_filters_narrow_the_records(scene):
    dpo = scene["operator_dpo"]
    world = scene["world"]
    person = scene["referral"]["subject"]["identity"]["id"]

    by_category = search(dpo, category="partner.contact")
    by_purpose = search(dpo, purpose="partner_safety")
    by_person = search(dpo, person=person)
    by_client = search(dpo, client=scene["victim_service"].oauth_client.client_id)
    by_outcome = search(dpo, outcome="refused")

    assert by_category and all("partner.contact" in r["disclosed"] for r in by_category)
    assert {r["agency"] for r in by_purpose} == {str(world[VS].id)}
    assert by_person and all(person in r["persons"] for r in by_person)
    assert {r["agency"] for r in by_client} == {str(world[VS].id)}
    assert by_outcome == []


def test_search_by_time_range_and_flag(scene):
    dpo = scene["operator_dpo"]
    now = datetime.datetime.now(datetime.UTC)

    assert search(dpo, **{"from": (now + datetime.timedelta(hours=1)).isoformat()}) == []
    assert search(dpo, to=(now - datetime.timedelta(hours=1)).isoformat()) == []
    assert len(search(dpo, **{"from": (now - datetime.timedelta(hours=1)).isoformat()})) >= 3
    assert search(dpo, flagged="true") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-45"}, "to"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"referral": "not-a-uuid"}, "referral"),
        ({"category": "partner.address"}, "category"),
        ({"outcome": "maybe"}, "outcome"),
        ({"flagged": "perhaps"}, "flagged"),
        ({"page_size": "0"}, "page_size"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_malformed_filters_are_problems(scene, query, field):
    response = scene["operator_dpo"].get("/api/v1/audit/events/", query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("field", ["agency", "client", "person", "referral"])
def test_a_filter_naming_an_unknown_id_is_a_422(scene, field):
    response = scene["operator_dpo"].get("/api/v1/audit/events/", {field: str(uuid.uuid4())})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": field, "message": f"No {field} with this id is known to you."}
    ]


def test_to_another_agencys_dpo_a_referral_it_is_not_party_to_is_unknown(scene, api_client_for):
    police_dpo = api_client_for(scene["world"][AgencyKind.POLICE], scopes=["audit:read"])
    referral = scene["referral"]["id"]

    refused = police_dpo.get("/api/v1/audit/events/", {"referral": referral})
    someone_elses_client = scene["probation_dpo"].get(
        "/api/v1/audit/events/", {"client": scene["provider"].oauth_client.client_id}
    )

    assert refused.status_code == 422
    assert refused.json()["detail"] == "No referral with this id is known to you."
    assert someone_elses_client.status_code == 422
    assert search(scene["probation_dpo"], referral=referral)  # a party may filter by it


def test_search_pages_with_a_cursor_newest_first(scene):
    dpo = scene["operator_dpo"]

    first = dpo.get("/api/v1/audit/events/", {"page_size": 2}).json()
    second = dpo.get(first["next"]).json()

    seen = [r["at"] for r in first["results"] + second["results"]]
    assert len(seen) == 3 and seen == sorted(seen, reverse=True)  # a create and two reads
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_a_dpo_search_is_itself_recorded(scene):
    search(scene["operator_dpo"], purpose="risk_management")

    record = AccessRecord.objects.filter(path="/api/v1/audit/events/").latest("at")
    assert (record.purpose, record.outcome, record.query) == (
        "audit",
        "served",
        "purpose=risk_management",
    )


# --- another agency's DPO -------------------------------------------------------------------------


def test_agency_dpo_sees_its_own_requests_and_disclosures_of_what_it_supplied(scene):
    world = scene["world"]

    records = search(scene["probation_dpo"])

    by_agency = {}
    for record in records:
        by_agency.setdefault(record["agency"], []).append(record)
    (own,) = by_agency.pop(str(world[P].id))
    assert own["method"] == "POST" and own["client"] == scene["referrer"].oauth_client.client_id
    # The provider's read, limited to the categories probation supplied to it.
    (provider_read,) = by_agency.pop(str(world[PP].id))
    assert provider_read["disclosed"] == ["risk", "subject.identity"]
    assert provider_read["client"] is None and provider_read["ip"] is None
    assert provider_read["justification"] is None and provider_read["persons"] == []
    # The victim service read probation's data too. Probation referred her case and supplied
    # partner.identity (rule 0): it may know who supports her, so the service is named.
    (service_read,) = by_agency.pop(str(world[VS].id))
    assert service_read["agency_kind"] == "victim_service"
    assert service_read["disclosed"] == ["partner.contact", "risk"]
    assert by_agency == {}


def test_agency_dpo_never_sees_others_requests_that_disclosed_none_of_its_data(scene):
    world = scene["world"]
    scene["referrer"].get(f"/api/v1/referrals/{uuid.uuid4()}/")  # refused: discloses nothing

    records = search(scene["provider_dpo"])

    others = [r for r in records if r["agency"] != str(world[PP].id)]
    # The referrer's create answered with the provider's (empty) reports: reporting back.
    assert [(r["agency"], r["disclosed"]) for r in others] == [
        (str(world[P].id), ["programme.progress"])
    ]
    assert others[0]["decisions"][0]["bases"][0]["lawful_basis"] == "reporting_back"
    everything_of_probation = search(scene["operator_dpo"], agency=world[P].id)
    assert len(everything_of_probation) == 2  # the create, and the directory read


def test_others_requests_show_no_method_path_status_or_query(scene):
    (provider_read,) = search(scene["probation_dpo"], agency=scene["world"][PP].id)

    assert provider_read["outcome"] == "served"
    for key in ("method", "path", "status", "query", "client", "ip", "request_id"):
        assert provider_read[key] is None, key


def test_an_agency_dpo_may_not_filter_by_a_victim_service_it_knows_only_by_kind(
    scene, api_client_for
):
    service = scene["world"][VS]
    service_dpo = api_client_for(service, scopes=["audit:read"])

    response = scene["provider_dpo"].get("/api/v1/audit/events/", {"agency": str(service.id)})
    assert response.status_code == 422
    assert response.json()["detail"] == "No agency with this id is known to you."
    # The referrer supplied partner.identity: its records name the partner service, and it
    # finds them by that id.
    assert search(scene["probation_dpo"], agency=service.id)
    assert search(service_dpo, agency=service.id)  # its own
    assert search(scene["operator_dpo"], agency=service.id)


def test_own_records_name_only_the_persons_whose_identity_was_disclosed(scene, api_client_for):
    world = scene["world"]
    service_dpo = api_client_for(world[VS], scopes=["audit:read"])
    subject = scene["referral"]["subject"]["identity"]["id"]
    partner = Referral.objects.get(id=scene["referral"]["id"]).partner_id

    def read_of(dpo, agency):
        records = search(dpo, agency=agency.id)
        (found,) = [r for r in records if r["path"].startswith("/api/v1/referrals/")]
        return found

    service_read = read_of(service_dpo, world[VS])
    operator_view = read_of(scene["operator_dpo"], world[VS])
    provider_read = read_of(scene["provider_dpo"], world[PP])

    # It saw partner.contact and risk: not who either person is.
    assert service_read["persons"] == []
    assert set(operator_view["persons"]) == {subject, str(partner)}
    # The provider was told the man's identity, never the partner's.
    assert provider_read["persons"] == [subject]


def test_an_agreement_behind_a_hidden_supplier_is_not_named():
    from audit.selectors import PageFacts, Reader, record_view

    police, service = uuid.uuid4(), uuid.uuid4()
    record = AccessRecord(
        at=datetime.datetime.now(datetime.UTC),
        agency_ref=str(police),
        decisions=[
            {
                "referral": str(uuid.uuid4()),
                "disclosed": ["partner.disclosures"],
                "withheld": [],
                "bases": [
                    {
                        "category": "partner.disclosures",
                        "lawful_basis": "public_task",
                        "agreement": str(uuid.uuid4()),
                        "agreement_version": 2,
                        "consent": None,
                        "supplier": str(service),
                    }
                ],
            }
        ],
    )
    reader = Reader(Agency(id=police, kind=AgencyKind.POLICE))
    kinds = {service: VS, police: "police"}
    facts = PageFacts(
        kinds={str(a): kind for a, kind in kinds.items()},
        identities={},
        partner_services_known={},
        naming=Naming.from_kinds(reader=police, kinds=kinds),
        led={},
    )

    (decision,) = record_view(record, reader, facts)["decisions"]

    assert decision["bases"] == [
        {
            "category": "partner.disclosures",
            "lawful_basis": "public_task",
            "agreement": None,
            "agreement_version": None,
            "consent": None,
            "supplier": None,
            "supplier_kind": VS,
        }
    ]


def test_search_and_export_never_hold_the_partners_details(scene):
    scene["referrer"].get(
        f"/api/v1/referrals/{scene['referral']['id']}/",
        HTTP_X_EMERGENCY_JUSTIFICATION="Imminent risk reported by police control room",
    )
    for dpo in ("operator_dpo", "probation_dpo", "provider_dpo"):
        client = scene[dpo]
        assert_no_personal_data(client.get("/api/v1/audit/events/").content.decode())
        exported = client.get("/api/v1/audit/events/export/", HTTP_ACCEPT="text/csv")
        assert_no_personal_data(b"".join(exported.streaming_content).decode())
        exported = client.get("/api/v1/audit/events/export/")
        assert_no_personal_data(b"".join(exported.streaming_content).decode())


# --- export ---------------------------------------------------------------------------------------


def test_export_streams_the_filtered_records_as_json(scene):
    response = scene["operator_dpo"].get(
        "/api/v1/audit/events/export/", {"agency": scene["world"][PP].id}
    )

    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="access-records-')
    records = json.loads(b"".join(response.streaming_content))
    assert {r["agency"] for r in records} == {str(scene["world"][PP].id)}
    assert records == search(scene["operator_dpo"], agency=scene["world"][PP].id)[: len(records)]


def test_export_streams_csv_with_one_row_per_record(scene):
    response = scene["operator_dpo"].get(
        "/api/v1/audit/events/export/", {"purpose": "partner_safety"}, HTTP_ACCEPT="text/csv"
    )

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["agency"], r["purpose"], r["outcome"]) for r in rows] == [
        (str(scene["world"][VS].id), "partner_safety", "served")
    ]


def test_csv_cells_cannot_run_as_spreadsheet_formulas():
    from audit.views import csv_cell

    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("/api/v1/referrals/") == "/api/v1/referrals/"
    assert csv_cell(True) == "true"


@override_settings(AUDIT_EXPORT_MAX_RECORDS=2)
def test_an_oversized_export_is_refused_and_nothing_is_streamed(scene):
    response = scene["operator_dpo"].get("/api/v1/audit/events/export/")

    assert response.status_code == 422
    assert not response.streaming
    assert "narrow the filters" in response.json()["detail"]


def test_export_never_loads_every_record_at_once(scene, monkeypatch):
    from audit import views

    sizes = []
    real_views_of, real_chunks = views.record_views, views.chunks

    def counting(records, reader, filters):
        sizes.append(len(records))
        return real_views_of(records, reader, filters)

    monkeypatch.setattr(views, "chunks", lambda records: real_chunks(records, 2))
    monkeypatch.setattr(views, "record_views", counting)
    response = scene["operator_dpo"].get("/api/v1/audit/events/export/")

    assert len(json.loads(b"".join(response.streaming_content))) >= 3
    assert max(sizes) == 2


# --- flag review ----------------------------------------------------------------------------------


def test_a_denied_request_is_recorded_flagged_without_personal_data(api_client_for, world):
    provider = api_client_for(world[PP])

    response = provider.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    )

    assert response.status_code == 403
    record = AccessRecord.objects.get(method="POST", path="/api/v1/referrals/")
    assert (record.outcome, record.flagged, record.status) == ("refused", True, 403)
    stored = json.dumps(
        {f.name: str(getattr(record, f.name)) for f in AccessRecord._meta.concrete_fields}
    )
    assert_no_personal_data(stored)


def test_dpo_reviews_a_flagged_record_and_the_record_itself_never_changes(scene, api_client_for):
    world = scene["world"]
    api_client_for(world[PP]).get(f"/api/v1/referrals/{uuid.uuid4()}/")  # a denied attempt
    dpo = scene["operator_dpo"]
    (flagged,) = search(dpo, flagged="true", agency=world[PP].id)
    before = AccessRecord.objects.filter(id=flagged["id"]).values().get()

    reviewed = dpo.post(
        f"/api/v1/audit/events/{flagged['id']}/review/",
        {"note": "Mistyped id; spoke to the provider."},
        format="json",
    )
    again = dpo.post(
        f"/api/v1/audit/events/{flagged['id']}/review/", {"note": "Twice"}, format="json"
    )

    assert reviewed.status_code == 201
    assert reviewed.json()["note"] == "Mistyped id; spoke to the provider."
    assert again.status_code == 409
    assert AccessRecord.objects.filter(id=flagged["id"]).values().get() == before
    assert search(dpo, flagged="true", agency=world[PP].id)[0]["review"]["note"] == (
        "Mistyped id; spoke to the provider."
    )
    assert FlagReview.objects.count() == 1


def test_only_the_hub_operators_dpo_reviews(scene, api_client_for):
    api_client_for(scene["world"][P]).get(f"/api/v1/referrals/{uuid.uuid4()}/")
    (own_flag,) = search(scene["probation_dpo"], flagged="true")

    response = scene["probation_dpo"].post(
        f"/api/v1/audit/events/{own_flag['id']}/review/", {"note": "Fine."}, format="json"
    )

    assert response.status_code == 403
    assert not FlagReview.objects.exists()


def test_only_flagged_records_are_reviewed(scene):
    dpo = scene["operator_dpo"]
    unflagged = search(dpo, flagged="false")[0]

    response = dpo.post(
        f"/api/v1/audit/events/{unflagged['id']}/review/", {"note": "ok"}, format="json"
    )

    assert response.status_code == 422


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "ok", "extra": 1}, {"note": ["x"]}])
def test_a_review_needs_a_note_and_nothing_else(scene, body):
    response = scene["operator_dpo"].post(
        f"/api/v1/audit/events/{uuid.uuid4()}/review/", body, format="json"
    )

    assert response.status_code == 400


def test_an_emergency_release_is_flagged_with_its_justification_for_the_operator_only(scene):
    justification = "Imminent risk reported by police control room"
    scene["referrer"].get(
        f"/api/v1/referrals/{scene['referral']['id']}/",
        HTTP_X_EMERGENCY_JUSTIFICATION=justification,
    )

    (operator_view,) = search(scene["operator_dpo"], flagged="true")
    (provider_view,) = search(scene["provider_dpo"], flagged="true")

    assert operator_view["justification"] == justification
    # The provider's reports were among what was released: it sees the release, not why.
    assert provider_view["justification"] is None
    assert provider_view["disclosed"] == ["programme.progress"]


# --- a referral's accesses ------------------------------------------------------------------------


def accesses(client, referral):
    response = client.get(f"/api/v1/referrals/{referral['id']}/accesses/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_a_party_sees_its_own_accesses_and_those_to_what_it_supplied(scene):
    world = scene["world"]

    referrer_view = accesses(scene["referrer"], scene["referral"])
    provider_view = accesses(scene["provider"], scene["referral"])

    by_agency = {(a["agency"], a["agency_kind"]) for a in referrer_view}
    assert (str(world[PP].id), PP) in by_agency
    provider_entry = next(a for a in referrer_view if a["agency"] == str(world[PP].id))
    assert provider_entry["categories"] == ["risk", "subject.identity"]
    assert provider_entry["purpose"] == "programme_delivery"
    # Of others' accesses the provider sees only those to its reports (reporting back).
    others = [a for a in provider_view if a["agency"] != str(world[PP].id)]
    assert others and all(a["categories"] == ["programme.progress"] for a in others)
    for entry in referrer_view + provider_view:
        assert "justification" not in entry


def test_accesses_name_the_partner_service_only_to_who_may_know_it(scene):
    world = scene["world"]
    published = scene["provider"].post(
        "/api/v1/sharing-agreements/",
        agreement_body(world[PP], world[VS], ["programme.progress"], ["partner_safety"]),
        format="json",
    )
    assert published.status_code == 201
    scene["victim_service"].get(f"/api/v1/referrals/{scene['referral']['id']}/")

    referrer_view = accesses(scene["referrer"], scene["referral"])
    provider_view = accesses(scene["provider"], scene["referral"])

    # The referrer supplied partner.identity: it knows the partner service.
    assert str(world[VS].id) in {a["agency"] for a in referrer_view}
    # The provider may never see partner.identity: even that a victim service read its
    # reports (when, for what purpose) would tell, with its one agreement, which one it is.
    assert [a for a in provider_view if a["agency_kind"] == VS] == []
    assert str(world[VS].id) not in json.dumps(provider_view)


def test_accesses_of_a_referral_are_404_to_a_non_party(scene, api_client_for):
    police = api_client_for(scene["world"][AgencyKind.POLICE])

    response = police.get(f"/api/v1/referrals/{scene['referral']['id']}/accesses/")

    assert response.status_code == 404


# --- subject-access report ------------------------------------------------------------------------


def report_of(client, person_id, **headers):
    return client.get(f"/api/v1/audit/subjects/{person_id}/report/", **headers)


def test_subject_report_lists_a_disclosure_made_in_this_test(scene):
    person = scene["referral"]["subject"]["identity"]["id"]

    report = report_of(scene["operator_dpo"], person).json()

    assert report["status"] == "draft_for_dpo_review"
    (held,) = report["held"]
    assert held["role"] == "subject"
    assert held["data"]["subject.identity"]["given_name"] == "Adam"
    to_provider = [d for d in report["disclosures"] if d["recipient_kind"] == PP]
    assert len(to_provider) == 1
    assert to_provider[0]["recipient"] == str(scene["world"][PP].id)
    assert to_provider[0]["categories"] == ["risk", "subject.identity"]
    assert to_provider[0]["purpose"] == "programme_delivery"
    assert {b["lawful_basis"] for b in to_provider[0]["basis"]} == {"public_task"}


def test_the_mans_report_never_holds_his_partners_details(scene):
    person = scene["referral"]["subject"]["identity"]["id"]

    response = report_of(scene["operator_dpo"], person)

    text = response.content.decode()
    for value in PARTNER_VALUES:
        assert value not in text
    assert not {"partner.identity", "partner.contact", "partner.disclosures", "children"} & set(
        response.json()["categories"]
    )


def test_the_partners_report_names_a_victim_service_recipient_only_by_kind(scene):
    partner = scene["referral"]["partner"]["identity"]["id"]

    report = report_of(scene["operator_dpo"], partner).json()

    assert report["held"][0]["data"]["partner.contact"]["address"] == "Refuge, secret"
    assert report["held"][0]["status"] is None  # his referral's progress is not hers
    assert "Adam" not in json.dumps(report)
    to_service = [d for d in report["disclosures"] if d["recipient_kind"] == VS]
    assert to_service and all(d["recipient"] is None for d in to_service)
    assert str(scene["world"][VS].id) not in json.dumps(report)


def test_subject_report_downloads_as_a_readable_document(scene):
    person = scene["referral"]["subject"]["identity"]["id"]

    response = report_of(scene["operator_dpo"], person, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="subject-access-report-{person}.html"'
    )
    page = response.content.decode()
    assert "DRAFT" in page and "Adam" in page and "programme_delivery" in page
    assert "http://" not in page and "https://" not in page


def test_producing_a_subject_report_is_recorded(scene):
    person = scene["referral"]["subject"]["identity"]["id"]

    report_of(scene["operator_dpo"], person)

    record = AccessRecord.objects.get(path=f"/api/v1/audit/subjects/{person}/report/")
    assert (record.purpose, record.outcome, record.persons) == ("audit", "served", [person])
    assert record.referrals == [scene["referral"]["id"]]


def test_subject_reports_are_the_hub_operators_alone(scene):
    person = scene["referral"]["subject"]["identity"]["id"]

    assert report_of(scene["probation_dpo"], person).status_code == 403
    assert report_of(scene["operator_dpo"], uuid.uuid4()).status_code == 404


# --- indexes --------------------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "filters",
    [
        {"agency": "A"},
        {"client": "c"},
        {"person": "P"},
        {"referral": "R"},
        {"category": "risk"},
        {"purpose": "risk_management"},
        {"flagged": True},
        {"outcome": "refused"},
        {"from": "T"},
    ],
)
def test_the_main_search_filters_use_indexes_not_a_scan_of_the_records(scene, filters):
    from audit.selectors import Reader, record_search

    world = scene["world"]
    values = {
        "A": world[PP].id,
        "P": uuid.UUID(scene["referral"]["subject"]["identity"]["id"]),
        "R": uuid.UUID(scene["referral"]["id"]),
        "T": datetime.datetime.now(datetime.UTC),
    }
    filters = {k: values.get(v, v) if isinstance(v, str) else v for k, v in filters.items()}
    for reader in (Reader(world[AgencyKind.HUB_OPERATOR]), Reader(world[P])):
        records = record_search(reader, filters).order_by("-at", "-id")
        sql, params = records[:50].query.sql_with_params()
        with connection.cursor() as cursor:
            # With sequential scans priced out, a plan still scans the table only when no
            # index can serve the filter.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Seq Scan on audit_accessrecord" not in plan, plan
        assert "Seq Scan on audit_accessindexentry" not in plan, plan


# --- completeness ---------------------------------------------------------------------------------


def test_every_request_about_a_referral_records_the_referral_and_its_categories(scene):
    world = scene["world"]
    rid = scene["referral"]["id"]
    referrer, provider, service = scene["referrer"], scene["provider"], scene["victim_service"]
    for to in ("acknowledged", "assessment"):
        assert (
            provider.post(
                f"/api/v1/referrals/{rid}/transitions/", {"to": to}, format="json"
            ).status_code
            == 200
        )
    assert (
        provider.post(
            f"/api/v1/referrals/{rid}/reports/",
            {"kind": "assessment", "suitable": True, "summary": "Suitable."},
            format="json",
        ).status_code
        == 201
    )
    assert (
        provider.post(
            f"/api/v1/referrals/{rid}/transitions/", {"to": "accepted"}, format="json"
        ).status_code
        == 200
    )
    consent = referrer.post(
        "/api/v1/consents/",
        {
            "referral": rid,
            "data_subject": "subject",
            "provisions": [{"type": "permit", "categories": ["offence"]}],
            "valid_from": str(TODAY),
            "evidence": {"method": "signed_form", "reference": "F-1"},
        },
        format="json",
    ).json()
    calls = [
        (referrer, "get", f"/api/v1/referrals/{rid}/"),
        (referrer, "get", f"/api/v1/referrals/{rid}/history/"),
        (referrer, "get", f"/api/v1/referrals/{rid}/reports/"),
        (referrer, "get", f"/api/v1/referrals/{rid}/accesses/"),
        (referrer, "get", f"/api/v1/consents/{consent['id']}/"),
        (service, "get", f"/api/v1/referrals/{rid}/partner-contact/"),
        (
            referrer,
            "get",
            f"/api/v1/sharing-agreements/explain/?referral={rid}&agency={world[P].id}"
            "&purpose=risk_management",
        ),
    ]
    for client, method, path in calls:
        assert getattr(client, method)(path).status_code == 200, path
    assert (
        referrer.post(
            f"/api/v1/consents/{consent['id']}/withdraw/", {"reason": "Asked to"}, format="json"
        ).status_code
        == 200
    )

    served = AccessRecord.objects.filter(outcome="served").exclude(
        path__startswith="/api/v1/audit/"
    )
    for record in served:
        assert record.referrals == [rid], (record.method, record.path)
        assert record.agency_id and record.client and record.request_id and record.purpose
    reads = served.filter(method="GET", path=f"/api/v1/referrals/{rid}/")
    assert all(r.disclosed and r.decisions for r in reads)


# --- the chain, over HTTP -------------------------------------------------------------------------


def test_operator_verifies_the_chain_and_sees_the_sealed_range_and_the_tail(scene):
    from audit.chain import chain_seal

    chain_seal()
    scene["provider"].get(f"/api/v1/referrals/{scene['referral']['id']}/")  # the unsealed tail

    report = scene["operator_dpo"].get("/api/v1/audit/verify/").json()

    assert report["intact"] is True and report["first_bad_batch"] is None
    assert report["sealed"]["batches"] == 1 and report["sealed"]["records"] >= 3
    assert report["unsealed"]["records"] == 1


def test_verify_over_http_names_the_batch_of_an_edited_record(scene):
    from audit.chain import chain_seal
    from audit.protection import protections_lifted

    chain_seal(batch_size=2)
    first = AccessRecord.objects.order_by("at", "id").first()
    with protections_lifted(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_accessrecord SET purpose = 'marac' WHERE id = %s",
            [first.id.hex] if connection.vendor == "sqlite" else [first.id],
        )

    report = scene["operator_dpo"].get("/api/v1/audit/verify/").json()

    assert report["intact"] is False
    assert report["first_bad_batch"] == 1
    assert "edited" in report["problem"]


def test_only_the_hub_operator_verifies_the_whole_chain(scene):
    response = scene["probation_dpo"].get("/api/v1/audit/verify/")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("status=accepted&page_size=20", "status=accepted&page_size=20"),
        ("family_name=Testcase&given_name=Adam", "family_name=redacted&given_name=redacted"),
        ("status=Adam+Testcase", "status=redacted"),
        ("referral=Beth", "referral=redacted"),
        ("from=2026-01-01T00:00:00Z&to=2026-02-01", "from=2026-01-01T00%3A00%3A00Z&to=2026-02-01"),
        ("client=Adam", "client=redacted"),
        ("purpose=marac&purpose=audit", "purpose=marac&purpose=audit"),
    ],
)
def test_a_record_keeps_a_query_value_only_when_it_looks_like_what_the_parameter_takes(query, kept):
    from django.http import QueryDict

    from audit.services import recorded_query

    assert recorded_query(QueryDict(query)) == kept


def test_every_query_parameter_of_the_api_is_known_to_the_record_writer():
    from audit.services import QUERY_VALUES
    from tests.conftest import openapi_schema

    documented = {
        parameter["name"]
        for operations in openapi_schema()["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", ())
        if parameter["in"] == "query"
    }

    assert documented == set(QUERY_VALUES)


def test_a_query_full_of_names_never_reaches_a_record(scene):
    rid = scene["referral"]["id"]

    scene["referrer"].get(f"/api/v1/referrals/{rid}/?family_name=Testcase&note=Beth+Private")
    scene["referrer"].get("/api/v1/referrals/?status=Adam")

    for record in AccessRecord.objects.all():
        assert_no_personal_data(record.query)


def test_a_refused_request_about_a_referral_is_found_by_that_referral(scene, api_client_for):
    police = api_client_for(scene["world"][AgencyKind.POLICE])
    rid = scene["referral"]["id"]

    assert police.get(f"/api/v1/referrals/{rid}/history/").status_code == 404

    (attempt,) = search(scene["operator_dpo"], referral=rid, outcome="refused")
    assert attempt["agency"] == str(scene["world"][AgencyKind.POLICE].id)
    assert attempt["flagged"] is True and attempt["disclosed"] == []


def test_a_reports_read_records_only_what_it_answered_with(scene, api_client_for):
    rid = scene["referral"]["id"]
    scene["referrer"].get(f"/api/v1/referrals/{rid}/reports/")

    record = AccessRecord.objects.get(path=f"/api/v1/referrals/{rid}/reports/")

    assert record.disclosed == ["programme.progress", "referral.admin"]
    (decision,) = record.decisions
    assert {b["category"] for b in decision["bases"]} == {"programme.progress"}


def test_an_agency_dpo_pages_through_its_records_with_a_cursor(scene):
    dpo = scene["probation_dpo"]
    everything = search(dpo, page_size=200)

    seen, page = [], dpo.get("/api/v1/audit/events/", {"page_size": 1}).json()
    while True:
        seen += page["results"]
        if not page["next"]:
            break
        page = dpo.get(page["next"]).json()

    assert len(everything) >= 3
    # Each page's own search is recorded too: compare the records that existed before.
    assert [r["id"] for r in seen][-len(everything) :] == [r["id"] for r in everything]


def test_a_review_written_straight_into_the_table_breaks_verification(scene, api_client_for):
    from audit.chain import chain_seal, chain_verify

    world = scene["world"]
    api_client_for(world[PP]).get(f"/api/v1/referrals/{uuid.uuid4()}/")
    api_client_for(world[P]).get(f"/api/v1/referrals/{uuid.uuid4()}/")
    first, second = search(scene["operator_dpo"], flagged="true")
    made = scene["operator_dpo"].post(
        f"/api/v1/audit/events/{first['id']}/review/", {"note": "Checked."}, format="json"
    )
    assert made.status_code == 201
    chain_seal()
    assert chain_verify().intact is True

    FlagReview.objects.create(
        record_id=second["id"], agency=world[AgencyKind.HUB_OPERATOR], client="x", note="Fine."
    )

    report = VERIFY_BODY(chain_verify())
    assert report["intact"] is False and report["first_bad_batch"] is None
    assert report["problem"] == (
        f"the review of record {second['id']} was made by no request (inserted)"
    )
