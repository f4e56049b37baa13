"""The agents' live channel: ``ws/w/<slug>/`` streams the workspace's events to a browser.

Protocol (JSON text frames):

- The socket is accepted only for a signed-in, active member of the workspace ``slug`` (session
  cookie, ``AuthMiddlewareStack``); anyone else is closed with code 4403.
- The client's first frame is ``{"resume_from": <last event id seen>}`` (the page carries the newest
  id at render time, so nothing between rendering and connecting is missed; ``null``: only new
  ones).  The consumer then sends every stored event of the workspace with a larger id, in order,
  and after that the live ones: ``{"id": <int>, "event": {...}}``.  Live events arriving during the
  replay are held back and sent after it, so nothing is lost or reordered; duplicates are dropped
  by id (the client dedupes too).
- When more events were missed than ``max_replay`` (``replay.MAX_REPLAY``), the consumer sends
  ``{"resync": true, "id": n}`` instead: the client reloads what it shows and continues from ``n``.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from .events import group_name, latest_event_id
from .replay import ReplayingConsumer

CLOSE_REFUSED = 4403


def _member_of(user, slug: str) -> tuple | None:
    """(workspace id, membership id) of an active member, or None."""
    from hotro.tenancy.middleware import resolve_member

    try:
        member = resolve_member(user, slug)
    except Http404:
        return None
    return member.workspace_id, str(member.pk)


def _events_after(workspace_id, last_id: int, limit: int) -> list[tuple[int, dict]]:
    from hotro.privacy.rls import tenant_scope

    from .models import RealtimeEvent

    with tenant_scope(workspace_id):
        return list(
            RealtimeEvent.objects.filter(workspace_id=workspace_id, id__gt=last_id)
            .order_by("id")
            .values_list("id", "payload")[:limit]
        )


def _latest_id(workspace_id) -> int:
    from hotro.privacy.rls import tenant_scope

    with tenant_scope(workspace_id):
        return latest_event_id(workspace_id)


class WorkspaceEventsConsumer(ReplayingConsumer, AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.workspace_id = None
        self.start_replay_state()
        user = self.scope.get("user")
        slug = self.scope["url_route"]["kwargs"]["slug"]
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_REFUSED)
            return
        found = await database_sync_to_async(_member_of)(user, slug)
        if found is None:
            await self.close(code=CLOSE_REFUSED)
            return
        workspace_id, self.membership_id = found
        self.workspace_id = workspace_id
        self.group = group_name(workspace_id)
        # join before reading the backlog: whatever is published meanwhile is held in ``pending``
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.workspace_id is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if self.workspace_id is None or not isinstance(content, dict) or "resume_from" not in content:
            return
        if self.ready:
            return  # one resume per connection
        await self.replay(content["resume_from"])

    async def events_after(self, last_id: int, limit: int) -> list[tuple[int, dict]]:
        return await database_sync_to_async(_events_after)(self.workspace_id, last_id, limit)

    async def latest_event_id(self) -> int:
        return await database_sync_to_async(_latest_id)(self.workspace_id)

    def resync_frame(self, newest: int) -> dict:
        return {"resync": True, "id": newest}

    async def send_event(self, event_id: int, payload: dict) -> None:
        """``member.removed`` about this socket's member (live or replayed) re-checks the membership:
        a member who is gone is disconnected and gets nothing more; a changed role carries on."""
        if payload.get("type") == "member.removed" and payload.get("membership_id") == self.membership_id:
            user, slug = self.scope["user"], self.scope["url_route"]["kwargs"]["slug"]
            if await database_sync_to_async(_member_of)(user, slug) is None:
                self.workspace_id = None
                await self.channel_layer.group_discard(self.group, self.channel_name)
                await self.close(code=CLOSE_REFUSED)
                return
        await super().send_event(event_id, payload)

    async def hotro_event(self, message):
        """A ``{"type": "hotro.event", "id": ..., "event": ...}`` message from the group."""
        if self.workspace_id is not None:
            await self.live_event(message)
