"""The referral lifecycle: every allowed and forbidden move, by every role, through HTTP."""

import pytest

from agencies.models import AgencyKind
from audit.models import AccessRecord
from referrals.models import Event, Referral, Status, Transition
from referrals.states import MOVES, OPEN_STATUSES, REASON_CODES
from tests import factories
from tests.conftest import referral_body

pytestmark = pytest.mark.django_db

ROLE_KINDS = {
    "referrer": AgencyKind.PROBATION,
    "provider": AgencyKind.PROGRAMME_PROVIDER,
    "partner_service": AgencyKind.VICTIM_SERVICE,
    "observer": AgencyKind.COURT,
}
# DESIGN.md: submitted -> acknowledged -> assessment -> accepted | declined;
# accepted -> in_programme -> completed | terminated; withdrawn from any open status (referrer).
EXPECTED_MOVES = {
    ("submitted", "acknowledged"): "provider",
    ("acknowledged", "assessment"): "provider",
    ("assessment", "accepted"): "provider",
    ("assessment", "declined"): "provider",
    ("accepted", "in_programme"): "provider",
    ("in_programme", "completed"): "provider",
    ("in_programme", "terminated"): "provider",
    **{
        (s, "withdrawn"): "referrer"
        for s in ("submitted", "acknowledged", "assessment", "accepted", "in_programme")
    },
}
REASONED = {"declined", "terminated", "withdrawn"}


@pytest.fixture
def parties(api_client_for, world):
    """A client for each role, and a submitted referral naming them all (made by the referral
    service as the referrer's client: tests/factories.py)."""
    clients = {role: api_client_for(world[kind]) for role, kind in ROLE_KINDS.items()}
    referral = factories.SubmittedReferralFactory(
        referrer=world[AgencyKind.PROBATION],
        programme=world["programme"],
        extra={
            "partner_service": world[AgencyKind.VICTIM_SERVICE],
            "observers": [world[AgencyKind.COURT]],
        },
        subject_identifiers=None,
        client=clients["referrer"],
    )
    return clients, str(referral.id)


def move(client, referral_id, to, **extra):
    body = {"to": to}
    if to in REASONED:
        body |= {"reason_code": "other", "reason": "Recorded in the case file."}
    body |= extra
    return client.post(f"/api/v1/referrals/{referral_id}/transitions/", body, format="json")


def test_the_table_is_the_lifecycle_design_fixes():
    assert {(m.source.value, m.target.value): m.by.value for m in MOVES} == EXPECTED_MOVES
    assert {m.target.value for m in MOVES if m.needs_reason} == REASONED


def test_returns_401_if_unauthenticated(client, parties):
    _, referral_id = parties

    assert (
        client.post(
            f"/api/v1/referrals/{referral_id}/transitions/", {"to": "acknowledged"}
        ).status_code
        == 401
    )


def test_a_move_needs_referrals_write(api_client_for, world, parties):
    _, referral_id = parties
    reader = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER], scopes=["referrals:read"])

    assert move(reader, referral_id, "acknowledged").status_code == 403


@pytest.mark.parametrize("role", list(ROLE_KINDS))
def test_every_move_from_every_status_by_this_role(parties, role):
    clients, referral_id = parties
    for source in Status:
        for target in Status:
            Referral.objects.filter(id=referral_id).update(status=source)
            allowed_by = EXPECTED_MOVES.get((source.value, target.value))

            response = move(clients[role], referral_id, target.value)

            if allowed_by == role:
                expected = 200
            elif allowed_by is None:
                expected = 409
            else:
                expected = 403
            assert response.status_code == expected, (
                role,
                source.value,
                target.value,
                response.json(),
            )
            status_now = Referral.objects.get(id=referral_id).status
            assert status_now == (target if expected == 200 else source)
            if expected == 409:
                allowed = [t for (s, t) in EXPECTED_MOVES if s == source.value]
                assert response.json()["allowed"] == allowed


def test_a_non_party_cannot_move_a_referral(api_client_for, make_agency, parties):
    _, referral_id = parties
    stranger = api_client_for(make_agency(kind=AgencyKind.PROGRAMME_PROVIDER))

    assert move(stranger, referral_id, "acknowledged").status_code == 404
    assert Referral.objects.get(id=referral_id).status == "submitted"


@pytest.mark.parametrize("missing", ["reason_code", "reason"])
def test_declining_withdrawing_or_terminating_needs_a_coded_reason(parties, missing):
    clients, referral_id = parties
    body = {"to": "withdrawn", "reason_code": "moved_area", "reason": "Moved to another area."}
    del body[missing]

    response = clients["referrer"].post(
        f"/api/v1/referrals/{referral_id}/transitions/", body, format="json"
    )

    assert response.status_code == 422
    assert Transition.objects.count() == 0


def test_an_unknown_status_or_reason_code_is_a_400(parties):
    clients, referral_id = parties

    unknown_status = move(clients["provider"], referral_id, "paused")
    unknown_code = move(clients["referrer"], referral_id, "withdrawn", reason_code="bored")

    assert (unknown_status.status_code, unknown_code.status_code) == (400, 400)


def test_a_move_is_recorded_in_the_history_with_who_when_and_why(parties, world):
    clients, referral_id = parties
    move(clients["provider"], referral_id, "acknowledged")
    move(clients["referrer"], referral_id, "withdrawn", reason_code="moved_area")

    for role in ROLE_KINDS:
        history = clients[role].get(f"/api/v1/referrals/{referral_id}/history/").json()["results"]
        assert [(h["from_status"], h["to_status"]) for h in history] == [
            ("submitted", "acknowledged"),
            ("acknowledged", "withdrawn"),
        ]
        assert history[0]["by"] == str(world[AgencyKind.PROGRAMME_PROVIDER].id)
        assert history[1]["reason_code"] == "moved_area"


def test_a_move_tells_every_party_through_an_event_and_is_audited(parties, world):
    clients, referral_id = parties

    response = move(clients["provider"], referral_id, "acknowledged")

    assert response.json()["status"] == "acknowledged"
    recipients = set(Event.objects.filter(type="transition").values_list("recipient_id", flat=True))
    assert recipients == {world[kind].id for kind in ROLE_KINDS.values()}
    record = AccessRecord.objects.latest("at")
    assert (record.method, record.status, record.referrals) == ("POST", 200, [referral_id])


def test_the_state_machine_is_served_as_a_document(api_client_for, world):
    client = api_client_for(world[AgencyKind.POLICE], scopes=["consent:read"])

    document = client.get("/api/v1/referrals/states/").json()

    assert document["initial"] == "submitted"
    assert document["open"] == [s.value for s in OPEN_STATUSES]
    assert {(m["from"], m["to"]): m["by"] for m in document["moves"]} == EXPECTED_MOVES
    assert set(REASON_CODES) >= {
        "unsuitable",
        "not_engaging",
        "further_offence",
        "breach",
        "moved_area",
        "subject_declined",
        "risk_too_high",
        "other",
    }
    assert document["report_kinds"]["in_programme"] == ["attendance", "risk_change", "completion"]
    withdrawn = next(m for m in document["moves"] if m["to"] == "withdrawn")
    assert withdrawn["requires"] == ["reason_code", "reason"]


def test_a_non_party_cannot_read_the_history(api_client_for, make_agency, parties):
    _, referral_id = parties
    stranger = api_client_for(make_agency(kind=AgencyKind.POLICE))

    assert stranger.get(f"/api/v1/referrals/{referral_id}/history/").status_code == 404


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_moves_of_one_referral_never_both_succeed(api_client_for, world):
    import threading

    from django.db import connection

    referrer = api_client_for(world[AgencyKind.PROBATION])
    referral_id = referrer.post(
        "/api/v1/referrals/", referral_body(world["programme"].id), format="json"
    ).json()["id"]
    providers = [api_client_for(world[AgencyKind.PROGRAMME_PROVIDER]) for _ in range(2)]
    barrier = threading.Barrier(2)
    statuses = []

    def attempt(client):
        barrier.wait()
        try:
            statuses.append(move(client, referral_id, "acknowledged").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(c,)) for c in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 409]
    assert Transition.objects.filter(referral_id=referral_id).count() == 1
