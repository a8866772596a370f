"""Refused requests from one source, recorded without letting a flood grow the audit trail
(issue 12, item 2; DESIGN.md *Audit*: "A burst of refused requests from one source may be
recorded as one aggregated record (count, first and last time), so that floods cannot grow the
store without bound").

A source is the address, the client (or the client id or user name tried) and the status. The
first refusal from a source in a window of `REFUSAL_BURST_SECONDS` gets its own access record at
once, with everything a single record holds, so that a lone denied attempt is never buried. The
refusals after it in the same window are only counted (`RefusalBurst`); when the window has
closed they become one access record with `burst = {"count", "first_at", "last_at"}`. A flood
from one source therefore writes at most two records per window, whatever its rate, and the
review queue holds two flagged records where it would have held thousands.

A closed burst is written by the next refusal from the same source, and by `close_bursts()`,
which `manage.py audit_seal` runs before it seals: nothing counted is ever lost.
"""

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agencies.actors import Actor
from audit.models import AccessRecord, Outcome, RefusalBurst
from audit.services import AccessDetails, access_record_write, time_ordered_uuid
from core.context import Origin
from core.serializers import timestamp

# Statuses folded into bursts: refusals that carry no accountable caller (401, failed sign-ins
# and token requests) and throttling (429). Refusals of an authenticated caller (403, 404, ...)
# keep one record each: the per-client throttle bounds them.
BURST_STATUSES = frozenset({401, 429})


def window() -> timedelta:
    return timedelta(seconds=settings.REFUSAL_BURST_SECONDS)


def source_key(*, ip: str | None, client: str, tried: str, status: int, channel: str) -> str:
    source = "\n".join([ip or "", client, tried, str(status), channel])
    return hashlib.sha256(source.encode()).hexdigest()


def record_refused(
    *,
    origin: Origin,
    actor: Actor | None,
    status: int,
    tried: str = "",
    purpose: str = "",
    details: AccessDetails | None = None,
) -> AccessRecord | None:
    """Records a refused or failed request, whatever its channel: the one writer of such
    records. Runs in a transaction of its own (whatever the request did was rolled back, and
    nothing was disclosed: the record names what was tried, not what was seen).

    A refusal without an accountable caller, or a throttled one (`BURST_STATUSES`), gets its
    own record when it opens its source's window (returned), else is counted into the burst
    (None); any other refusal or failure gets a record of its own (returned)."""

    def own_record() -> AccessRecord:
        return access_record_write(
            origin=origin, actor=actor, status=status, purpose=purpose, details=details, tried=tried
        )

    if status not in BURST_STATUSES:
        with transaction.atomic():
            return own_record()
    now = timezone.now()
    ip = origin.ip
    client = actor.client_id if actor else ""
    key = source_key(ip=ip, client=client, tried=tried, status=status, channel=origin.channel)
    with transaction.atomic():
        burst = RefusalBurst.objects.select_for_update().filter(key=key).first()
        if burst is not None and now - burst.first_at < window():
            RefusalBurst.objects.filter(pk=burst.pk).update(count=F("count") + 1, last_at=now)
            return None
        if burst is not None:
            _close(burst)
        record = own_record()
        opened = RefusalBurst(
            key=key,
            agency=actor.agency if actor else None,
            client=client,
            tried=tried[:150],
            ip=ip,
            method=origin.method[:10],
            channel=origin.channel,
            path=origin.path[:500],
            status=status,
            first_at=now,
            last_at=now,
        )
        try:
            with transaction.atomic():
                opened.save()
        except IntegrityError:
            # Another process opened this source's window at the same moment: count this one
            # there (its own record stands too: nothing is lost, one record more at most).
            RefusalBurst.objects.filter(key=key).update(count=F("count") + 1, last_at=now)
        return record


def close_bursts(*, now: datetime | None = None) -> int:
    """Writes every burst whose window has closed as one access record; returns how many
    records were written. Safe to run beside live traffic and beside itself."""
    cutoff = (now or timezone.now()) - window()
    written = 0
    with transaction.atomic():
        closed = RefusalBurst.objects.select_for_update(skip_locked=True).filter(
            first_at__lte=cutoff
        )
        for burst in closed:
            written += _close(burst)
    return written


def _close(burst: RefusalBurst) -> int:
    """Folds a burst into one access record (none if nothing was counted) and forgets it."""
    written = 0
    if burst.count:
        AccessRecord.objects.create(
            id=time_ordered_uuid(),
            agency=burst.agency,
            agency_ref=str(burst.agency_id) if burst.agency_id else "",
            agency_kind=burst.agency.kind if burst.agency else "",
            client=burst.client,
            flagged=True,
            method=burst.method,
            path=burst.path,
            status=burst.status,
            outcome=Outcome.REFUSED,
            ip=burst.ip,
            request_id="",
            tried=burst.tried,
            channel=burst.channel,
            burst={
                "count": burst.count,
                "first_at": timestamp(burst.first_at),
                "last_at": timestamp(burst.last_at),
            },
        )
        written = 1
    burst.delete()
    return written
