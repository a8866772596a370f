"""Fixed-window rate limits on the shared cache (issue 12, item 2).

Counters live in Django's default cache: Redis when `REDIS_URL` is set, so that every app
server counts together; the local memory cache otherwise (one process). `cache.add` then
`cache.incr` is atomic on Redis and under the local cache's lock, so concurrent requests never
lose a count.

Limits (settings, each "N/s", "N/min", "N/hour" or "N/day", as DRF writes rates):
- `FAILED_REQUEST_RATE_LIMIT`, per source address: requests that failed authentication (a
  missing or bad token on the API, a failed token request). Past it, every API and token
  request from that address is refused until the window ends.
- `TOKEN_RATE_LIMIT` per client id, and `TOKEN_ADDRESS_RATE_LIMIT` per address: every request
  to `/o/token/`.
A refusal is a 429 problem with `Retry-After` (RFC 9457, RFC 9110 10.2.3).
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Seconds since the epoch; tests stop it so that no window ends during one.
clock = time.time


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """ "30/min" -> Rate(30, 60); the period's first letter decides (s, m, h, d)."""
        number, _, period = text.partition("/")
        return cls(count=int(number), seconds=PERIODS[period.strip()[:1]])


class Limited(Throttled):
    """A 429 with Retry-After; `detail` says which limit."""


def _key(scope: str, ident: str, rate: Rate, now: float) -> tuple[str, int]:
    window = int(now // rate.seconds)
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    ends = (window + 1) * rate.seconds
    return f"throttle:{scope}:{rate.seconds}:{digest}:{window}", max(1, math.ceil(ends - now))


def count(scope: str, ident: str, rate: Rate) -> int:
    """Adds one to the window's counter and returns the new count."""
    return _hit(*_key(scope, ident, rate, clock()))


def _hit(key: str, remaining: int) -> int:
    cache.add(key, 0, timeout=remaining + 1)
    try:
        return cache.incr(key)
    except ValueError:
        # The key expired between add and incr: this request opens the next window.
        cache.add(key, 1, timeout=remaining + 1)
        return 1


def take(scope: str, ident: str, rate: Rate) -> None:
    """Counts this request; raises Limited when it is over the limit."""
    key, remaining = _key(scope, ident, rate, clock())
    if _hit(key, remaining) > rate.count:
        raise Limited(wait=remaining, detail=f"Too many requests; retry in {remaining} s.")


def check(scope: str, ident: str, rate: Rate) -> None:
    """Raises Limited when the window's counter has already reached the limit (counts
    nothing)."""
    key, remaining = _key(scope, ident, rate, clock())
    if (cache.get(key) or 0) >= rate.count:
        raise Limited(wait=remaining, detail=f"Too many requests; retry in {remaining} s.")


def failed_request_rate() -> Rate:
    return Rate.parse(settings.FAILED_REQUEST_RATE_LIMIT)
