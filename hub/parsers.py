"""JSON request bodies with a nesting limit (DESIGN.md, *Errors*: no input is ever a 500)."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No body of the API nests deeper than a few levels (a referral: 4); this leaves room.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing (400) a body nested deeper than MAX_JSON_DEPTH: one nested
    a thousand deep (2 KB of brackets) made the decoder recurse until it failed, a 500."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(TOO_DEEP) from exc
        if depth_of(data) > MAX_JSON_DEPTH:
            raise ParseError(TOO_DEEP)
        return data


def depth_of(value: Any) -> int:
    """How deep arrays and objects nest in a decoded JSON value (a scalar is 0), without
    recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest
