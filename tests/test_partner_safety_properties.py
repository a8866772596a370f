"""Victim safety as properties over generated worlds (issue 10), over HTTP with real tokens.

A world: a referrer (probation or police), a programme provider, one or two victim services,
observers, one to three referrals (the man of one may be the partner of another, matched by a
strong identifier), agreements published by every kind of supplier, consents, moves, reports,
contact attempts, amendments and reads (emergency ones too). Then, for every agency's reader:

(a) no output it can ask for names a victim service it may not name, nor gives an agreement
    or consent id that leads to one (sharing_policies/naming.py, DESIGN.md *Parties and
    suppliers*);
(b) its DPO's search filters answer over what it sees of each record, and an id it was never
    told answers like a random one (DESIGN.md *The disclosure decision*: never an oracle);
(c) not even a page's length shows where a record it may not see lies.

Each example is rolled back (the audit tables refuse DELETE; they are never cleaned up).
"""

import csv
import datetime
import io
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agencies.models import Agency, AgencyKind
from agencies.registration import SCOPE_CEILINGS
from agencies.services import client_create
from consent.models import Consent
from referrals.models import Referral
from sharing_policies.models import AgreementVersion
from tests import factories
from tests.conftest import (
    DECLARABLE_PURPOSES,
    SchemaCheckedClient,
    referral_body,
    request_token,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
TODAY = datetime.date.today()
VS = AgencyKind.VICTIM_SERVICE
CATEGORIES = (
    "subject.identity",
    "subject.contact",
    "offence",
    "risk",
    "programme.progress",
    "partner.identity",
    "partner.contact",
    "partner.disclosures",
    "children",
)
CONFIDENTIAL = frozenset({"partner.identity", "partner.contact", "partner.disclosures", "children"})
PURPOSES = ("programme_delivery", "risk_management", "partner_safety", "court_compliance", "marac")
BASES = ("consent", "legal_obligation", "public_task", "vital_interests", "legitimate_interests")
JUSTIFICATION = "Imminent threat reported by the police."
# The agencies of a world, by the name a plan gives them.
KINDS = {
    "probation": AgencyKind.PROBATION,
    "police": AgencyKind.POLICE,
    "court": AgencyKind.COURT,
    "children": AgencyKind.CHILDREN_SERVICES,
    "provider": AgencyKind.PROGRAMME_PROVIDER,
    "vs0": VS,
    "vs1": VS,
}
DEFAULT_PURPOSE = {
    "probation": "risk_management",
    "police": "risk_management",
    "court": "court_compliance",
    "children": "risk_management",
    "provider": "programme_delivery",
    "vs0": "partner_safety",
    "vs1": "partner_safety",
}
# Each example builds a world over HTTP (a second or two): a few examples per run, and no
# shrinking (minutes for a world), so that a failure is shown as it was found.
PROPERTY_SETTINGS = settings(
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- plans: what happens in a world, as plain data (Hypothesis shows and shrinks them) ----------


@dataclass(frozen=True)
class ReferralPlan:
    partner_service: str | None  # "vs0", "vs1" or None
    observers: tuple[str, ...]
    partner: bool  # whether the referral names the partner at all
    stage: str  # "submitted", "accepted" or "in_programme"
    urgent_risk: bool
    contact_attempt: bool
    amendment: str | None  # "risk", "partner.contact", "partner.identity" or None


@dataclass(frozen=True)
class AgreementPlan:
    provider: str
    recipient: str | None
    recipient_kind: str | None
    grants: tuple[tuple[str, str], ...]
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class ProvisionPlan:
    type: str
    categories: tuple[str, ...]
    recipients: tuple[str, ...]
    recipient_kinds: tuple[str, ...]
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class ConsentPlan:
    referral: int
    recorder: str  # "referrer" or "partner_service"
    data_subject: str
    provisions: tuple[ProvisionPlan, ...]
    withdrawn: bool


@dataclass(frozen=True)
class ReadPlan:
    reader: str
    referral: int
    purpose: str
    emergency: bool


@dataclass(frozen=True)
class WorldPlan:
    referrer: str
    services: tuple[str, ...]
    referrals: tuple[ReferralPlan, ...]
    # (i, j): the man of referral i is the partner of referral j (one strong identifier).
    crossover: tuple[int, int] | None
    agreements: tuple[AgreementPlan, ...]
    consents: tuple[ConsentPlan, ...]
    reads: tuple[ReadPlan, ...]
    purposes: dict[str, str] = field(default_factory=dict)  # each reader's purpose for (a)

    @property
    def observer_pool(self) -> tuple[str, ...]:
        other = "police" if self.referrer == "probation" else "probation"
        return ("court", "children", other)

    @property
    def agencies(self) -> tuple[str, ...]:
        return (self.referrer, "provider", *self.services, *self.observer_pool)


def subset(options: Iterable[Any], *, min_size: int = 0, max_size: int | None = None) -> Any:
    options = tuple(options)
    return st.lists(
        st.sampled_from(options), min_size=min_size, max_size=max_size or len(options), unique=True
    ).map(tuple)


@st.composite
def agreement_plans(draw: Any, referrer: str, services: tuple[str, ...], pool: tuple[str, ...]):
    """An agreement of one of the suppliers: the referrer over its categories, the provider over
    programme.progress, a victim service over partner.disclosures."""
    supplier = draw(st.sampled_from(("referrer", "provider", *services)))
    purposes = draw(subset(PURPOSES, min_size=1, max_size=3))
    basis = st.sampled_from(BASES)
    if supplier == "referrer":
        recipient = draw(st.sampled_from(("provider", *services, *pool, "kind")))
        if recipient == "kind":
            kind = draw(st.sampled_from((VS, AgencyKind.COURT, AgencyKind.CHILDREN_SERVICES)))
            recipient = None
        else:
            kind = None
        allowed = [
            c for c in CATEGORIES if c != "programme.progress" and not (
                recipient == "provider" and c in CONFIDENTIAL
            )
        ]  # fmt: skip
        categories = draw(subset(allowed, min_size=1, max_size=4))
        return AgreementPlan(
            provider=referrer,
            recipient=recipient,
            recipient_kind=kind,
            grants=tuple((c, draw(basis)) for c in categories),
            purposes=purposes,
        )
    if supplier == "provider":
        recipient = draw(st.sampled_from((*services, referrer)))
        grants = (("programme.progress", draw(basis)),)
        return AgreementPlan("provider", recipient, None, grants, purposes)
    recipient = draw(st.sampled_from((referrer, *pool)))
    grants = (("partner.disclosures", draw(basis)),)
    return AgreementPlan(supplier, recipient, None, grants, purposes)


@st.composite
def provision_plans(draw: Any, agencies: tuple[str, ...]) -> ProvisionPlan:
    kind = draw(st.sampled_from(("permit", "deny")))
    recipients = draw(subset(agencies, max_size=3))
    kinds = draw(
        subset((VS, AgencyKind.COURT, AgencyKind.POLICE, AgencyKind.PROGRAMME_PROVIDER), max_size=2)
    )
    categories = list(draw(subset(CATEGORIES, min_size=1, max_size=3)))
    if kind == "permit" and ("provider" in recipients or AgencyKind.PROGRAMME_PROVIDER in kinds):
        # A permit of a victim-confidential category to the men's programme is refused (422).
        categories = [c for c in categories if c not in CONFIDENTIAL] or ["risk"]
    purposes = draw(subset(PURPOSES, max_size=2))
    return ProvisionPlan(kind, tuple(categories), recipients, kinds, purposes)


@st.composite
def permits_for(
    draw: Any, agreements: tuple[AgreementPlan, ...], services: tuple[str, ...]
) -> ProvisionPlan:
    """A permit that lets an agreement's consent grants pass, naming a victim service as a
    recipient too: a consent that could lead to one, resting disclosures to someone else."""
    on_consent = [a for a in agreements if a.recipient and any(b == "consent" for _, b in a.grants)]
    if not on_consent:
        return draw(provision_plans(tuple(services)))
    agreement = draw(st.sampled_from(on_consent))
    categories = tuple(c for c, b in agreement.grants if b == "consent")
    if agreement.recipient == "provider":
        categories = tuple(c for c in categories if c not in CONFIDENTIAL) or ("risk",)
    extra = draw(st.sampled_from(services))
    return ProvisionPlan("permit", categories, (agreement.recipient, extra), (), ())


@st.composite
def world_plans(draw: Any) -> WorldPlan:
    referrer = draw(st.sampled_from(("probation", "police")))
    services = ("vs0", "vs1")[: draw(st.integers(1, 2))]
    pool = WorldPlan(referrer, services, (), None, (), (), ()).observer_pool
    referrals = tuple(
        ReferralPlan(
            partner_service=draw(st.sampled_from((None, *services))),
            observers=draw(subset(pool, max_size=2)),
            partner=draw(st.booleans()),
            stage=draw(st.sampled_from(("submitted", "accepted", "in_programme"))),
            urgent_risk=draw(st.booleans()),
            contact_attempt=draw(st.booleans()),
            amendment=draw(st.sampled_from((None, "risk", "partner.contact", "partner.identity"))),
        )
        for _ in range(draw(st.integers(1, 3)))
    )
    crossover = None
    with_partner = [j for j, r in enumerate(referrals) if r.partner]
    if len(referrals) > 1 and with_partner and draw(st.booleans()):
        j = draw(st.sampled_from(with_partner))
        i = draw(st.sampled_from([i for i in range(len(referrals)) if i != j]))
        crossover = (i, j)
    agencies = (referrer, "provider", *services, *pool)
    agreements = tuple(draw(st.lists(agreement_plans(referrer, services, pool), max_size=7)))
    consents = tuple(
        ConsentPlan(
            referral=draw(st.integers(0, len(referrals) - 1)),
            recorder=draw(st.sampled_from(("referrer", "partner_service"))),
            data_subject=draw(st.sampled_from(("subject", "partner"))),
            provisions=tuple(
                draw(
                    st.lists(
                        provision_plans(agencies) | permits_for(agreements, services),
                        min_size=1,
                        max_size=2,
                    )
                )
            ),
            withdrawn=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    reads = tuple(
        ReadPlan(
            reader=draw(st.sampled_from(agencies)),
            referral=draw(st.integers(0, len(referrals) - 1)),
            purpose=draw(st.sampled_from(PURPOSES)),
            emergency=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 6)))
    )
    # Mostly a purpose some agreement to the reader serves: so that grants match, and pass or
    # fail on their basis, more often than by chance.
    purposes = {
        name: draw(
            st.sampled_from(
                [p for a in agreements if a.recipient == name for p in a.purposes] or PURPOSES
            )
            | st.sampled_from(PURPOSES)
        )
        for name in agencies
    }
    return WorldPlan(
        referrer, services, referrals, crossover, agreements, consents, reads, purposes
    )


# --- clients that remember everything they were told ---------------------------------------------


def body_of(response: Any) -> str:
    """A response's body as text (a streamed one read once and kept)."""
    if not hasattr(response, "text_body"):
        if getattr(response, "streaming", False):
            raw = b"".join(response.streaming_content)
            response.streaming_content = [raw]
        else:
            raw = response.content
        response.text_body = raw.decode()
    return response.text_body


def told(response: Any) -> str:
    """Everything a response tells: its body and every header."""
    return body_of(response) + "\n" + json.dumps(dict(response.headers))


class Reader(SchemaCheckedClient):
    """A schema-checked client that keeps the text of every response it received."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heard: list[str] = []

    def generic(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        response = super().generic(method, path, *args, **kwargs)
        self.heard.append(told(response))
        return response


def reader_for(agency: Agency, *, purpose: str | None, scopes: list[str] | None = None) -> Reader:
    """A client of the agency with a real token (every scope its kind may hold: audit:read for
    its DPO too; every purpose)."""
    issued = client_create(
        agency_id=agency.id,
        scopes=scopes or sorted(SCOPE_CEILINGS[agency.kind]),
        purpose=purpose,
        purposes=DECLARABLE_PURPOSES,
    )
    token = request_token(issued.client.client_id, issued.client_secret)
    assert token.status_code == 200, token.content
    client = Reader()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access_token']}")
    return client


def ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), (
        response.request["PATH_INFO"],
        response.status_code,
        body_of(response),
    )
    return response.json() if body_of(response) else None


def every_page(client: Reader, path: str, params: dict[str, Any] | None = None, **extra) -> list:
    """Every page of a list, following `next`."""
    responses = [client.get(path, params or {}, **extra)]
    while responses[-1].status_code == 200 and responses[-1].json().get("next"):
        responses.append(client.get(responses[-1].json()["next"], **extra))
    return responses


def results(responses: list[Any]) -> list[dict[str, Any]]:
    return [item for r in responses if r.status_code == 200 for item in r.json()["results"]]


# --- building a world over HTTP ------------------------------------------------------------------


@dataclass
class World:
    plan: WorldPlan
    agencies: dict[str, Agency]
    programme: Any
    clients: dict[str, Reader]
    referrals: list[Referral] = field(default_factory=list)
    agreements: list[str] = field(default_factory=list)
    consents: list[str] = field(default_factory=list)

    def name_of(self, agency_id: Any) -> str:
        return next(n for n, a in self.agencies.items() if str(a.id) == str(agency_id))

    @property
    def victim_services(self) -> dict[str, str]:
        """Every victim service of the world (the unrelated ones too): name -> id."""
        return {n: str(a.id) for n, a in self.agencies.items() if a.kind == VS}

    def partner_service_of(self, referral_id: str) -> str | None:
        referral = next(r for r in self.referrals if str(r.id) == referral_id)
        return str(referral.partner_service_id) if referral.partner_service_id else None

    def persons(self) -> set[str]:
        return {str(p) for r in self.referrals for p in (r.subject_id, r.partner_id) if p}

    def led_to(self) -> dict[str, set[str]]:
        """What each agreement and consent id leads to, as the hub operator reads it: an
        agreement's provider, recipient and author in every version; a consent's recorder,
        withdrawer and every recipient it names."""
        led: dict[str, set[str]] = {}
        for row in AgreementVersion.objects.filter(agreement_id__in=self.agreements):
            agencies = {row.provider_id, row.recipient_id, row.created_by_id}
            led.setdefault(str(row.agreement_id), set()).update(str(a) for a in agencies if a)
        for consent in Consent.objects.filter(id__in=self.consents):
            agencies = {consent.recorded_by_id, consent.withdrawn_by_id}
            agencies |= {r for p in consent.provisions for r in p.get("recipients", ())}
            led[str(consent.id)] = {str(a) for a in agencies if a}
        return led


def agreement_body(world: World, plan: AgreementPlan) -> dict[str, Any]:
    return {
        "name": "Property agreement",
        "provider": str(world.agencies[plan.provider].id),
        "recipient": str(world.agencies[plan.recipient].id) if plan.recipient else None,
        "recipient_kind": plan.recipient_kind,
        "purposes": list(plan.purposes),
        "grants": [{"category": c, "lawful_basis": b} for c, b in plan.grants],
        "valid_from": str(TODAY - datetime.timedelta(days=10)),
        "valid_to": str(TODAY + datetime.timedelta(days=365)),
        "status": "active",
    }


def consent_body(world: World, referral: Referral, plan: ConsentPlan) -> dict[str, Any]:
    return {
        "referral": str(referral.id),
        "data_subject": plan.data_subject,
        "provisions": [
            {
                "type": p.type,
                "categories": list(p.categories),
                "recipients": [str(world.agencies[r].id) for r in p.recipients],
                "recipient_kinds": list(p.recipient_kinds),
                "purposes": list(p.purposes),
            }
            for p in plan.provisions
        ],
        "valid_from": str(TODAY),
        "evidence": {"method": "signed_form", "reference": "P-1"},
    }


def refer(world: World, index: int, plan: ReferralPlan) -> Referral:
    body = referral_body(
        world.programme.id,
        observers=[str(world.agencies[o].id) for o in plan.observers],
        **(
            {"partner_service": str(world.agencies[plan.partner_service].id)}
            if plan.partner_service
            else {}
        ),
    )
    body["subject"]["identity"]["identifiers"] = [{"system": "test.pnc", "value": f"PNC-{index}"}]
    crossover = world.plan.crossover
    shared = {"system": "test.nhs", "value": "NHS-SHARED-1"}
    if crossover and crossover[0] == index:
        body["subject"]["identity"]["identifiers"].append(shared)
    if not plan.partner:
        body.pop("partner")
    elif crossover and crossover[1] == index:
        body["partner"]["identity"]["identifiers"] = [shared]
    created = ok(world.clients[world.plan.referrer].post(f"{API}/referrals/", body, format="json"))
    return Referral.objects.get(id=created["id"])


def move(world: World, referral: Referral, to: str) -> None:
    provider = world.clients["provider"]
    ok(provider.post(f"{API}/referrals/{referral.id}/transitions/", {"to": to}, format="json"))


def report(world: World, referral: Referral, body: dict[str, Any]) -> None:
    provider = world.clients["provider"]
    ok(provider.post(f"{API}/referrals/{referral.id}/reports/", body, format="json"))


def live(world: World, referral: Referral, plan: ReferralPlan) -> None:
    """Moves, reports, a contact attempt and an amendment, as the plan says."""
    rid = referral.id
    if plan.stage != "submitted":
        move(world, referral, "acknowledged")
        move(world, referral, "assessment")
        report(world, referral, {"kind": "assessment", "suitable": True, "summary": "Suitable."})
        move(world, referral, "accepted")
        if plan.urgent_risk:
            risk = {"kind": "risk_change", "level": "high", "summary": "Worse.", "urgent": True}
            report(world, referral, risk)
        if plan.contact_attempt and plan.partner_service:
            attempt = {
                "attempted_at": timezone.now().isoformat(),
                "outcome": "reached",
                "notes": "Ok.",
            }
            service = world.clients[plan.partner_service]
            ok(service.post(f"{API}/referrals/{rid}/partner-contact/", attempt, format="json"))
    if plan.stage == "in_programme":
        move(world, referral, "in_programme")
        report(
            world,
            referral,
            {"kind": "attendance", "session_date": str(TODAY), "attendance": "attended"},
        )
    if plan.amendment:
        referrer = world.clients[world.plan.referrer]
        etag = referrer.get(f"{API}/referrals/{rid}/")["ETag"]
        change = {
            "risk": {"risk": {"summary": "Amended risk summary."}},
            "partner.contact": {"partner": {"contact": {"phone": "01632 960999"}}},
            "partner.identity": {"partner": {"identity": {"name": "Beth Amended"}}},
        }[plan.amendment]
        body = {**change, "amendment_reason": "Corrected."}
        ok(referrer.patch(f"{API}/referrals/{rid}/", body, format="json", HTTP_IF_MATCH=etag))


def build(plan: WorldPlan) -> World:
    agencies = {name: factories.AgencyFactory(kind=KINDS[name]) for name in plan.agencies}
    programme = factories.ProgrammeFactory(provider=agencies["provider"])
    clients = {
        name: reader_for(agencies[name], purpose=DEFAULT_PURPOSE[name]) for name in plan.agencies
    }
    world = World(plan=plan, agencies=agencies, programme=programme, clients=clients)
    for index, referral_plan in enumerate(plan.referrals):
        world.referrals.append(refer(world, index, referral_plan))
    if plan.crossover:
        i, j = plan.crossover
        assert world.referrals[i].subject_id == world.referrals[j].partner_id
    for agreement in plan.agreements:
        name = plan.referrer if agreement.provider == "referrer" else agreement.provider
        created = ok(
            world.clients[name].post(
                f"{API}/sharing-agreements/", agreement_body(world, agreement), format="json"
            )
        )
        world.agreements.append(created["id"])
    for consent in plan.consents:
        referral = world.referrals[consent.referral]
        recorder = (
            plan.referrer
            if consent.recorder == "referrer" or referral.partner_service_id is None
            else world.name_of(referral.partner_service_id)
        )
        client = world.clients[recorder]
        created = ok(
            client.post(f"{API}/consents/", consent_body(world, referral, consent), format="json")
        )
        world.consents.append(created["id"])
        if consent.withdrawn:
            ok(client.post(f"{API}/consents/{created['id']}/withdraw/", {"reason": "Asked."}))
    for referral, referral_plan in zip(world.referrals, plan.referrals, strict=True):
        live(world, referral, referral_plan)
    for read in plan.reads:
        headers = {"HTTP_X_PURPOSE": read.purpose}
        if read.emergency:
            headers["HTTP_X_EMERGENCY_JUSTIFICATION"] = JUSTIFICATION
        rid = world.referrals[read.referral].id
        ok(world.clients[read.reader].get(f"{API}/referrals/{rid}/", **headers), 200, 404)
    return world


def in_a_world(plan: WorldPlan, check: Any) -> None:
    """Builds the world, runs the check, and rolls everything back."""
    with transaction.atomic():
        check(build(plan))
        transaction.set_rollback(True)


# --- (a) no output names a victim service, or leads to one, for who may not know it --------------


@dataclass
class Output:
    """One response, and the referral it is about (None: an output across referrals)."""

    label: str
    response: Any
    referral: str | None = None
    purpose: str | None = None
    # Rows of its own kind (an agreement in the agreements list, a consent in the consents list):
    # their own ids are how the reader addresses them, and are not looked up as leads.
    own_rows: bool = False


def outputs_of(world: World, name: str) -> list[Output]:
    """Every GET output the reader can ask for (the agency directory aside: it lists every
    agency by design), each referral's with the reader's purpose for this world."""
    client = world.clients[name]
    agency = world.agencies[name]
    purpose = world.plan.purposes[name]
    as_purpose = {"HTTP_X_PURPOSE": purpose}
    out = [
        Output("referral list", r, purpose=purpose)
        for r in every_page(client, f"{API}/referrals/", **as_purpose)
    ]
    for referral in world.referrals:
        rid = str(referral.id)
        explain = {"referral": rid, "agency": str(agency.id), "purpose": purpose}
        for label, path, params in (
            ("referral", f"{API}/referrals/{rid}/", {}),
            ("history", f"{API}/referrals/{rid}/history/", {}),
            ("reports", f"{API}/referrals/{rid}/reports/", {}),
            ("partner contact", f"{API}/referrals/{rid}/partner-contact/", {}),
            ("explain", f"{API}/sharing-agreements/explain/", explain),
        ):
            out.append(Output(label, client.get(path, params, **as_purpose), rid, purpose))
        out.extend(
            Output("accesses", r, rid, purpose)
            for r in every_page(client, f"{API}/referrals/{rid}/accesses/", **as_purpose)
        )
    out.extend(Output("events", r) for r in every_page(client, f"{API}/events/", {"after": 0}))
    agreements = every_page(client, f"{API}/sharing-agreements/")
    out.extend(Output("agreements", r, own_rows=True) for r in agreements)
    for row in results(agreements):
        response = client.get(f"{API}/sharing-agreements/{row['id']}/")
        out.append(Output("agreement", response, own_rows=True))
    consents = every_page(client, f"{API}/consents/")
    out.extend(Output("consents", r, own_rows=True) for r in consents)
    for row in results(consents):
        out.append(Output("consent", client.get(f"{API}/consents/{row['id']}/"), own_rows=True))
    out.extend(Output("audit search", r) for r in every_page(client, f"{API}/audit/events/"))
    out.append(Output("audit export (JSON)", client.get(f"{API}/audit/events/export/")))
    out.append(
        Output(
            "audit export (CSV)",
            client.get(f"{API}/audit/events/export/", HTTP_ACCEPT="text/csv"),
        )
    )
    # The hub operator's alone: a 403 for everyone else, which must say nothing either.
    person = world.referrals[0].subject_id
    out.append(Output("subject report", client.get(f"{API}/audit/subjects/{person}/report/")))
    return out


def partner_identity_seen(view: dict[str, Any]) -> bool:
    return "identity" in (view.get("partner") or {})


def referral_views_received(outputs: list[Output]) -> list[dict[str, Any]]:
    """Every view of a referral the reader was given by a GET (reads and list items)."""
    views = []
    for output in outputs:
        if output.response.status_code != 200:
            continue
        if output.label == "referral":
            views.append(output.response.json())
        elif output.label == "referral list":
            views.extend(output.response.json()["results"])
    return views


def without_echoes(output: Output) -> str:
    """The output's text, without what only echoes the reader's own addressing: the ids of
    its own rows (an agreement in its agreement list: it addresses the row by it) and the path
    and query of its own requests in its audit records. Everything else in it stays."""
    response = output.response
    headers = json.dumps(dict(response.headers))
    if response.status_code != 200:
        return told(response)
    if output.own_rows:
        body = response.json()
        for row in body.get("results", [body]):
            row["id"] = "<own row>"
        return json.dumps(body) + "\n" + headers
    if output.label in ("audit search", "audit export (JSON)"):
        body = json.loads(body_of(response))
        for record in body["results"] if isinstance(body, dict) else body:
            record["path"] = record["query"] = "<own request>"
        return json.dumps(body) + "\n" + headers
    if output.label == "audit export (CSV)":
        rows = list(csv.DictReader(io.StringIO(body_of(response))))
        for row in rows:
            row["path"] = row["query"] = "<own request>"
        return json.dumps(rows) + "\n" + headers
    return told(response)


def assert_names_no_victim_service_it_may_not_know(world: World, name: str) -> None:
    reader = str(world.agencies[name].id)
    outputs = outputs_of(world, name)
    # The planned reads (emergency ones among them) are outputs, and views it was shown, too.
    for read in world.plan.reads:
        if read.reader == name:
            rid = str(world.referrals[read.referral].id)
            headers = {"HTTP_X_PURPOSE": read.purpose}
            if read.emergency:
                headers["HTTP_X_EMERGENCY_JUSTIFICATION"] = JUSTIFICATION
            response = world.clients[name].get(f"{API}/referrals/{rid}/", **headers)
            outputs.append(Output("referral", response, rid, read.purpose))
    # Across referrals: itself, and the partner services of referrals whose partner.identity
    # it was shown (DESIGN.md; the rule may be stricter, never looser).
    known_anywhere = {reader} | {
        world.partner_service_of(v["id"])
        for v in referral_views_received(outputs)
        if partner_identity_seen(v) and world.partner_service_of(v["id"])
    }
    services = set(world.victim_services.values())
    led = world.led_to()
    for output in outputs:
        where = (name, output.label, output.referral, output.purpose)
        if output.label == "referral list" and output.response.status_code == 200:
            # Each item is a referral's view: it may name that referral's partner service
            # only if it shows her identity.
            for item in output.response.json()["results"]:
                may_name = may_name_in_referral(world, reader, item["id"], item)
                assert_no_lead(json.dumps(item), services - may_name, led, where)
            may_name = known_anywhere
        elif output.referral is not None:
            view = (
                output.response.json()
                if output.label == "referral" and output.response.status_code == 200
                else same_purpose_view(outputs, output)
            )
            may_name = may_name_in_referral(world, reader, output.referral, view)
        else:
            may_name = known_anywhere
        assert_no_lead(without_echoes(output), services - may_name, led, where)


def may_name_in_referral(
    world: World, reader: str, referral: str, view: dict[str, Any] | None
) -> set[str]:
    """Inside one referral's output: the reader itself, and the referral's partner service if
    the reader's view of that referral (same purpose) shows partner.identity."""
    partner_service = world.partner_service_of(referral)
    if view is not None and partner_identity_seen(view) and partner_service:
        return {reader, partner_service}
    return {reader}


def same_purpose_view(outputs: list[Output], output: Output) -> dict[str, Any] | None:
    """The reader's plain read of the output's referral with the output's purpose: what its
    history, reports, accesses, contact task and explain may reveal no more than."""
    for o in outputs:
        if (
            o.label == "referral"
            and o.referral == output.referral
            and o.purpose == output.purpose
            and o.response.status_code == 200
            and "HTTP_X_EMERGENCY_JUSTIFICATION" not in o.response.request
        ):
            return o.response.json()
    return None


def assert_no_lead(
    text: str, hidden: set[str], led: dict[str, set[str]], where: tuple[Any, ...]
) -> None:
    """No hidden victim service's id in the text, and no agreement or consent id that leads
    to one."""
    named = sorted(s for s in hidden if s in text)
    assert not named, ("names a victim service it may not know", where, context(text, named))
    leading = sorted(ref for ref, agencies in led.items() if agencies & hidden and ref in text)
    assert not leading, (
        "gives an id that leads to a victim service",
        where,
        context(text, leading),
    )


def context(text: str, ids: list[str]) -> list[str]:
    """Where each id stands in the text, for the failure message."""
    return [text[max(0, text.index(i) - 300) : text.index(i) + 80] for i in ids]


def test_returns_401_if_unauthenticated_and_403_without_audit_read(api_client_for, world):
    assert Reader().get(f"{API}/audit/events/").status_code == 401
    reader = api_client_for(world[AgencyKind.PROBATION], scopes=["referrals:read"])
    assert reader.get(f"{API}/audit/events/").status_code == 403


@PROPERTY_SETTINGS
@given(plan=world_plans())
def test_no_output_names_or_leads_to_a_victim_service_its_reader_may_not_know(plan):
    def check(world: World) -> None:
        for name in plan.agencies:
            assert_names_no_victim_service_it_may_not_know(world, name)

    in_a_world(plan, check)


# --- (b) the DPO search: filters over the visible projection, and no oracle ----------------------

FILTERED_BY = ("person", "referral", "agency", "category", "purpose", "outcome", "flagged")


def visible_match(view: dict[str, Any], name: str, value: str) -> bool:
    """Whether what the reader sees of a record matches one filter (DESIGN.md: every filter
    is computed over the caller's view of each record)."""
    if name == "person":
        return value in view["persons"] or view["person"] == value
    if name == "referral":
        return value in view["referrals"]
    if name == "agency":
        return view["agency"] == value
    if name == "category":
        return value in view["disclosed"]
    if name == "flagged":
        return view["flagged"] == (value == "true")
    return view[name] == value


def search(client: Reader, params: dict[str, Any]) -> tuple[int, Any]:
    """A search's status and its answer: every record of every page, or the problem."""
    pages = every_page(client, f"{API}/audit/events/", {**params, "page_size": 7})
    if pages[0].status_code != 200:
        return pages[0].status_code, pages[0].json()
    return 200, results(pages)


def without_request_ids(answer: Any) -> Any:
    if isinstance(answer, dict):
        return {
            k: without_request_ids(v)
            for k, v in answer.items()
            if k not in ("request_id", "instance")
        }
    if isinstance(answer, list):
        return [without_request_ids(v) for v in answer]
    return answer


def candidate_values(world: World, name: str) -> list[str]:
    if name == "person":
        return sorted(world.persons())
    if name == "referral":
        return sorted(str(r.id) for r in world.referrals)
    if name == "agency":
        return sorted(str(a.id) for a in world.agencies.values())
    if name == "category":
        return ["referral.admin", *CATEGORIES]
    if name == "purpose":
        return [*PURPOSES, "audit"]
    if name == "outcome":
        return ["served", "refused", "failed"]
    return ["true", "false"]


@settings(PROPERTY_SETTINGS, max_examples=8)
@given(plan=world_plans(), data=st.data())
def test_a_dpo_search_filters_what_its_dpo_sees_and_unknown_ids_answer_alike(plan, data):
    reader_name = data.draw(st.sampled_from(plan.agencies), label="reader")

    def check(world: World) -> None:
        for name in plan.agencies:  # every party reads, so that the trail holds every kind
            for referral in world.referrals:
                world.clients[name].get(f"{API}/referrals/{referral.id}/")
        client = world.clients[reader_name]
        until = timezone.now().isoformat()
        status, everything = search(client, {"to": until})
        assert status == 200
        heard = "\n".join(client.heard)
        never_told = {
            "person": sorted(p for p in world.persons() if p not in heard),
            "referral": sorted(str(r.id) for r in world.referrals if str(r.id) not in heard),
            "agency": sorted(v for v in world.victim_services.values() if v not in heard),
        }
        for name in FILTERED_BY:
            for value in candidate_values(world, name):
                status, answer = search(client, {name: value, "to": until})
                expected = [v for v in everything if visible_match(v, name, value)]
                if status == 200:
                    assert sorted(answer, key=lambda v: v["id"]) == sorted(
                        expected, key=lambda v: v["id"]
                    ), (reader_name, name, value)
                else:
                    # "Unknown" only when no record the reader sees shows it this id.
                    assert (status, expected) == (422, []), (reader_name, name, value, answer)
        for name, values in never_told.items():
            random = search(client, {name: str(uuid.uuid4()), "to": until})
            for value in values:
                answer = search(client, {name: value, "to": until})
                assert without_request_ids(answer) == without_request_ids(random), (
                    reader_name,
                    name,
                    value,
                )

    in_a_world(plan, check)


def test_a_dpo_finds_its_own_refused_attempt_by_the_referral_it_tried(api_client_for, world):
    """Its record shows the referral it tried: filtering by that referral finds the record, as
    it finds the records of a random id it tried (no existence oracle either way)."""
    police = api_client_for(world[AgencyKind.POLICE])
    probation = api_client_for(world[AgencyKind.PROBATION])
    referral = ok(
        probation.post(f"{API}/referrals/", referral_body(world["programme"].id), format="json")
    )
    tried = {"existing": referral["id"], "random": str(uuid.uuid4())}
    for rid in tried.values():
        assert police.get(f"{API}/referrals/{rid}/").status_code == 404

    everything = ok(police.get(f"{API}/audit/events/"))["results"]
    answers = {k: police.get(f"{API}/audit/events/", {"referral": v}) for k, v in tried.items()}

    for what, rid in tried.items():
        shown = [v["id"] for v in everything if rid in v["referrals"]]
        assert len(shown) == 1, what
        assert answers[what].status_code == 200, (what, answers[what].json()["detail"])
        assert [v["id"] for v in answers[what].json()["results"]] == shown


def test_a_referrers_dpo_finds_the_records_of_the_partner_service_it_is_shown_by_its_id(
    api_client_for, world
):
    """The referrer may name its referral's partner service (rule 0), and its DPO's records of
    that service's reads name it: filtering by that id finds them."""
    probation = api_client_for(world[AgencyKind.PROBATION])
    service = api_client_for(world[VS], purpose="partner_safety")
    body = referral_body(world["programme"].id, partner_service=str(world[VS].id))
    referral = ok(probation.post(f"{API}/referrals/", body, format="json"))
    agreement = {
        "name": "Probation to the partner's service",
        "provider": str(world[AgencyKind.PROBATION].id),
        "recipient": str(world[VS].id),
        "purposes": ["partner_safety"],
        "grants": [{"category": "risk", "lawful_basis": "public_task"}],
        "valid_from": str(TODAY),
        "status": "active",
    }
    ok(probation.post(f"{API}/sharing-agreements/", agreement, format="json"))
    assert "risk" in ok(service.get(f"{API}/referrals/{referral['id']}/"))

    everything = ok(probation.get(f"{API}/audit/events/"))["results"]
    answer = probation.get(f"{API}/audit/events/", {"agency": str(world[VS].id)})

    shown = [v["id"] for v in everything if v["agency"] == str(world[VS].id)]
    assert len(shown) == 1
    assert answer.status_code == 200, answer.json()["detail"]
    assert [v["id"] for v in answer.json()["results"]] == shown


# --- (c) a page's length shows nothing the page hides ---------------------------------------------


def page_lengths(client: Reader, path: str, params: dict[str, Any]) -> list[int]:
    """The number of items on each page, one item a page asked for."""
    pages = every_page(client, path, {**params, "page_size": 1})
    assert all(p.status_code == 200 for p in pages), [p.status_code for p in pages]
    return [len(p.json()["results"]) for p in pages]


def full_pages(lengths: list[int]) -> bool:
    """One item on every page, and no empty last page behind a `next` link (or one empty page
    for nothing at all)."""
    return lengths == [0] or set(lengths) == {1}


@settings(PROPERTY_SETTINGS, max_examples=6)
@given(plan=world_plans(), data=st.data())
def test_no_page_is_shorter_where_a_record_its_reader_may_not_see_was_left_out(plan, data):
    """A page left short (or empty, with a `next` link) says that a record stood there which
    the reader may not see: with the time of its neighbours, that a victim service read the
    reader's data, or that a person it knows was touched as someone else's partner."""
    reader_name = data.draw(st.sampled_from(plan.agencies), label="reader")

    def check(world: World) -> None:
        for name in plan.agencies:
            for referral in world.referrals:
                world.clients[name].get(f"{API}/referrals/{referral.id}/")
        client = world.clients[reader_name]
        until = timezone.now().isoformat()
        searches = [{"to": until}] + [
            {"person": p, "to": until}
            for p in sorted(world.persons())
            if p in "".join(client.heard)
        ]
        for params in searches:
            lengths = page_lengths(client, f"{API}/audit/events/", params)
            assert full_pages(lengths), (reader_name, "audit search", params, lengths)
        for referral in world.referrals:
            path = f"{API}/referrals/{referral.id}/accesses/"
            if client.get(path).status_code != 200:
                continue
            lengths = page_lengths(client, path, {})
            assert full_pages(lengths), (reader_name, "accesses", str(referral.id), lengths)

    in_a_world(plan, check)
