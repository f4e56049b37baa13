"""Keyset pagination of the API's lists, with the cursors of ``hotro.conversations.keyset``.

A cursor encodes the sort key of the last row of a page; the next page is every row strictly after
it in the (total) order ``fields``, the last of which must be unique (the primary key).  Pages are
stable under inserts elsewhere in the list, and each costs one indexed range query.  A cursor the
API did not make names no page: 404 ``invalid_cursor`` (the request itself is well-formed).
"""

from __future__ import annotations

from hotro.conversations.keyset import InvalidCursor, after, cursor_for, decode_cursor

from .errors import ApiError

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def decode_api_cursor(cursor: str, size: int) -> list:
    try:
        return decode_cursor(cursor, size)
    except InvalidCursor as exc:
        raise ApiError(
            404, "invalid_cursor", "There is no page at this cursor; start again without it."
        ) from exc


def paginate(queryset, *, fields: tuple[str, ...], descending: bool, cursor: str | None, limit: int):
    """``(rows, next_cursor)``: at most ``limit`` rows after ``cursor``; next_cursor None at the end."""
    limit = max(1, min(int(limit or DEFAULT_LIMIT), MAX_LIMIT))
    order = [f"-{f}" if descending else f for f in fields]
    queryset = queryset.order_by(*order)
    if cursor:
        queryset = queryset.filter(after(fields, decode_api_cursor(cursor, len(fields)), descending))
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, cursor_for(rows[-1], fields)
