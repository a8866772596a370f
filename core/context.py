"""What a use case is told about the request it serves, whatever the channel (issue 13).

A channel (the API's views, the web pages) builds one `RequestContext` per request: who acts
(`Actor`), for which purpose, under which emergency justification, at what time, and where the
request came from (`Origin`, which the access record names). Use cases take it and nothing
else of the request, so that every channel reaches the data through the same decision and the
same audit (DESIGN.md, *The disclosure decision*, *Audit*).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.utils import timezone

if TYPE_CHECKING:  # the leaf imports no app (pyproject.toml, [tool.importlinter])
    from agencies.actors import Actor


class Channel(StrEnum):
    """How a request reached the hub; recorded on its access record (`channel`)."""

    API = "api"
    WEB = "web"


def client_ip(request: HttpRequest, num_proxies: int) -> str | None:
    """REMOTE_ADDR, or the address the trusted proxies saw (never a spoofable header alone)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if num_proxies and forwarded:
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if addresses:
            return addresses[-min(num_proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as its access record names it. `query` is the caller's
    text: the record writer keeps only values that look like what their parameter takes."""

    channel: Channel
    method: str
    path: str
    ip: str | None
    request_id: str = ""
    query: QueryDict = field(default_factory=QueryDict)

    @classmethod
    def of(cls, request: HttpRequest, channel: Channel) -> Origin:
        return cls(
            channel=channel,
            method=request.method or "",
            path=request.path,
            ip=client_ip(request, settings.NUM_PROXIES),
            request_id=getattr(request, "request_id", ""),
            query=request.GET.copy(),
        )

    @property
    def address(self) -> str:
        return self.ip or ""


@dataclass(frozen=True)
class RequestContext:
    """One request, as a use case sees it: built once per request by its channel.

    `purpose` is a value of `Purpose` (already checked against the client's registration);
    `justification` is the emergency justification, "" when none was given (DESIGN.md, rule 4);
    `now` is the request's time, the one every rule of the request reads.
    """

    actor: Actor
    purpose: str
    origin: Origin
    justification: str = ""
    now: datetime = field(default_factory=timezone.now)

    @property
    def channel(self) -> Channel:
        return self.origin.channel

    @property
    def emergency(self) -> bool:
        return bool(self.justification)


@dataclass(frozen=True)
class Served:
    """What a use case answers with: the body (already minimised), its status, and the headers
    a channel may send with it. `recorded` says the use case wrote the request's access record
    in its transaction (a view that touches personal data may only send a recorded answer)."""

    body: Any
    status: int = 200
    etag: str | None = None
    recorded: bool = False
