"""Plausible sizes for free text wherever data enters (forms, API, imports): one rule for every app.

A title is a line, a description a few pages. Anything larger is a mistake or an attack (a 3 MB
objective took 24 s to lay out in its one-pager), so services refuse it with a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping

from config.errors import InvalidInput

LINE_MAX_CHARS = 200
TEXT_MAX_CHARS = 20_000


def check_text_lengths(values: Mapping[str, object], *, limits: Mapping[str, int] | None = None) -> None:
    """Refuse every text value longer than its limit (`limits[name]`, else TEXT_MAX_CHARS), naming
    each field that is too long. Non-text values are left to their own checks."""
    errors = {}
    for name, value in values.items():
        limit = (limits or {}).get(name, TEXT_MAX_CHARS)
        if isinstance(value, str) and len(value) > limit:
            errors[name] = [f"At most {limit:,} characters (this has {len(value):,})."]
    if errors:
        raise InvalidInput(
            f"Too long: {', '.join(sorted(errors))}. Shorten the text or attach it as a document.",
            details=errors,
        )
