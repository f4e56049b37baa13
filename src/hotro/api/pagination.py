"""Keyset pagination with opaque cursors.

A cursor encodes the sort key of the last row of a page; the next page is every row strictly after
it in the (total) order ``fields``, the last of which must be unique (the primary key).  Pages are
stable under inserts elsewhere in the list, and each costs one indexed range query.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from django.db.models import Q

from .errors import ApiError

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


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


def encode_cursor(values: list) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = [_decode_value(v) for v in json.loads(raw)]
    except (ValueError, TypeError, KeyError) as exc:
        raise ApiError(400, "invalid_cursor", "The cursor is not valid; start again without it.") from exc
    if not isinstance(values, list) or len(values) != size:
        raise ApiError(400, "invalid_cursor", "The cursor is not valid; start again without it.")
    return values


def _after(fields: tuple[str, ...], values: list, descending: bool) -> Q:
    """Rows strictly after ``values`` in the order of ``fields``: (a > x) or (a = x and b > y) ..."""
    op = "lt" if descending else "gt"
    condition = Q()
    for i, name in enumerate(fields):
        term = Q(**{f"{name}__{op}": values[i]})
        for prev, prev_value in zip(fields[:i], values[:i], strict=True):
            term &= Q(**{prev: prev_value})
        condition |= term
    return condition


def paginate(queryset, *, fields: tuple[str, ...], descending: bool, cursor: str | None, limit: int):
    """``(rows, next_cursor)``: at most ``limit`` rows after ``cursor``; next_cursor None at the end."""
    limit = max(1, min(int(limit or DEFAULT_LIMIT), MAX_LIMIT))
    order = [f"-{f}" if descending else f for f in fields]
    queryset = queryset.order_by(*order)
    if cursor:
        queryset = queryset.filter(_after(fields, decode_cursor(cursor, len(fields)), descending))
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor([getattr(last, f) for f in fields])
