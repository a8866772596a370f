"""Retention: closed referrals past their period become tombstones holding no personal data;
consents and idempotency keys expire by their own periods; access records are never touched."""

import datetime
import io
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from agencies.models import AgencyKind
from audit.models import AccessRecord
from audit.serializers import VerifySerializer
from consent.models import Consent
from core.serializers import rendering
from referrals.models import (
    Event,
    IdempotencyKey,
    Person,
    PersonIdentifier,
    Referral,
    Transition,
)
from referrals.retention import retention_apply
from tests.conftest import referral_body

# The verification report's body, as the API serves it and audit_verify prints it.
VERIFY_BODY = rendering(VerifySerializer)

pytestmark = pytest.mark.django_db

# Every personal value of a referral holds MARK and its tag, so that a scan of the whole
# database can tell whether anything of it is left.
MARK = "Zorbulax"
TODAY = datetime.date.today()
REFERRAL_DAYS = settings.RETENTION_DAYS["referral"]
CONSENT_DAYS = settings.RETENTION_DAYS["consent"]


def marked_body(programme_id, tag, *, birth="1980-01-01", pnc=None, **extra):
    m = f"{MARK}{tag}"
    return referral_body(
        programme_id,
        subject={
            "identity": {
                "given_name": f"{m} given",
                "family_name": f"{m} family",
                "date_of_birth": birth,
                "identifiers": [{"system": "test.pnc", "value": pnc or f"{m}-pnc"}],
            },
            "contact": {"address": f"{m} address", "phone": f"{m} phone"},
        },
        offence={
            "summary": f"{m} offence",
            "court_order": {"court": f"{m} court", "requirements": [f"{m} requirement"]},
        },
        risk={"level": "high", "tool": "DASH", "summary": f"{m} risk", "marac": True},
        partner={
            "identity": {
                "name": f"{m} partner",
                "identifiers": [{"system": "test.nhs", "value": f"{m}-nhs"}],
            },
            "contact": {
                "address": f"{m} refuge",
                "phone": f"{m} partner phone",
                "safe_contact": f"{m} mornings",
            },
            "disclosures": [{"summary": f"{m} what she said"}],
        },
        children=[{"age": 6, "notes": f"{m} child"}],
        **extra,
    )


def database_text():
    """Every row of every table, as text: what a raw dump of the database would show."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            # Table names come from the database's own catalogue, not from input.
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(rows)


@pytest.fixture
def scene(api_client_for, world):
    return {
        "world": world,
        "referrer": api_client_for(world[AgencyKind.PROBATION]),
        "provider": api_client_for(
            world[AgencyKind.PROGRAMME_PROVIDER], purpose="programme_delivery"
        ),
        "victim_service": api_client_for(
            world[AgencyKind.VICTIM_SERVICE], purpose="partner_safety"
        ),
        "observer": api_client_for(world[AgencyKind.COURT], purpose="court_compliance"),
        "outsider": api_client_for(world[AgencyKind.POLICE]),
    }


def create(scene, tag, **kwargs):
    world = scene["world"]
    response = scene["referrer"].post(
        "/api/v1/referrals/",
        marked_body(
            world["programme"].id,
            tag,
            partner_service=str(world[AgencyKind.VICTIM_SERVICE].id),
            observers=[str(world[AgencyKind.COURT].id)],
            **kwargs,
        ),
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"key-{tag}",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def move(scene, referral_id, to, who="provider", **reason):
    response = scene[who].post(
        f"/api/v1/referrals/{referral_id}/transitions/", {"to": to, **reason}, format="json"
    )
    assert response.status_code == 200, response.content


def report(scene, referral_id, body):
    response = scene["provider"].post(
        f"/api/v1/referrals/{referral_id}/reports/", body, format="json"
    )
    assert response.status_code == 201, response.content


def consent(client, referral_id, data_subject, tag, **extra):
    response = client.post(
        "/api/v1/consents/",
        {
            "referral": referral_id,
            "data_subject": data_subject,
            "provisions": [{"type": "permit", "categories": ["subject.contact"]}],
            "valid_from": str(TODAY - datetime.timedelta(days=1)),
            "evidence": {"method": "signed_form", "reference": f"{MARK}{tag} form"},
            **extra,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def full_life(scene, tag, *, close=True, **kwargs):
    """A referral through its whole life: consents (one withdrawn), an amendment, reports, a
    partner-contact attempt, and (with `close`) termination with a reason."""
    referral_id = create(scene, tag, **kwargs)
    m = f"{MARK}{tag}"
    url = f"/api/v1/referrals/{referral_id}/"
    consent(scene["referrer"], referral_id, "subject", tag)
    partner_consent = consent(scene["victim_service"], referral_id, "partner", tag)
    withdrawn = scene["victim_service"].post(
        f"/api/v1/consents/{partner_consent}/withdraw/",
        {"reason": f"{m} withdrawal"},
        format="json",
    )
    assert withdrawn.status_code == 200, withdrawn.content
    etag = scene["referrer"].get(url)["ETag"]
    amended = scene["referrer"].patch(
        url,
        {"subject": {"contact": {"address": f"{m} new address"}}, "amendment_reason": f"{m} why"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert amended.status_code == 200, amended.content
    move(scene, referral_id, "acknowledged")
    move(scene, referral_id, "assessment")
    report(scene, referral_id, {"kind": "assessment", "suitable": True, "summary": f"{m} fit"})
    move(scene, referral_id, "accepted")
    attempt = scene["victim_service"].post(
        f"{url}partner-contact/",
        {
            "attempted_at": timezone.now().isoformat(),
            "outcome": "reached",
            "notes": f"{m} safety plan",
        },
        format="json",
    )
    assert attempt.status_code == 201, attempt.content
    move(scene, referral_id, "in_programme")
    report(
        scene,
        referral_id,
        {"kind": "attendance", "session_date": str(TODAY), "attendance": "attended"},
    )
    report(
        scene,
        referral_id,
        {"kind": "risk_change", "level": "high", "summary": f"{m} threats", "urgent": True},
    )
    if close:
        move(scene, referral_id, "terminated", reason_code="breach", reason=f"{m} breached order")
    return referral_id


def closed_long_ago(referral_id, days=REFERRAL_DAYS + 1):
    """As if every move of the referral had been made `days` ago."""
    Transition.objects.filter(referral_id=referral_id).update(
        at=timezone.now() - datetime.timedelta(days=days)
    )


def past_retention():
    return timezone.now() + datetime.timedelta(days=REFERRAL_DAYS + 1)


def apply_retention(*args):
    out = io.StringIO()
    call_command("apply_retention", *args, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


# --- erasure ------------------------------------------------------------------------------------


def test_a_closed_referral_past_retention_leaves_no_personal_value_anywhere(scene):
    full_life(scene, "Old", birth="1971-03-04")
    before = database_text()
    assert f"{MARK}Old" in before and "1971-03-04" in before  # the scan sees what is there

    result = retention_apply(now=past_retention())

    after = database_text()
    assert result.erased_referrals == 1
    assert MARK not in after
    assert "1971-03-04" not in after


def test_the_tombstone_keeps_id_status_parties_programme_and_dates(scene):
    world = scene["world"]
    referral_id = full_life(scene, "Old")
    before = Referral.objects.get(id=referral_id)
    moves = list(
        Transition.objects.filter(referral_id=referral_id).values_list("to_status", "reason_code")
    )
    events = Event.objects.filter(referral_id=referral_id).count()
    now = past_retention()

    retention_apply(now=now)

    tombstone = Referral.objects.get(id=referral_id)
    assert tombstone.status == "terminated"
    assert (tombstone.referrer, tombstone.provider, tombstone.partner_service) == (
        world[AgencyKind.PROBATION],
        world[AgencyKind.PROGRAMME_PROVIDER],
        world[AgencyKind.VICTIM_SERVICE],
    )
    assert list(tombstone.observers.all()) == [world[AgencyKind.COURT]]
    assert tombstone.programme == world["programme"]
    assert (tombstone.created_at, tombstone.updated_at) == (before.created_at, before.updated_at)
    assert tombstone.erased_at == now
    assert tombstone.subject_identity == {}
    assert Referral.objects.filter(
        id=referral_id,
        subject_contact__isnull=True,
        offence__isnull=True,
        risk__isnull=True,
        partner_identity__isnull=True,
        partner_contact__isnull=True,
        children__isnull=True,
    ).exists()
    for related in ("reports", "amendments", "disclosures", "consents", "transitions"):
        assert getattr(tombstone, related).exists() == (related == "transitions"), related
    assert not hasattr(Referral.objects.get(id=referral_id), "partner_contact_task")
    assert not IdempotencyKey.objects.filter(referral_id=referral_id).exists()
    # The moves stay, without their free-text reasons; events (ids and types) stay.
    transitions = Transition.objects.filter(referral_id=referral_id)
    assert list(transitions.values_list("to_status", "reason_code")) == moves
    assert set(transitions.values_list("reason", flat=True)) == {""}
    assert Event.objects.filter(referral_id=referral_id).count() == events
    # The persons stay as ids; their identifiers go, as no live referral names them.
    assert Person.objects.filter(id__in=[tombstone.subject_id, tombstone.partner_id]).count() == 2
    assert not PersonIdentifier.objects.exists()


@pytest.mark.parametrize(
    ("path", "closing"),
    [
        (["acknowledged", "assessment", "accepted", "in_programme"], ("completed", "provider")),
        (["acknowledged", "assessment"], ("declined", "provider")),
        (["acknowledged", "assessment", "accepted", "in_programme"], ("terminated", "provider")),
        ([], ("withdrawn", "referrer")),
    ],
)
def test_every_closed_status_counts_from_its_closing_move(scene, path, closing):
    referral_id = create(scene, "Old")
    for to in path:
        move(scene, referral_id, to)
    to, who = closing
    move(scene, referral_id, to, who=who, reason_code="other", reason=f"{MARK}Old reason")
    closing_at = Transition.objects.get(referral_id=referral_id, to_status=to).at
    period = datetime.timedelta(days=REFERRAL_DAYS)

    assert retention_apply(now=closing_at + period).erased_referrals == 0
    assert (
        retention_apply(now=closing_at + period + datetime.timedelta(seconds=1)).erased_referrals
        == 1
    )
    assert MARK not in database_text()


def test_an_open_referral_and_a_recently_closed_one_are_untouched(scene):
    old = full_life(scene, "Old")
    closed_long_ago(old)
    open_ = full_life(scene, "Open", close=False)
    recent = full_life(scene, "Recent")
    views = {r: scene["referrer"].get(f"/api/v1/referrals/{r}/").json() for r in (open_, recent)}
    histories = {
        r: scene["referrer"].get(f"/api/v1/referrals/{r}/history/").json() for r in (open_, recent)
    }
    consents = Consent.objects.exclude(referral_id=old).count()

    result = retention_apply(now=timezone.now())

    assert result.erased_referrals == 1
    assert Referral.objects.get(id=old).erased_at is not None
    for referral_id in (open_, recent):
        assert Referral.objects.get(id=referral_id).erased_at is None
        url = f"/api/v1/referrals/{referral_id}/"
        assert scene["referrer"].get(url).json() == views[referral_id]
        assert scene["referrer"].get(f"{url}history/").json() == histories[referral_id]
        partner_contact = scene["victim_service"].get(f"{url}partner-contact/")
        assert partner_contact.status_code == 200
        assert len(partner_contact.json()["attempts"]) == 1
    assert Consent.objects.count() == consents
    text = database_text()
    assert f"{MARK}Old" not in text
    assert f"{MARK}Open" in text and f"{MARK}Recent" in text


def test_identifiers_stay_while_a_live_referral_names_the_person(scene):
    first = full_life(scene, "Old", pnc="85/123456Z")
    second = create(scene, "Second", pnc="85/123456Z")
    man = Referral.objects.get(id=first).subject_id
    assert Referral.objects.get(id=second).subject_id == man
    closed_long_ago(first)

    retention_apply(now=timezone.now())

    assert PersonIdentifier.objects.filter(person_id=man, value="85/123456Z").exists()

    move(scene, second, "withdrawn", who="referrer", reason_code="other", reason="Moved away.")
    closed_long_ago(second)
    result = retention_apply(now=timezone.now())

    assert result.erased_referrals == 1
    assert not PersonIdentifier.objects.filter(person_id=man).exists()
    assert Person.objects.filter(id=man).exists()


# --- over the API -------------------------------------------------------------------------------


def test_access_records_are_kept_and_parties_are_told_the_referral_is_gone(scene):
    referral_id = full_life(scene, "Old")
    records = set(AccessRecord.objects.values_list("id", flat=True))

    retention_apply(now=past_retention())

    assert set(AccessRecord.objects.values_list("id", flat=True)) == records
    url = f"/api/v1/referrals/{referral_id}/"
    for role in ("referrer", "provider", "victim_service", "observer"):
        client = scene[role]
        answers = [
            client.get(url),
            client.patch(url, {"risk": {"level": "medium"}}, format="json", HTTP_IF_MATCH='"x"'),
            client.get(f"{url}history/"),
            client.get(f"{url}reports/"),
            client.post(f"{url}reports/", {"kind": "completion", "completed": True}, format="json"),
            client.post(f"{url}transitions/", {"to": "completed"}, format="json"),
            client.get(f"{url}partner-contact/"),
            client.post(
                f"{url}partner-contact/",
                {"attempted_at": timezone.now().isoformat(), "outcome": "no_answer"},
                format="json",
            ),
        ]
        for answer in answers:
            assert answer.status_code == 410, (role, answer.request["PATH_INFO"], answer.content)
            assert answer["Content-Type"] == "application/problem+json"
            problem = answer.json()
            assert problem["type"] == "urn:referral-hub:problem:gone"
            assert problem["status"] == 410
            assert "erased_at" in problem
            assert MARK not in answer.content.decode()
        listed = scene[role].get("/api/v1/referrals/")
        assert listed.status_code == 200
        assert referral_id not in {r["id"] for r in listed.json()["results"]}
    outsider = scene["outsider"]
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"{url}history/").status_code == 404
    # Each refusal was recorded; none of the records before it went.
    assert records < set(AccessRecord.objects.values_list("id", flat=True))


def test_an_erased_referral_takes_no_new_consent(scene):
    referral_id = full_life(scene, "Old")
    retention_apply(now=past_retention())

    response = scene["referrer"].post(
        "/api/v1/consents/",
        {
            "referral": referral_id,
            "data_subject": "subject",
            "provisions": [{"type": "permit", "categories": ["risk"]}],
            "valid_from": str(TODAY),
            "evidence": {"method": "verbal"},
        },
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "referral"
    assert not Consent.objects.filter(referral_id=referral_id).exists()


# --- the command --------------------------------------------------------------------------------


def test_the_command_prints_what_it_erased_and_a_second_run_erases_nothing_more(scene):
    old = full_life(scene, "Old")
    full_life(scene, "Open", close=False)
    closed_long_ago(old)

    first = apply_retention()
    text = database_text()
    second = apply_retention()

    assert first == {
        "erased_referrals": 1,
        # The erased referral's two consents; the open referral's withdrawn one is recent.
        "deleted_consents": 2,
        # Its key went with it; the open referral's key is recent.
        "deleted_idempotency_keys": 1,
        # The man's and the partner's identifiers.
        "deleted_person_identifiers": 2,
        "dry_run": False,
    }
    assert second == {
        "erased_referrals": 0,
        "deleted_consents": 0,
        "deleted_idempotency_keys": 0,
        "deleted_person_identifiers": 0,
        "dry_run": False,
    }
    assert database_text() == text


def test_a_dry_run_counts_what_a_run_would_erase_and_changes_nothing(scene):
    old = full_life(scene, "Old")
    closed_long_ago(old)
    open_ = full_life(scene, "Open", close=False)
    Consent.objects.filter(referral_id=open_, withdrawn_at__isnull=False).update(
        withdrawn_at=timezone.now() - datetime.timedelta(days=CONSENT_DAYS + 1)
    )
    IdempotencyKey.objects.filter(referral_id=open_).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    text = database_text()

    dry = apply_retention("--dry-run")

    assert database_text() == text
    assert dry == {
        "erased_referrals": 1,
        "deleted_consents": 3,
        "deleted_idempotency_keys": 2,
        "deleted_person_identifiers": 2,
        "dry_run": True,
    }
    assert apply_retention() == {**dry, "dry_run": False}


@override_settings(RETENTION_DAYS={**settings.RETENTION_DAYS, "referral": -1})
def test_a_negative_period_is_refused():
    with pytest.raises(CommandError, match="must not be negative"):
        apply_retention()


# --- consents and idempotency keys --------------------------------------------------------------


def test_consents_expire_by_their_own_period(scene):
    referral_id = full_life(scene, "Open", close=False)
    long_ago = timezone.now() - datetime.timedelta(days=CONSENT_DAYS + 1)
    withdrawn_long_ago = Consent.objects.get(referral_id=referral_id, withdrawn_at__isnull=False)
    withdrawn_long_ago.withdrawn_at = long_ago
    withdrawn_long_ago.save()
    withdrawn_lately = consent(scene["referrer"], referral_id, "subject", "Open")
    scene["referrer"].post(
        f"/api/v1/consents/{withdrawn_lately}/withdraw/", {"reason": "Changed."}, format="json"
    )
    expired_long_ago = consent(
        scene["referrer"],
        referral_id,
        "subject",
        "Open",
        valid_from=str(long_ago.date() - datetime.timedelta(days=30)),
        valid_to=str(long_ago.date() - datetime.timedelta(days=1)),
    )
    expired_lately = consent(
        scene["referrer"],
        referral_id,
        "subject",
        "Open",
        valid_from=str(TODAY - datetime.timedelta(days=30)),
        valid_to=str(TODAY - datetime.timedelta(days=2)),
    )
    active = Consent.objects.get(
        referral_id=referral_id, data_subject="subject", valid_to=None, withdrawn_at=None
    )

    result = retention_apply(now=timezone.now())

    assert result.deleted_consents == 2
    assert set(Consent.objects.values_list("id", flat=True)) == {
        active.id,
        *Consent.objects.filter(id__in=[withdrawn_lately, expired_lately]).values_list(
            "id", flat=True
        ),
    }
    assert not Consent.objects.filter(id__in=[withdrawn_long_ago.id, expired_long_ago]).exists()
    assert Referral.objects.get(id=referral_id).erased_at is None


def test_idempotency_keys_expire_by_their_own_period(scene):
    old_key = create(scene, "A")
    create(scene, "B")
    IdempotencyKey.objects.filter(referral_id=old_key).update(
        created_at=timezone.now()
        - datetime.timedelta(days=settings.RETENTION_DAYS["idempotency_key"] + 1)
    )

    result = retention_apply(now=timezone.now())

    assert result.deleted_idempotency_keys == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["key-B"]


def test_a_key_is_kept_while_it_is_honoured_whatever_the_period(scene):
    create(scene, "A")
    IdempotencyKey.objects.update(created_at=timezone.now() - datetime.timedelta(hours=23))

    with override_settings(RETENTION_DAYS={**settings.RETENTION_DAYS, "idempotency_key": 0}):
        result = retention_apply(now=timezone.now())

    assert result.deleted_idempotency_keys == 0
    assert IdempotencyKey.objects.count() == 1


# --- the audit chain ----------------------------------------------------------------------------


def test_the_audit_chain_still_verifies_after_retention(scene):
    from audit.chain import chain_seal, chain_verify

    full_life(scene, "Old")
    chain_seal()
    assert VERIFY_BODY(chain_verify())["intact"] is True

    retention_apply(now=past_retention())

    assert VERIFY_BODY(chain_verify())["intact"] is True
    assert MARK not in database_text()
