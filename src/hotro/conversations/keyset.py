"""Keyset pagination cursors, shared by the API's lists and the agent inbox's conversation list.

A cursor is the sort key of the last row of a page — e.g. ``(last_activity_at, id)`` — as URL-safe
base64 of a JSON list (datetimes and UUIDs tagged so they decode to their type).  The next page is
every row strictly after that key in the (total) order of the fields, the last of which must be
unique (the primary key): stable under inserts elsewhere in the list, one indexed range query per
page.  A cursor is opaque to clients but not secret; it holds only the sort values.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db.models import Q


class InvalidCursor(ValueError):
    """The cursor was not made by ``encode_cursor`` for this list (edited, truncated or stale)."""


def _encode_value(value):
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    return value


def _decode_value(value):
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and "u" in value:
        return uuid.UUID(value["u"])
    return value


def encode_cursor(values: Sequence) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int | None = None, *, types: Sequence[type] | None = None) -> list:
    """The values in ``cursor``; ``InvalidCursor`` unless there are ``size`` (or ``len(types)``) of
    them, each an instance of the matching type when ``types`` is given."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list):
            raise InvalidCursor("not a list")
        values = [_decode_value(v) for v in raw]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidCursor(str(exc)) from exc
    expected = len(types) if types is not None else size
    if expected is not None and len(values) != expected:
        raise InvalidCursor(f"expected {expected} values, got {len(values)}")
    if types is not None and not all(isinstance(v, t) for v, t in zip(values, types, strict=True)):
        raise InvalidCursor("a value has the wrong type")
    return values


def cursor_for(row, fields: Sequence[str]) -> str:
    """The cursor of ``row`` in the order of ``fields`` (attribute names, e.g. ``"pk"``)."""
    return encode_cursor([getattr(row, f) for f in fields])


def after(fields: Sequence[str], values: Sequence, descending: bool) -> Q:
    """Rows strictly after ``values`` in the order of ``fields``: (a > x) or (a = x and b > y) ..."""
    op = "lt" if descending else "gt"
    condition = Q()
    for i, name in enumerate(fields):
        term = Q(**{f"{name}__{op}": values[i]})
        for prev, prev_value in zip(fields[:i], values[:i], strict=True):
            term &= Q(**{prev: prev_value})
        condition |= term
    return condition
