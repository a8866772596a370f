"""Raising events: each recipient's feed is numbered without gaps, in commit order.

A position is taken under a row lock on the recipient's counter, held until the change's
transaction commits; a second writer for the same agency waits, so a reader that has seen
position n will never later find an n-1 that committed after it. Nothing is lost or repeated
across pages, even while events are written.
"""

from uuid import UUID

from django.db.models import F

from referrals.models import Event, FeedCounter, Referral


def events_raise(*, referral: Referral, recipients: dict[UUID, str], about: dict) -> list[Event]:
    """One event per recipient; call inside the transaction of the change it describes. Four
    queries, whatever the number of recipients."""
    if not recipients:
        return []
    # A fixed order of locking, so that two writers never wait on each other in a circle: the
    # counters are created and locked in agency-id order (a uuid sorts as its text does).
    agency_ids = sorted(recipients, key=str)
    FeedCounter.objects.bulk_create(
        [FeedCounter(agency_id=agency_id) for agency_id in agency_ids], ignore_conflicts=True
    )
    last = dict(
        FeedCounter.objects.select_for_update()
        .filter(agency_id__in=agency_ids)
        .order_by("agency_id")
        .values_list("agency_id", "last_position")
    )
    FeedCounter.objects.filter(agency_id__in=agency_ids).update(
        last_position=F("last_position") + 1
    )
    last = {str(agency_id): position for agency_id, position in last.items()}
    return Event.objects.bulk_create(
        Event(
            recipient_id=agency_id,
            position=last[str(agency_id)] + 1,
            referral=referral,
            type=recipients[agency_id],
            about=about,
        )
        for agency_id in agency_ids
    )
