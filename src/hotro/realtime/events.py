"""The one way to push events to agents' browsers: ``send_event_on_commit``.

An event is a JSON dict ``{"type": "noun.past_participle", ...ids and states...}``.  It is published
only after the surrounding transaction commits (nothing is announced that could roll back), stored in
``RealtimeEvent`` (so reconnecting clients replay what they missed, by id) and fanned out on the
channel layer group ``workspace.<uuid>`` to every open browser of that workspace.
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
    transaction.on_commit(lambda: publish_event(workspace_id, payload))


def publish_event(workspace_id, payload: dict) -> int:
    """Store and fan out an event now (use ``send_event_on_commit`` from actions)."""
    from hotro.privacy.rls import tenant_scope

    from .models import RealtimeEvent

    # Runs after the action's transaction committed, so its workspace scope is gone: open our own.
    with tenant_scope(workspace_id):
        row = RealtimeEvent.objects.create(workspace_id=workspace_id, type=payload["type"], payload=payload)
    message = {"type": "hotro.event", "id": row.id, "event": payload}
    layer = get_channel_layer()
    if layer is not None:
        try:
            async_to_sync(layer.group_send)(group_name(workspace_id), message)
        except Exception:  # a fan-out failure must not fail the action: clients replay on reconnect
            log.exception("realtime fan-out failed for event %s", row.id)
    return row.id
