"""One source per response shape (issue 13, item 3): the subject-access report and the audit
chain's verification report.

Each body is rendered by the output serializer that the OpenAPI schema documents for it: the
body is what that class rendered, with exactly its fields (a value the report does not show is
null, never a key less), and the schema's component is generated from that class. The subject
report's module decides what the person is told (audit.report, by the naming rule); the
serializers only render it. `manage.py audit_verify` prints what the API answers.
"""

import datetime
import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.template.loader import render_to_string

from agencies.models import AgencyKind
from audit.chain import chain_seal
from audit.models import AccessRecord
from audit.protection import protections_lifted
from audit.serializers import (
    AnchorSerializer,
    HeldSerializer,
    RangeSerializer,
    SealedRangeSerializer,
    SubjectBasisSerializer,
    SubjectDisclosureSerializer,
    SubjectReport,
    SubjectReportSerializer,
    VerifySerializer,
)
from tests.conftest import agreement_body, referral_body
from tests.schema_components import (
    assert_component_made_from,
    fields_of,
    operation,
)

pytestmark = pytest.mark.django_db

P = AgencyKind.PROBATION
PP = AgencyKind.PROGRAMME_PROVIDER
VS = AgencyKind.VICTIM_SERVICE
COURT = AgencyKind.COURT
POLICE = AgencyKind.POLICE
HUB = AgencyKind.HUB_OPERATOR


@pytest.fixture
def renders(monkeypatch) -> Callable[[type], list[tuple[Any, Any]]]:
    """`renders(cls)`: `(instance, body)` for each whole body `cls` renders from then on."""

    def spy(serializer_class: type) -> list[tuple[Any, Any]]:
        rendered: list[tuple[Any, Any]] = []
        real = serializer_class.to_representation

        def to_representation(self, instance):
            body = real(self, instance)
            if self.parent is None:
                rendered.append((instance, body))
            return body

        monkeypatch.setattr(serializer_class, "to_representation", to_representation)
        return rendered

    return spy


# --- the subject-access report --------------------------------------------------------------------


def referred(api_client_for, world, times: int) -> dict[str, Any]:
    """One man referred `times` times (by probation, then the court and the police: matched by
    his identifier to one person), each referral's partner supported by the victim service.
    The provider reads his risk on every referral; on the first, the court (its observer) reads
    the partner's identity, and the victim service his identity and her contact, on an
    agreement that leads to it (so that the report names neither the service nor the
    agreement)."""
    referrers = [api_client_for(world[kind]) for kind in (P, COURT, POLICE)[:times]]
    ids = []
    for number, client in enumerate(referrers):
        extra: dict[str, Any] = {"partner_service": str(world[VS].id)}
        if number == 0:
            extra["observers"] = [str(world[COURT].id)]
        created = client.post(
            "/api/v1/referrals/", referral_body(world["programme"].id, **extra), format="json"
        )
        assert created.status_code == 201, created.content
        ids.append(created.json()["id"])
    agreements = [(client, PP, ["risk"], "programme_delivery") for client in referrers] + [
        (referrers[0], VS, ["subject.identity", "partner.contact"], "partner_safety"),
        (referrers[0], COURT, ["partner.identity"], "court_compliance"),
    ]
    for client, recipient, grants, purpose in agreements:
        body = agreement_body(client.agency, world[recipient], grants, [purpose])
        published = client.post("/api/v1/sharing-agreements/", body, format="json")
        assert published.status_code == 201, published.content
    provider = api_client_for(world[PP], purpose="programme_delivery")
    for referral_id in ids:
        assert provider.get(f"/api/v1/referrals/{referral_id}/").status_code == 200
    for kind, purpose in ((VS, "partner_safety"), (COURT, "court_compliance")):
        reader = api_client_for(world[kind], purpose=purpose)
        assert reader.get(f"/api/v1/referrals/{ids[0]}/").status_code == 200
    first = referrers[0].get(f"/api/v1/referrals/{ids[0]}/").json()
    return {
        "man": first["subject"]["identity"]["id"],
        "partner": first["partner"]["identity"]["id"],
        "dpo": api_client_for(world[HUB], scopes=["audit:read"]),
    }


# (whose report, how many times the man was referred, how many referrals it holds)
WHOSE = {
    "a man referred once": ("man", 1, 1),
    "a man referred three times": ("man", 3, 3),
    "a partner": ("partner", 1, 1),
}


@pytest.fixture(params=list(WHOSE))
def report_of(request, api_client_for, world) -> dict[str, Any]:
    whose, times, held = WHOSE[request.param]
    scene = referred(api_client_for, world, times)
    return {
        "url": f"/api/v1/audit/subjects/{scene[whose]}/report/",
        "dpo": scene["dpo"],
        "whose": whose,
        "held": held,
    }


def test_a_subject_report_is_what_the_subject_report_serializer_rendered(report_of, renders):
    rendered = renders(SubjectReportSerializer)

    response = report_of["dpo"].get(report_of["url"])

    assert response.status_code == 200, response.content
    report = response.json()
    [(_, body)] = rendered
    assert report == body
    assert list(report) == fields_of(SubjectReportSerializer)
    assert len(report["held"]) == report_of["held"]
    for held in report["held"]:
        assert list(held) == fields_of(HeldSerializer)
        assert held["role"] == ("subject" if report_of["whose"] == "man" else "partner")
    assert report["disclosures"], "the scene discloses the person's data"
    for disclosure in report["disclosures"]:
        assert list(disclosure) == fields_of(SubjectDisclosureSerializer)
        for basis in disclosure["basis"]:
            # A recorded basis keeps its stored key order (PostgreSQL's own): compare as sets.
            assert set(basis) == set(fields_of(SubjectBasisSerializer))


def test_the_subject_report_document_is_the_same_rendering_as_html(report_of, renders):
    rendered = renders(SubjectReportSerializer)

    response = report_of["dpo"].get(report_of["url"], HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    [(_, body)] = rendered
    document = render_to_string("audit/subject_report.html", {"report": body})
    assert response.content.decode() == document


def test_the_report_decides_what_the_person_is_told_and_its_serializer_renders_only_that(
    report_of, renders
):
    rendered = renders(SubjectReportSerializer)

    report_of["dpo"].get(report_of["url"])

    [(report, body)] = rendered
    assert isinstance(report, SubjectReport)
    assert body["person"] == str(report.person)
    assert body["categories"] == report.categories
    for held, shown in zip(report.held, body["held"], strict=True):
        assert shown["referral"] == str(held.referral.id)
        assert shown["role"] == held.role
        assert shown["status"] == (held.referral.status if held.status_shown else None)
        # What is held is ReferralSerializer's rendering, taken as it is.
        assert shown["data"] == held.data
    for disclosure, shown in zip(report.disclosures, body["disclosures"], strict=True):
        named = disclosure.recipient_named
        assert shown["recipient"] == (disclosure.record.agency_ref if named else None)
        assert shown["recipient_kind"] == disclosure.record.agency_kind
        assert shown["categories"] == disclosure.categories
        for basis, shown_basis in zip(disclosure.basis, shown["basis"], strict=True):
            recorded = {key: value for key, value in basis.basis.items() if key != "supplier"}
            if not basis.named:
                recorded.update(agreement=None, agreement_version=None, consent=None)
            assert shown_basis == recorded
            assert list(shown_basis) == list(recorded)
    # Both ways are exercised: the provider is named, the victim service only by its kind,
    # and an agreement that leads to it is not named.
    assert {d.recipient_named for d in report.disclosures} == {True, False}
    assert {b.named for d in report.disclosures for b in d.basis} == {True, False}


# --- the chain's verification report --------------------------------------------------------------


@pytest.fixture
def chain(api_client_for, world) -> dict[str, Any]:
    """Access records of real requests: a referral's creation and reads."""
    referrer = api_client_for(world[P])
    created = referrer.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    )
    assert created.status_code == 201, created.content
    for _ in range(4):
        assert referrer.get(f"/api/v1/referrals/{created.json()['id']}/").status_code == 200
    return {"referrer": referrer, "referral": created.json()["id"]}


def nothing_sealed(chain: dict[str, Any]) -> dict[str, str]:
    return {}


def sealed_with_a_tail(chain: dict[str, Any]) -> dict[str, str]:
    chain_seal(batch_size=2)
    assert chain["referrer"].get(f"/api/v1/referrals/{chain['referral']}/").status_code == 200
    return {}


def anchored(chain: dict[str, Any]) -> dict[str, str]:
    head = chain_seal(batch_size=2).head
    return {"anchor": f"{head.batch}:{head.hash}"}


def anchored_at_a_hash_it_does_not_hold(chain: dict[str, Any]) -> dict[str, str]:
    chain_seal(batch_size=2)
    return {"anchor": f"1:{'f' * 64}"}


def broken(chain: dict[str, Any]) -> dict[str, str]:
    chain_seal(batch_size=2)
    first = AccessRecord.objects.order_by("at", "id").first()
    with protections_lifted(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_accessrecord SET purpose = 'marac' WHERE id = %s",
            [first.id.hex] if connection.vendor == "sqlite" else [first.id],
        )
    return {}


CHAIN_STATES = [
    nothing_sealed,
    sealed_with_a_tail,
    anchored,
    anchored_at_a_hash_it_does_not_hold,
    broken,
]


@pytest.mark.parametrize("state", CHAIN_STATES, ids=[s.__name__ for s in CHAIN_STATES])
def test_the_verify_report_is_what_the_verify_serializer_rendered(
    chain, state, renders, api_client_for, world
):
    query = state(chain)
    operator = api_client_for(world[HUB], scopes=["audit:read"])
    rendered = renders(VerifySerializer)

    response = operator.get("/api/v1/audit/verify/", query)

    assert response.status_code == 200, response.content
    report = response.json()
    [(_, body)] = rendered
    assert report == body
    assert list(report) == fields_of(VerifySerializer)
    # A range gives its keys in the order it always has (`from` before `to`); its fields are
    # listed in the schema's order.
    assert list(report["sealed"]) == list(SealedRangeSerializer.key_order)
    assert list(report["unsealed"]) == list(RangeSerializer.key_order)
    assert set(report["sealed"]) == set(fields_of(SealedRangeSerializer))
    assert set(report["unsealed"]) == set(fields_of(RangeSerializer))
    if report["head"] is not None:
        assert list(report["head"]) == fields_of(AnchorSerializer)
    assert report["intact"] is (state in (nothing_sealed, sealed_with_a_tail, anchored))


@pytest.mark.parametrize("state", CHAIN_STATES, ids=[s.__name__ for s in CHAIN_STATES])
def test_audit_verify_prints_what_the_verify_serializer_renders_for_the_api(
    chain, state, renders, api_client_for, world
):
    query = state(chain)
    operator = api_client_for(world[HUB], scopes=["audit:read"])
    rendered = renders(VerifySerializer)
    out = StringIO()

    answered = operator.get("/api/v1/audit/verify/", query).json()
    try:
        call_command("audit_verify", *(f"--{k}={v}" for k, v in query.items()), stdout=out)
    except CommandError:
        assert answered["intact"] is False
    else:
        assert answered["intact"] is True

    [(_, api_body), (_, printed)] = rendered
    (line,) = out.getvalue().splitlines()
    assert line == json.dumps(printed)
    assert json.loads(line) == api_body == answered


# --- the schema is generated from the rendering classes -------------------------------------------


# (rendering class, its component, operations whose 200 JSON body is it)
DOCUMENTED = [
    (
        SubjectReportSerializer,
        "SubjectReport",
        [("get", "/api/v1/audit/subjects/{person_id}/report/")],
    ),
    (HeldSerializer, "Held", []),
    (SubjectDisclosureSerializer, "SubjectDisclosure", []),
    (SubjectBasisSerializer, "SubjectBasis", []),
    (VerifySerializer, "Verify", [("get", "/api/v1/audit/verify/")]),
    (SealedRangeSerializer, "SealedRange", []),
    (RangeSerializer, "Range", []),
    (AnchorSerializer, "Anchor", []),
]


@pytest.mark.parametrize(
    ("serializer_class", "component", "operations"),
    DOCUMENTED,
    ids=[component for _, component, _ in DOCUMENTED],
)
def test_the_schema_component_is_generated_from_the_class_that_renders_the_body(
    serializer_class, component, operations
):
    assert_component_made_from(serializer_class, component)
    for method, path in operations:
        answer = operation(method, path)["responses"]["200"]["content"]["application/json"]
        assert answer["schema"]["$ref"] == f"#/components/schemas/{component}"


def test_a_report_prepared_now_says_so_in_the_apis_time_format(report_of, renders):
    rendered = renders(SubjectReportSerializer)
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    prepared_at = report_of["dpo"].get(report_of["url"]).json()["prepared_at"]

    [(report, _)] = rendered
    assert prepared_at.endswith("Z")
    assert datetime.datetime.fromisoformat(prepared_at) == report.prepared_at >= before
