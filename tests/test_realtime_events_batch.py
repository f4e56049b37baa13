"""Events sent in one transaction: published after commit, in order, rolled-back ones never, and
consecutive ones of a workspace stored with one INSERT and fanned out in one go."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from hotro.realtime import events
from hotro.realtime.events import send_event_on_commit
from hotro.realtime.models import RealtimeEvent

pytestmark = pytest.mark.django_db(transaction=True)


def stored(workspace) -> list[str]:
    return list(
        RealtimeEvent.objects.filter(workspace=workspace).order_by("id").values_list("type", flat=True)
    )


def test_consecutive_events_are_stored_with_one_insert_and_in_order(ws_a):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for n in range(3):
            send_event_on_commit(ws_a.pk, {"type": f"test.e{n}"})
    inserts = [q for q in queries.captured_queries if "hotro_realtime_event" in q["sql"]]
    assert stored(ws_a) == ["test.e0", "test.e1", "test.e2"]
    assert len(inserts) == 1


def test_nothing_is_published_before_commit_nor_after_a_rollback(ws_a):
    with pytest.raises(RuntimeError), transaction.atomic():
        send_event_on_commit(ws_a.pk, {"type": "test.lost"})
        raise RuntimeError
    with transaction.atomic():
        send_event_on_commit(ws_a.pk, {"type": "test.kept"})
        assert stored(ws_a) == []
    assert stored(ws_a) == ["test.kept"]


def test_an_event_of_a_rolled_back_savepoint_is_dropped_alone(ws_a):
    with transaction.atomic():
        send_event_on_commit(ws_a.pk, {"type": "test.before"})
        with pytest.raises(RuntimeError), transaction.atomic():
            send_event_on_commit(ws_a.pk, {"type": "test.inner_lost"})
            raise RuntimeError
        with transaction.atomic():
            send_event_on_commit(ws_a.pk, {"type": "test.inner_kept"})
        send_event_on_commit(ws_a.pk, {"type": "test.after"})
    assert stored(ws_a) == ["test.before", "test.inner_kept", "test.after"]


def test_order_with_other_commit_callbacks_and_workspaces_is_kept(ws_a, ws_b, monkeypatch):
    seen = []
    real = events.publish_events

    def spy(workspace_id, payloads):
        seen.extend(p["type"] for p in payloads)
        return real(workspace_id, payloads)

    monkeypatch.setattr(events, "publish_events", spy)
    with transaction.atomic():
        send_event_on_commit(ws_a.pk, {"type": "a1"})
        transaction.on_commit(lambda: seen.append("other"))
        send_event_on_commit(ws_a.pk, {"type": "a2"})
        send_event_on_commit(ws_b.pk, {"type": "b1"})
        send_event_on_commit(ws_a.pk, {"type": "a3"})
    assert seen == ["a1", "other", "a2", "b1", "a3"]
    assert stored(ws_a) == ["a1", "a2", "a3"] and stored(ws_b) == ["b1"]


def test_the_batch_is_fanned_out_in_order_with_the_stored_ids(ws_a, monkeypatch):
    sent = []

    async def group_send(group, message):
        sent.append((group, message["id"], message["event"]["type"]))

    monkeypatch.setattr(get_channel_layer(), "group_send", group_send)
    with transaction.atomic():
        send_event_on_commit(ws_a.pk, {"type": "test.one"})
        send_event_on_commit(ws_a.pk, {"type": "test.two"})
    ids = list(RealtimeEvent.objects.filter(workspace=ws_a).order_by("id").values_list("id", flat=True))
    assert sent == [
        (f"workspace.{ws_a.pk}", ids[0], "test.one"),
        (f"workspace.{ws_a.pk}", ids[1], "test.two"),
    ]
