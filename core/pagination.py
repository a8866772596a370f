"""Cursor pagination answering {"results": [...], "next": CURSOR_URL | null}."""

import binascii
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


class CursorPagination(pagination.CursorPagination):
    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        first = self.get_ordering(request, queryset, view)[0].lstrip("-")
        self.position_field = queryset.model._meta.get_field(first)
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Any) -> Any:
        """The cursor, or a 400 (`cursor`) for one that is not ours: DRF answers a bad cursor
        with 404, as if the list did not exist, and passes any position to the database (a
        position that is no date, or holds a NUL, was a 500)."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise invalid_cursor() from exc
        if cursor is not None and cursor.position is not None:
            check_position(cursor.position, getattr(self, "position_field", None))
        return cursor

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        return getattr(view, "cursor_ordering", self.ordering)

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(page_body(data, self.get_next_link()))

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": ["string", "null"], "format": "uri"},
            },
        }


def page_body(results: list[Any], next_link: str | None) -> dict[str, Any]:
    """A page as every list answers it: the shape `get_paginated_response_schema` documents."""
    return {"results": results, "next": next_link}


def invalid_cursor() -> ValidationError:
    return ValidationError({"cursor": ["Invalid cursor."]})


def check_position(position: str, field: Any) -> None:
    """A cursor's position must be a value of the ordering's field (a timestamp with its zone,
    for a date and time), in printable characters."""
    if not position.isprintable():
        raise invalid_cursor()
    if field is None:
        return
    try:
        value = field.to_python(position)
    except (DjangoValidationError, ValueError, OverflowError) as exc:
        raise invalid_cursor() from exc
    if isinstance(value, datetime) and value.tzinfo is None:
        raise invalid_cursor()


Kept = tuple[Any, Any]


@dataclass(frozen=True)
class PageRequest:
    """The page a reader asks for, whatever the channel: its cursor (None for the first), its
    size, and `link`, which gives the address of the page at a cursor."""

    cursor: str | None
    size: int
    link: Callable[[str], str]

    @classmethod
    def of(cls, request: Any) -> "PageRequest":
        """From a DRF request's `cursor` and `page_size` (at most 200; 50 by default)."""
        url = request.build_absolute_uri()
        return cls(
            cursor=request.query_params.get("cursor"),
            size=CursorPagination().get_page_size(request) or CursorPagination.page_size,
            link=lambda cursor: replace_query_param(url, "cursor", cursor),
        )


def visible_page(
    queryset: Any,
    request: PageRequest,
    *,
    keep: Callable[[list[Any]], list[Kept]],
    ordering: tuple[str, str] = ("-at", "-id"),
) -> tuple[list[Kept], str | None]:
    """A page of what the reader sees, where only the decision or the rendering tells (an
    access record's visible projection, a referral whose view changed): `keep` takes a batch
    of items and returns `(item, what it made of it)` for the visible ones, in order. Returns
    the page's pairs and the `next` link.

    Pages are filled with visible items, the cursor is the position of the last one shown, and
    `next` is given only when a further visible item exists. A page left short by skipped
    items, or a cursor at a skipped item's position, would tell the reader that something it
    may not see is there, and when (DESIGN.md: no count, id or filter tells more than the view).
    Over (timestamp, id), newest first unless `ordering` ascends; the cursor is opaque
    (`cursor`, a bad one is a 400).
    """
    size = request.size
    time_field, id_field = (name.lstrip("-") for name in ordering)
    position = decode_position(request.cursor, queryset.model._meta.get_field(id_field))
    items = queryset.order_by(*ordering)
    if position is not None:
        at, last_id = position
        after = "lt" if ordering[0].startswith("-") else "gt"
        items = items.filter(
            Q(**{f"{time_field}__{after}": at})
            | Q(**{time_field: at, f"{id_field}__{after}": last_id})
        )
    kept: list[Kept] = []
    batch, offset = max(size + 1, 50), 0
    while len(kept) <= size:
        chunk = list(items[offset : offset + batch])
        kept.extend(keep(chunk))
        offset += batch
        if len(chunk) < batch:
            break
    page = kept[:size]
    next_link = None
    if len(kept) > size and page:
        last = page[-1][0]
        cursor = encode_position(getattr(last, time_field), getattr(last, id_field))
        next_link = request.link(cursor)
    return page, next_link


def encode_position(at: datetime, item_id: Any) -> str:
    return urlsafe_b64encode(f"{at.isoformat()}|{item_id}".encode()).decode()


def decode_position(cursor: str | None, id_field: Any) -> tuple[datetime, Any] | None:
    """The (timestamp, id) a cursor names; the id as the ordering's id field takes it."""
    if cursor is None:
        return None
    try:
        text = urlsafe_b64decode(cursor.encode("ascii")).decode()
        if not text.isprintable():
            raise ValueError("a control character in a cursor")
        at, item_id = text.split("|")
        position = datetime.fromisoformat(at), id_field.to_python(item_id)
    except (ValueError, UnicodeError, binascii.Error, DjangoValidationError) as exc:
        raise invalid_cursor() from exc
    bigint = isinstance(position[1], int) and not -(2**63) <= position[1] < 2**63
    if position[0].tzinfo is None or bigint:
        raise invalid_cursor()
    return position
