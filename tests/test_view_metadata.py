"""When a caller's view of a referral changed: its `updated_at`, its ETag, its `updated_since`
results, its history and its events move only when its minimised view did, and always when it
did (DESIGN.md, *The disclosure decision*, last paragraph). A change to data withheld from a
caller tells it nothing, not even that something changed, or when.
"""

import datetime
import importlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

import pytest
from django.apps import apps
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies.models import AgencyKind
from core.serializers import timestamp
from referrals.models import Amendment, Event, Referral, Transition
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
# name -> (agency kind, the purpose its client declares)
READERS = {
    "referrer": (AgencyKind.PROBATION, "risk_management"),
    "provider": (AgencyKind.PROGRAMME_PROVIDER, "programme_delivery"),
    "court": (AgencyKind.COURT, "court_compliance"),
    "police": (AgencyKind.POLICE, "risk_management"),
    "partner_service": (AgencyKind.VICTIM_SERVICE, "partner_safety"),
}
MANS = ("subject.identity", "subject.contact", "offence", "risk")
PARTNERS = ("partner.identity", "partner.contact", "children")
AMENDABLE = MANS + PARTNERS
ALL_CATEGORIES = frozenset(
    {"referral.admin", *AMENDABLE, "programme.progress", "partner.disclosures"}
)


@pytest.fixture
def clients(api_client_for, world):
    return {
        name: api_client_for(world[kind], purpose=purpose)
        for name, (kind, purpose) in READERS.items()
    }


def refer(clients: dict[str, Any], world: dict[str, Any]) -> str:
    """A referral with every category filled, the partner service and two observers; each of
    another man (a second open referral of one man to one programme is a 409). Made by the
    referral service as the referrer's client (tests/factories.py): set-up, not under test."""
    referral = factories.SubmittedReferralFactory(
        referrer=world[AgencyKind.PROBATION],
        programme=world["programme"],
        extra={
            "partner_service": world[AgencyKind.VICTIM_SERVICE],
            "observers": [world[AgencyKind.COURT], world[AgencyKind.POLICE]],
        },
        subject_identifiers=[{"system": "test.pnc", "value": str(uuid4())}],
        client=clients["referrer"],
    )
    return str(referral.id)


def share(clients: dict[str, Any], *, by: str, to: str, categories: set[str]) -> None:
    """An active agreement from `by` (the categories' supplier) to `to`, for its purpose,
    published by the agreement service as `by`'s client (tests/factories.py)."""
    factories.AgreementFactory(
        provider=clients[by].agency,
        recipient=clients[to].agency,
        grants=sorted(categories),
        purposes=[READERS[to][1]],
        changes={"name": f"{by} to {to}"},
        client=clients[by],
    )


@dataclass(frozen=True)
class Seen:
    """What one caller can tell about the referral, and when it last changed."""

    etag: str
    updated_at: str
    sees: frozenset[str]
    listed_since: bool
    history: tuple[str, ...]
    events: tuple[int, ...]


def seen_by(client: Any, referral_id: str, since: datetime.datetime) -> Seen:
    url = f"/api/v1/referrals/{referral_id}/"
    read = client.get(url)
    assert read.status_code == 200
    view = read.json()
    listed = client.get(
        "/api/v1/referrals/?" + urlencode({"updated_since": timestamp(since)})
    ).json()["results"]
    # Each list item is exactly what a read returns.
    assert listed in ([], [view])
    history = client.get(f"{url}history/").json()["results"]
    events = Event.objects.filter(recipient=client.agency, referral_id=referral_id)
    return Seen(
        etag=read["ETag"],
        updated_at=view["updated_at"],
        sees=ALL_CATEGORIES - {w["category"] for w in view["withheld"]},
        listed_since=bool(listed),
        history=tuple(entry["id"] for entry in history),
        events=tuple(events.order_by("position").values_list("position", flat=True)),
    )


def everyone(clients: dict[str, Any], referral_id: str, since: datetime.datetime) -> dict:
    return {name: seen_by(client, referral_id, since) for name, client in clients.items()}


def amendment_of(categories: set[str], n: int) -> dict[str, Any]:
    """A PATCH body that changes exactly these categories (n makes each value new)."""
    subject: dict[str, Any] = {}
    partner: dict[str, Any] = {}
    body: dict[str, Any] = {}
    if "subject.identity" in categories:
        subject["identity"] = {
            "given_name": f"Adam{n}",
            "family_name": "Testcase",
            "date_of_birth": "1985-01-02",
        }
    if "subject.contact" in categories:
        subject["contact"] = {"phone": f"01632 96{n:04d}"}
    if "offence" in categories:
        body["offence"] = {"summary": f"Common assault, amended {n}."}
    if "risk" in categories:
        body["risk"] = {"summary": f"Reviewed {n}."}
    if "partner.identity" in categories:
        partner["identity"] = {"name": f"Beth {n}"}
    if "partner.contact" in categories:
        partner["contact"] = {"phone": f"01632 97{n:04d}"}
    if "children" in categories:
        body["children"] = [{"age": n % 18, "notes": f"Amended {n}."}]
    return {
        **body,
        **({"subject": subject} if subject else {}),
        **({"partner": partner} if partner else {}),
    }


def amend(clients: dict[str, Any], referral_id: str, categories: set[str], n: int) -> None:
    url = f"/api/v1/referrals/{referral_id}/"
    etag = clients["referrer"].get(url)["ETag"]
    response = clients["referrer"].patch(
        url, amendment_of(categories, n), format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200, response.content
    assert set(Amendment.objects.filter(referral_id=referral_id).latest("at").changes) == (
        categories
    )


def assert_unmoved(before: Seen, after: Seen) -> None:
    assert after.etag == before.etag
    assert after.updated_at == before.updated_at
    assert not after.listed_since
    assert after.history == before.history
    assert after.events == before.events


def assert_moved(before: Seen, after: Seen) -> None:
    assert after.etag != before.etag
    assert after.updated_at > before.updated_at
    assert after.listed_since
    assert len(after.history) == len(before.history) + 1
    assert len(after.events) == len(before.events) + 1


# --- instances ----------------------------------------------------------------------------------


@pytest.fixture
def scene(clients, world):
    """The referral, with the man's data shared with the provider for programme delivery."""
    referral_id = refer(clients, world)
    share(clients, by="referrer", to="provider", categories={"subject.identity", "offence"})
    return {"id": referral_id, "clients": clients, "world": world}


def test_an_amendment_to_the_partners_contact_leaves_the_providers_updated_at_etag_and_updated_since_unchanged(  # noqa: E501
    scene,
):
    provider = scene["clients"]["provider"]
    since = timezone.now()
    before = seen_by(provider, scene["id"], since)

    amend(scene["clients"], scene["id"], {"partner.contact"}, 1)
    after = seen_by(provider, scene["id"], since)

    assert "partner.contact" not in before.sees
    assert_unmoved(before, after)
    # Listed since its own updated_at, before and after alike.
    listed = provider.get(
        "/api/v1/referrals/?" + urlencode({"updated_since": before.updated_at})
    ).json()["results"]
    assert [item["id"] for item in listed] == [scene["id"]]


def test_an_amendment_to_the_partners_contact_moves_the_referrers_updated_at_etag_and_updated_since(
    scene,
):
    referrer = scene["clients"]["referrer"]
    since = timezone.now()
    before = seen_by(referrer, scene["id"], since)

    amend(scene["clients"], scene["id"], {"partner.contact"}, 1)
    after = seen_by(referrer, scene["id"], since)

    assert_moved(before, after)
    assert after.updated_at == timestamp(Amendment.objects.get().at)


def test_an_amendment_the_provider_may_see_moves_its_updated_at_to_the_amendments_time(scene):
    provider = scene["clients"]["provider"]
    since = timezone.now()
    before = seen_by(provider, scene["id"], since)

    amend(scene["clients"], scene["id"], {"offence", "partner.contact"}, 1)
    after = seen_by(provider, scene["id"], since)

    assert_moved(before, after)
    assert after.updated_at == timestamp(Amendment.objects.get().at)


def test_a_move_moves_everyones_updated_at(scene):
    clients = scene["clients"]
    since = timezone.now()
    before = everyone(clients, scene["id"], since)

    moved = clients["provider"].post(
        f"/api/v1/referrals/{scene['id']}/transitions/", {"to": "acknowledged"}, format="json"
    )
    after = everyone(clients, scene["id"], since)

    assert moved.status_code == 200
    for name in READERS:
        assert after[name].etag != before[name].etag, name
        assert after[name].updated_at > before[name].updated_at, name
        assert after[name].listed_since, name


def test_a_report_moves_updated_at_for_everyone_who_sees_programme_progress(scene):
    clients, referral_id = scene["clients"], scene["id"]
    clients["provider"].post(
        f"/api/v1/referrals/{referral_id}/transitions/", {"to": "acknowledged"}, format="json"
    )
    share(clients, by="provider", to="court", categories={"programme.progress"})
    since = timezone.now()
    before = everyone(clients, referral_id, since)

    written = clients["provider"].post(
        f"/api/v1/referrals/{referral_id}/reports/",
        {"kind": "risk_change", "level": "high", "summary": "New threats."},
        format="json",
    )
    after = everyone(clients, referral_id, since)

    assert written.status_code == 201
    sees_progress = {name for name in READERS if "programme.progress" in before[name].sees}
    assert sees_progress == {"referrer", "provider", "court"}
    for name in READERS:
        moved = (after[name].etag, after[name].updated_at, after[name].listed_since) != (
            before[name].etag,
            before[name].updated_at,
            False,
        )
        assert moved == (name in sees_progress), name
        if name in sees_progress:
            assert after[name].updated_at == written.json()["written_at"], name


def test_a_contact_attempt_moves_updated_at_only_for_who_sees_the_partner_services_entries(
    clients, world
):
    referral_id = refer(clients, world)
    for to in ("acknowledged", "assessment", "accepted"):
        clients["provider"].post(
            f"/api/v1/referrals/{referral_id}/transitions/", {"to": to}, format="json"
        )
    # The police see the referrer's partner.disclosures entries; the court hers as well.
    share(clients, by="referrer", to="police", categories={"partner.disclosures"})
    share(clients, by="referrer", to="court", categories={"partner.disclosures"})
    share(clients, by="partner_service", to="court", categories={"partner.disclosures"})
    since = timezone.now()
    before = everyone(clients, referral_id, since)

    recorded = clients["partner_service"].post(
        f"/api/v1/referrals/{referral_id}/partner-contact/",
        {
            "attempted_at": timezone.now().isoformat(),
            "outcome": "reached",
        },
        format="json",
    )
    after = everyone(clients, referral_id, since)

    assert recorded.status_code == 201
    assert "partner.disclosures" in before["police"].sees
    for name in READERS:
        moved = after[name].updated_at != before[name].updated_at
        assert moved == (name in {"partner_service", "court"}), name
        assert (after[name].etag != before[name].etag) == moved, name
        assert after[name].listed_since == moved, name


def test_referrals_amended_before_the_fix_go_back_to_their_last_move(clients, world):
    moved_id, unmoved_id = refer(clients, world), refer(clients, world)
    clients["provider"].post(
        f"/api/v1/referrals/{moved_id}/transitions/", {"to": "acknowledged"}, format="json"
    )
    for n, referral_id in enumerate((moved_id, unmoved_id), start=1):
        amend(clients, referral_id, {"partner.contact"}, n)
        # As amendments used to leave it.
        Referral.objects.filter(id=referral_id).update(
            updated_at=Amendment.objects.get(referral_id=referral_id).at
        )
    migration = importlib.import_module("referrals.migrations.0007_updated_at_is_referral_admin")

    migration.back_to_the_last_move(apps, None)

    moved, unmoved = Referral.objects.get(id=moved_id), Referral.objects.get(id=unmoved_id)
    assert moved.updated_at == Transition.objects.get(referral_id=moved_id).at
    assert unmoved.updated_at == unmoved.created_at


# --- the property -------------------------------------------------------------------------------

categories_of = st.sets(st.sampled_from(AMENDABLE))
# What the referrer shares with each other party (a programme provider never gets the partner's
# or the children's data: DESIGN.md rule 5).
shared = st.fixed_dictionaries(
    {
        "provider": st.sets(st.sampled_from(MANS)),
        "court": categories_of,
        "police": categories_of,
        "partner_service": categories_of,
    }
)
amendments = st.lists(st.sets(st.sampled_from(AMENDABLE), min_size=1), min_size=1, max_size=3)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sharing=shared, changes=amendments)
def test_a_callers_view_metadata_moves_exactly_when_an_amendment_touches_what_it_sees(
    clients, world, sharing, changes
):
    with transaction.atomic():
        referral_id = refer(clients, world)
        for to, categories in sharing.items():
            if categories:
                share(clients, by="referrer", to=to, categories=categories)
        for n, changed in enumerate(changes, start=1):
            since = timezone.now()
            before = everyone(clients, referral_id, since)

            amend(clients, referral_id, changed, n)
            after = everyone(clients, referral_id, since)

            for name in READERS:
                if changed & before[name].sees:
                    assert_moved(before[name], after[name])
                else:
                    assert_unmoved(before[name], after[name])
        transaction.set_rollback(True)


def test_updated_since_pages_leave_no_trace_of_a_referral_changed_only_where_the_reader_cannot_see(
    clients, world
):
    """Referred before `since`, the oldest referral is then amended in the partner's contact
    only. The provider's `updated_since` pages of one are full, their cursors point only at
    what it was shown, and the last page has no `next`: no empty page tells it that something
    it may not see changed."""
    oldest = refer(clients, world)
    since = timezone.now()
    middle, newest = refer(clients, world), refer(clients, world)
    amend(clients, oldest, {"partner.contact"}, 1)
    later = timezone.now()
    amend(clients, middle, {"partner.contact"}, 2)
    provider = clients["provider"]

    ids, pages = [], 0
    url = "/api/v1/referrals/?" + urlencode({"updated_since": since, "page_size": 1})
    while url:
        page = provider.get(url).json()
        pages += 1
        assert len(page["results"]) == 1
        ids += [item["id"] for item in page["results"]]
        url = page["next"]

    assert ids == [newest, middle] and pages == 2
    empty = provider.get("/api/v1/referrals/?" + urlencode({"updated_since": later})).json()
    assert empty == {"results": [], "next": None}


def test_an_amendments_reason_is_shown_only_to_who_sees_every_category_it_changed(scene):
    clients, url = scene["clients"], f"/api/v1/referrals/{scene['id']}/"
    body = {**amendment_of({"offence", "partner.contact"}, 7), "amendment_reason": "She moved."}
    etag = clients["referrer"].get(url)["ETag"]
    assert (
        clients["referrer"].patch(url, body, format="json", HTTP_IF_MATCH=etag).status_code == 200
    )

    def amendment(name):
        entries = clients[name].get(url + "history/").json()["results"]
        (entry,) = [e for e in entries if e["type"] == "amendment"]
        return entry

    provider, referrer = amendment("provider"), amendment("referrer")
    # The provider sees the offence change, never the reason written about her move.
    assert set(provider["changes"]) == {"offence"} and provider["reason"] is None
    assert set(referrer["changes"]) == {"offence", "partner.contact"}
    assert referrer["reason"] == "She moved."
