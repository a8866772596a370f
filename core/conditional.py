"""Optimistic concurrency: reads send an ETag, changes must send it back in If-Match."""

import hashlib
import json
from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException


class PreconditionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "Send If-Match with the ETag of your last read."
    default_code = "precondition_required"


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "It changed since you read it: read it again, then retry."
    default_code = "precondition_failed"


def etag_of(view: Any) -> str:
    """An entity tag over exactly what the caller sees (never over data withheld from it)."""
    canonical = json.dumps(view, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def check_if_match(if_match: str | None, current: str) -> None:
    """The change may proceed only on the representation the caller read.

    `*` would match any current state and so let every concurrent change win: the guard
    against lost updates needs the ETag itself (428). Tags are compared strongly (RFC 9110
    13.1.1): a weak validator `W/"..."` never matches (412).
    """
    given = (if_match or "").strip()
    if not given:
        raise PreconditionRequired()
    tags = {tag.strip() for tag in given.split(",")}
    if "*" in tags:
        raise PreconditionRequired(
            "If-Match: * is not enough: send the ETag of your last read, so that a change "
            "made since then is not overwritten."
        )
    if current not in tags:
        raise PreconditionFailed()
