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
from django.http import HttpRequest
from django.utils import timezone

from agencies.actors import Actor
from audit.models import AccessRecord, Outcome, RefusalBurst
from audit.services import AccessDetails, access_record_write, client_ip
from hub.serializers import timestamp

# Statuses folded into bursts: refusals that carry no accountable caller (401, failed sign-ins
# and token requests) and throttling (429). Refusals of an authenticated caller (403, 404, ...)
# keep one record each: the per-client throttle bounds them.
BURST_STATUSES = frozenset({401, 429})


def window() -> timedelta:
    return timedelta(seconds=settings.REFUSAL_BURST_SECONDS)


def source_key(*, ip: str | None, client: str, tried: str, status: int) -> str:
    source = "\n".join([ip or "", client, tried, str(status)])
    return hashlib.sha256(source.encode()).hexdigest()


def refusal_record(
    *,
    request: HttpRequest,
    actor: Actor | None,
    status: int,
    tried: str = "",
    purpose: str = "",
    details: AccessDetails | None = None,
) -> AccessRecord | None:
    """Records one refused request: its own access record when it opens a window (returned),
    else counted into its source's burst (None). Runs in a transaction of its own."""
    now = timezone.now()
    ip = client_ip(request, settings.NUM_PROXIES)
    client = actor.client.client_id if actor else ""
    key = source_key(ip=ip, client=client, tried=tried, status=status)
    with transaction.atomic():
        burst = RefusalBurst.objects.select_for_update().filter(key=key).first()
        if burst is not None and now - burst.first_at < window():
            RefusalBurst.objects.filter(pk=burst.pk).update(count=F("count") + 1, last_at=now)
            return None
        if burst is not None:
            _close(burst)
        record = access_record_write(
            request=request,
            actor=actor,
            status=status,
            purpose=purpose,
            details=details,
            num_proxies=settings.NUM_PROXIES,
            tried=tried,
        )
        opened = RefusalBurst(
            key=key,
            agency=actor.agency if actor else None,
            client=client,
            tried=tried[:150],
            ip=ip,
            method=(request.method or "")[:10],
            path=request.path[:500],
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
            channel=None,
            burst={
                "count": burst.count,
                "first_at": timestamp(burst.first_at),
                "last_at": timestamp(burst.last_at),
            },
        )
        written = 1
    burst.delete()
    return written
