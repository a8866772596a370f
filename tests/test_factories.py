"""The factories leave the rows the API's requests leave (tests/factories.py): each referral
state made both ways, over HTTP with real tokens and by its factory, gives the same referral,
parties, partner data, moves and events; a consent and an agreement likewise."""

from typing import Any

import pytest

from agencies.models import AgencyKind
from consent.models import Consent
from referrals.models import Referral, Status
from sharing_policies.models import AgreementVersion
from tests import factories
from tests.conftest import agreement_body, referral_body

pytestmark = pytest.mark.django_db

API = "/api/v1"
STATE_FACTORIES = {
    Status.SUBMITTED: factories.SubmittedReferralFactory,
    Status.ACKNOWLEDGED: factories.AcknowledgedReferralFactory,
    Status.ASSESSMENT: factories.AssessmentReferralFactory,
    Status.ACCEPTED: factories.AcceptedReferralFactory,
    Status.DECLINED: factories.DeclinedReferralFactory,
    Status.IN_PROGRAMME: factories.InProgrammeReferralFactory,
    Status.COMPLETED: factories.CompletedReferralFactory,
    Status.TERMINATED: factories.TerminatedReferralFactory,
    Status.WITHDRAWN: factories.WithdrawnReferralFactory,
}


def rows_of(referral: Referral) -> dict[str, Any]:
    """Everything a referral's making left, less ids and times."""
    referral.refresh_from_db()
    return {
        "referral": {
            field: getattr(referral, field)
            for field in (
                "referrer_id",
                "provider_id",
                "partner_service_id",
                "created_by_client",
                "status",
                "subject_identity",
                "subject_contact",
                "offence",
                "risk",
                "partner_identity",
                "partner_contact",
                "children",
            )
        },
        "observers": sorted(str(a) for a in referral.observers.values_list("id", flat=True)),
        "disclosures": list(referral.disclosures.values_list("supplier_id", "summary")),
        "transitions": list(
            referral.transitions.values_list(
                "from_status", "to_status", "reason_code", "reason", "by_id", "by_client"
            )
        ),
        "events": sorted(
            (str(recipient), kind, sorted(about))
            for recipient, kind, about in referral.events.values_list(
                "recipient_id", "type", "about"
            )
        ),
        "partner_contact_task": hasattr(referral, "partner_contact_task"),
    }


@pytest.mark.parametrize("status", list(STATE_FACTORIES))
def test_each_state_factory_leaves_what_the_requests_leave(api_client_for, world, status):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    provider = api_client_for(world[AgencyKind.PROGRAMME_PROVIDER])
    extra = {
        "partner_service": str(world[AgencyKind.VICTIM_SERVICE].id),
        "observers": [str(world[AgencyKind.POLICE].id)],
    }
    created = referrer.post(
        f"{API}/referrals/", referral_body(world["programme"].id, **extra), format="json"
    )
    assert created.status_code == 201, created.content
    over_http = Referral.objects.get(id=created.json()["id"])
    for move in factories.moves_to(status):
        mover = referrer if move.by == "referrer" else provider
        reason = {"reason_code": "other", "reason": "Set up by the test."}
        body = {"to": move.target, **(reason if move.needs_reason else {})}
        moved = mover.post(f"{API}/referrals/{over_http.id}/transitions/", body, format="json")
        assert moved.status_code == 200, moved.content

    # Another programme of the same provider: the same man's second open referral to one
    # programme would be refused as a duplicate.
    made = STATE_FACTORIES[status](
        referrer=world[AgencyKind.PROBATION],
        programme=factories.ProgrammeFactory(provider=world[AgencyKind.PROGRAMME_PROVIDER]),
        extra={
            "partner_service": world[AgencyKind.VICTIM_SERVICE],
            "observers": [world[AgencyKind.POLICE]],
        },
        subject_identifiers=None,  # referral_body's, as over HTTP
        client=referrer,
        provider_client=provider,
    )

    assert made.status == status
    assert over_http.programme == world["programme"]
    assert rows_of(made) == rows_of(over_http)


def test_the_consent_factory_records_what_the_request_records(api_client_for, world):
    referrer = api_client_for(world[AgencyKind.PROBATION])
    referral = factories.SubmittedReferralFactory(
        referrer=world[AgencyKind.PROBATION], programme=world["programme"], client=referrer
    )
    body = {
        "referral": str(referral.id),
        "data_subject": "partner",
        "provisions": [
            {
                "type": "permit",
                "categories": ["partner.contact"],
                "recipient_kinds": ["victim_service"],
                "purposes": ["partner_safety"],
            }
        ],
        "valid_from": str(factories.datetime.date.today()),
        "evidence": {"method": "signed_form", "reference": "Test form"},
    }
    recorded = referrer.post(f"{API}/consents/", body, format="json")
    assert recorded.status_code == 201, recorded.content

    made = factories.ConsentFactory(referral=referral, client=referrer)
    withdrawn = factories.WithdrawnConsentFactory(referral=referral)

    fields = (
        "referral_id",
        "data_subject",
        "provisions",
        "valid_from",
        "valid_to",
        "evidence",
        "recorded_by_id",
        "recorded_by_client",
        "withdrawn_at",
    )
    over_http = Consent.objects.get(id=recorded.json()["id"])
    assert [getattr(made, f) for f in fields] == [getattr(over_http, f) for f in fields]
    assert withdrawn.withdrawn_at is not None
    assert withdrawn.withdrawn_by == referral.referrer


def test_the_agreement_factory_publishes_what_the_request_publishes(api_client_for, world):
    probation = world[AgencyKind.PROBATION]
    provider = world[AgencyKind.PROGRAMME_PROVIDER]
    publisher = api_client_for(probation)
    body = agreement_body(probation, provider, ["offence", "risk"], ["programme_delivery"])
    published = publisher.post(f"{API}/sharing-agreements/", body, format="json")
    assert published.status_code == 201, published.content

    made = factories.AgreementFactory(provider=probation, recipient=provider, client=publisher)

    fields = (
        "version",
        "name",
        "provider_id",
        "recipient_id",
        "recipient_kind",
        "purposes",
        "grants",
        "valid_from",
        "valid_to",
        "review_date",
        "status",
        "created_by_id",
        "created_by_client",
    )
    over_http = AgreementVersion.objects.get(agreement_id=published.json()["id"])
    assert [getattr(made, f) for f in fields] == [getattr(over_http, f) for f in fields]
