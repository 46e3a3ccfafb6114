"""The API's request parsers (DESIGN §9: bad input is a 400 with the error shape of config/api.py).

Kept apart from config/api.py: DRF reads DEFAULT_PARSER_CLASSES while `rest_framework.views` is
first imported, and config/api.py imports that module, so a parser living there could be asked for
while its own module is still half-initialised.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers

JSON_MAX_DEPTH = 64


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than JSON_MAX_DEPTH with a 400: no field of
    ours nests more than a few levels, and deeper input ends in a RecursionError (a 500) in the
    decoder or in whatever walks the data next."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
        else:
            if _depth_at_most(data, JSON_MAX_DEPTH):
                return data
        raise exceptions.ParseError(
            f"JSON parse error - nested deeper than {JSON_MAX_DEPTH} levels.", code="json_too_deep"
        )


def _depth_at_most(data: Any, limit: int) -> bool:
    """True when no array or object lies deeper than `limit` levels (walked without recursion)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if not isinstance(value, dict | list):
            continue
        if depth > limit:
            return False
        pending.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return True
