"""Batched ingest: a whole fetch stored in one transaction, processed by one task, exactly once."""

from __future__ import annotations

import pytest

from hotro.connectors import ingress, registry
from hotro.connectors.base import Connector, InboundMessage
from hotro.connectors.models import Inbox, RawEvent, RawEventStatus
from hotro.conversations.models import Message


class EchoConnector(Connector):
    """Each raw event is one message from sender ``u<payload>``; payload ``boom`` fails."""

    key = "echo"

    def verify(self, request, inbox):
        return None

    def parse(self, raw_event):
        if raw_event.payload == "boom":
            raise ConnectionError("provider hiccup")
        return [
            InboundMessage(
                external_id=raw_event.event_id,
                channel="echo",
                sender_address=f"u{raw_event.payload}",
                text=f"tin {raw_event.payload}",
            )
        ]


def enqueued(callbacks) -> list:
    return [c for c in callbacks if c.__qualname__.startswith("enqueue_on_commit")]


@pytest.fixture
def echo(ws_a):
    registry.register(EchoConnector)
    yield Inbox.objects.create(workspace=ws_a, connector="echo", name="Echo", credentials={})
    registry.unregister("echo")


def test_it_stores_a_batch_and_processes_each_event_once(echo, django_capture_on_commit_callbacks):
    events = [(f"e{i}", str(i), {"n": i}) for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ids = ingress.accept_events(echo, events)
    assert len(ids) == 5 and len(enqueued(callbacks)) == 1  # one task for the whole batch
    assert set(RawEvent.objects.filter(inbox=echo).values_list("status", flat=True)) == {
        RawEventStatus.PROCESSED
    }
    assert sorted(Message.objects.filter(inbox=echo).values_list("external_id", flat=True)) == [
        f"e{i}" for i in range(5)
    ]
    raw = RawEvent.objects.get(inbox=echo, event_id="e3")
    assert raw.payload == "3" and raw.headers == {"n": 3}  # sealed and readable

    # the same batch again (a re-fetch) stores nothing and enqueues nothing
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert ingress.accept_events(echo, events) == []
    assert enqueued(callbacks) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert ingress.accept_events(echo, events + [("e9", "9", {})]) == [
            str(RawEvent.objects.get(inbox=echo, event_id="e9").pk)
        ]
    assert Message.objects.filter(inbox=echo).count() == 6
    # running the batch task again is harmless
    assert set(ingress.run_raw_events(ids).values()) == {RawEventStatus.PROCESSED}
    assert Message.objects.filter(inbox=echo).count() == 6


def test_a_failing_event_does_not_hold_back_the_rest_of_its_batch(echo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ids = ingress.accept_events(echo, [("a", "1", {}), ("b", "boom", {}), ("c", "2", {})])
    statuses = dict(RawEvent.objects.filter(inbox=echo).values_list("event_id", "status"))
    assert statuses == {
        "a": RawEventStatus.PROCESSED,
        "b": RawEventStatus.FAILED,
        "c": RawEventStatus.PROCESSED,
    }
    assert RawEvent.objects.get(event_id="b").error.startswith("Processing failed (ConnectionError)")
    assert len(ids) == 3 and Message.objects.filter(inbox=echo).count() == 2


def test_the_callers_bookmark_commits_with_the_batch(echo):
    marks = []
    ingress.accept_events(echo, [("x", "1", {})], then=lambda: marks.append(RawEvent.objects.count()))
    assert marks == [1]


def test_claim_many_takes_only_due_rows_once(echo, django_capture_on_commit_callbacks):
    ids = ingress.accept_events(echo, [("p", "1", {}), ("q", "2", {})])  # not run: callbacks not executed
    first = ingress.RAW_EVENTS.claim_many(ids)
    assert list(first) == ids and all(c.attempts == 1 for c in first.values())
    assert ingress.RAW_EVENTS.claim_many(ids) == {}  # held by the first claim
