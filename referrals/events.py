"""Raising events: each recipient's feed is numbered without gaps, in commit order.

A position is taken under a row lock on the recipient's counter, held until the change's
transaction commits; a second writer for the same agency waits, so a reader that has seen
position n will never later find an n-1 that committed after it. Nothing is lost or repeated
across pages, even while events are written.
"""

from uuid import UUID

from referrals.models import Event, FeedCounter, Referral


def events_raise(*, referral: Referral, recipients: dict[UUID, str], about: dict) -> list[Event]:
    """One event per recipient; call inside the transaction of the change it describes."""
    events = []
    # A fixed order of locking, so that two writers never wait on each other in a circle.
    for agency_id in sorted(recipients, key=str):
        FeedCounter.objects.get_or_create(agency_id=agency_id)
        counter = FeedCounter.objects.select_for_update().get(agency_id=agency_id)
        counter.last_position += 1
        counter.save(update_fields=["last_position"])
        events.append(
            Event(
                recipient_id=agency_id,
                position=counter.last_position,
                referral=referral,
                type=recipients[agency_id],
                about=about,
            )
        )
    return Event.objects.bulk_create(events)
