"""The one way to push events to agents' browsers: ``send_event_on_commit``.

An event is a JSON dict ``{"type": "noun.past_participle", ...ids and states...}``.  It is published
only after the surrounding transaction commits (nothing is announced that could roll back), stored in
``RealtimeEvent`` (so reconnecting clients replay what they missed, by id) and fanned out on the
channel layer group ``workspace.<uuid>`` to every open browser of that workspace.  Consecutive
events of one transaction (same workspace, same savepoints) are stored with one INSERT and fanned
out in one go, still in the order they were sent.
"""

from __future__ import annotations

import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def group_name(workspace_id) -> str:
    return f"workspace.{workspace_id}"


def send_event_on_commit(workspace_id, event: dict) -> None:
    if "type" not in event:
        raise ValueError("An event needs a type such as 'conversation.assigned'.")
    payload = json.loads(json.dumps(event, default=str))  # fail at the caller on non-JSON values
    if not _join_last(workspace_id, payload):
        transaction.on_commit(_publisher(workspace_id, payload))


def _publisher(workspace_id, payload: dict):
    """An ``on_commit`` callback publishing the events in its ``hotro_events`` list, in order."""
    payloads = [payload]

    def publish() -> None:
        publish_events(workspace_id, payloads)

    publish.hotro_events = (workspace_id, payloads)
    return publish


def _join_last(workspace_id, payload: dict) -> bool:
    """Add the event to the transaction's last ``on_commit`` callback when that one publishes events
    of the same workspace and was registered in the same savepoints: nothing runs between them at
    commit and a savepoint rollback drops both or neither, so one INSERT and one fan-out do."""
    conn = transaction.get_connection()
    pending = getattr(conn, "run_on_commit", None)
    if not conn.in_atomic_block or not pending:
        return False
    # Django's private run_on_commit entries are (savepoint ids, callback, robust): if another
    # version stores something else, do not join (send_event_on_commit falls back to on_commit).
    last = pending[-1]
    savepoint_ids = getattr(conn, "savepoint_ids", None)
    if not isinstance(last, tuple) or len(last) != 3 or savepoint_ids is None:
        return False
    sids, func, robust = last
    events = getattr(func, "hotro_events", None)
    if events is None or robust or events[0] != workspace_id or sids != set(savepoint_ids):
        return False
    events[1].append(payload)
    return True


def latest_event_id(workspace_id) -> int:
    """The newest stored event id of the workspace (0: none); runs in the caller's scope."""
    from .models import RealtimeEvent

    return (
        RealtimeEvent.objects.filter(workspace_id=workspace_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )


def publish_event(workspace_id, payload: dict) -> int:
    """Store and fan out an event now (use ``send_event_on_commit`` from actions)."""
    return publish_events(workspace_id, [payload])[0]


def publish_events(workspace_id, payloads: list[dict]) -> list[int]:
    """Store events (one INSERT) and fan them out in order now; returns their ids."""
    from hotro.privacy.rls import tenant_scope

    from .models import RealtimeEvent

    # Runs after the action's transaction committed, so its workspace scope is gone: open our own.
    with tenant_scope(workspace_id):
        rows = RealtimeEvent.objects.bulk_create(
            [RealtimeEvent(workspace_id=workspace_id, type=p["type"], payload=p) for p in payloads]
        )
    messages = [
        {"type": "hotro.event", "id": row.id, "event": p} for row, p in zip(rows, payloads, strict=True)
    ]
    layer = get_channel_layer()
    if layer is not None:
        try:
            async_to_sync(_fan_out)(layer, group_name(workspace_id), messages)
        except Exception:  # a fan-out failure must not fail the action: clients replay on reconnect
            log.exception("realtime fan-out failed for events %s", [row.id for row in rows])
    return [row.id for row in rows]


async def _fan_out(layer, group: str, messages: list[dict]) -> None:
    """All of a batch's messages in one event loop (``async_to_sync`` costs a thread per call)."""
    for message in messages:
        try:
            await layer.group_send(group, message)
        except Exception:  # one failed send must not hold back the others
            log.exception("realtime fan-out failed for event %s", message["id"])
