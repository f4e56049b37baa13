"""One keyset cursor format (``hotro.conversations.keyset``) for the API's lists and the inbox list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from hotro.conversations import keyset
from hotro.conversations.models import Conversation
from hotro.inbox import listing
from hotro.tenancy.models import Membership

pytest_plugins = ["api_support"]

AT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
PK = uuid.UUID("01900000-0000-7000-8000-000000000001")


def test_it_round_trips_datetimes_uuids_and_plain_values():
    cursor = keyset.encode_cursor([AT, PK, 42, "x"])
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert keyset.decode_cursor(cursor, 4) == [AT, PK, 42, "x"]
    assert keyset.decode_cursor(cursor, types=(datetime, uuid.UUID, int, str)) == [AT, PK, 42, "x"]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        keyset.encode_cursor([AT]),  # one value where two are expected
        keyset.encode_cursor(["2026-03-04", str(PK)]),  # untagged: wrong types
        "eyJhIjoxfQ",  # {"a":1}: not a list
        keyset.encode_cursor([{"t": 5}, {"u": 7}]),
    ],
)
def test_it_refuses_a_cursor_it_did_not_make(cursor):
    with pytest.raises(keyset.InvalidCursor):
        keyset.decode_cursor(cursor, types=(datetime, uuid.UUID))
    assert listing.decode_cursor(cursor) is None  # the inbox list starts at the top instead


def test_after_selects_rows_strictly_after_the_key():
    condition = keyset.after(("last_activity_at", "pk"), [AT, PK], descending=True)
    assert str(condition) == str(
        keyset.Q(last_activity_at__lt=AT) | (keyset.Q(pk__lt=PK) & keyset.Q(last_activity_at=AT))
    )


@pytest.mark.django_db
def test_the_api_and_the_inbox_list_make_the_same_cursors(world_a, owner_a):
    body = world_a.client().get("/api/v1/conversations", {"limit": 1}).json()
    first = Conversation.objects.get(pk=body["items"][0]["id"])
    assert body["next_cursor"] == listing.encode_cursor(first)
    assert keyset.decode_cursor(body["next_cursor"], 2) == [first.last_activity_at, first.pk]
    member = Membership.objects.get(pk=owner_a.pk)
    filters = listing.Filters(status="all")
    page = listing.fetch_page(member, filters, page_size=1)
    assert page.rows[0].conversation.pk == first.pk and page.next_cursor == body["next_cursor"]
    following = listing.fetch_page(member, filters, body["next_cursor"], page_size=1)
    assert following.rows[0].conversation.pk != first.pk
