"""The visitor's live channel: ``ws/widget/<public_key>/``.

Protocol (JSON text frames; the widget iframe is served by hotro, so the socket is same-origin):

- first frame ``{"type": "hello", "token": <visitor token>, "resume_from": <last event id or null>}``;
  a missing, expired or other-inbox token closes the socket with 4403.  The server then replays the
  visitor's stored events after ``resume_from`` in order, sends ``{"type": "ready", "last_event_id"}``
  and streams live ones.  Events: ``{"id": n, "event": {"kind": "message", "message": {...}}}``;
  live events arriving during the replay are held back and sent after it; duplicates are dropped by
  id (the widget dedupes by id and message id too).
- ``{"type": "message", "client_id": <uuid>, "text": ...}``: stored durably, then answered with
  ``{"type": "ack", "client_id", "message"}`` (a resend with the same ``client_id`` is not doubled).
- ``{"type": "typing", "conversation_id", "typing": bool}``, ``{"type": "read", "conversation_id"}``.
- errors: ``{"type": "error", "code", "message"}`` with a sentence for the visitor.

While the socket is open after ``hello`` the visitor counts as present (``visitors.mark_present``,
renewed every ``HEARTBEAT_SECONDS``, removed on disconnect); agent replies to an absent visitor are
also e-mailed (``email_continuation``).
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from hotro.realtime.replay import ReplayingConsumer

from ..widget.ratelimit import client_ip, rate_limit
from ..widget.tokens import read_visitor_token
from . import actions, visitors
from .limits import CONNECT_LIMIT, MESSAGE_LIMIT, TYPING_LIMIT
from .lookup import find_livechat_inbox

log = logging.getLogger(__name__)
CLOSE_REFUSED = 4403
CLOSE_RATE = 4429
MAX_FRAME = 20_000


class VisitorConsumer(ReplayingConsumer, AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.inbox = self.visitor = self.claims = self.heartbeat = None
        self.start_replay_state()
        key = self.scope["url_route"]["kwargs"]["public_key"]
        if not rate_limit(f"lc-connect:{client_ip(self.scope)}", *CONNECT_LIMIT):
            await self.close(code=CLOSE_RATE)
            return
        self.inbox = await database_sync_to_async(find_livechat_inbox)(key)
        if self.inbox is None:
            await self.close(code=CLOSE_REFUSED)
            return
        await self.accept()

    async def disconnect(self, code):
        if self.heartbeat is not None:
            self.heartbeat.cancel()
        if self.visitor is not None:
            await self.channel_layer.group_discard(visitors.group_for(self.visitor.pk), self.channel_name)
            try:
                await database_sync_to_async(visitors.mark_absent)(self.visitor, self.channel_name)
            except Exception:  # the row runs out by itself
                log.exception("livechat: could not clear the presence of visitor %s", self.visitor.pk)

    async def _beat(self):
        """Keep the visitor present while the socket is open."""
        while True:
            await asyncio.sleep(visitors.HEARTBEAT_SECONDS)
            try:
                await database_sync_to_async(visitors.mark_present)(
                    self.visitor, self.channel_name, visitors.SOCKET_PRESENCE_SECONDS
                )
            except Exception:  # the database is away: try again at the next beat
                log.exception("livechat: presence heartbeat failed for visitor %s", self.visitor.pk)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None or len(text_data) > MAX_FRAME:
            await self._error("too_large", _("That message is too long."))
            return
        await super().receive(text_data=text_data, **kwargs)

    async def receive_json(self, content, **kwargs):
        if self.inbox is None or not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "hello":
            await self._hello(content)
            return
        if self.visitor is None:
            await self.close(code=CLOSE_REFUSED)
            return
        with translation.override(self.visitor.language or "vi"):
            try:
                if kind == "message":
                    await self._message(content)
                elif kind == "typing":
                    if rate_limit(f"lc-typing:{self.visitor.pk}", *TYPING_LIMIT):
                        await database_sync_to_async(actions.visitor_typing)(
                            self.visitor, content.get("conversation_id"), bool(content.get("typing"))
                        )
                elif kind == "read":
                    await database_sync_to_async(actions.do_visitor_read)(
                        self.visitor, content.get("conversation_id")
                    )
            except ValidationError as exc:
                await self._error("invalid", " ".join(exc.messages), content.get("client_id"))
            except PermissionDenied as exc:
                await self._error("forbidden", str(exc), content.get("client_id"))

    async def _hello(self, content):
        if self.visitor is not None:
            return  # one hello per connection
        claims = read_visitor_token(self.inbox, content.get("token"))
        if claims is None:
            await self.close(code=CLOSE_REFUSED)
            return
        visitor = await database_sync_to_async(visitors.find_visitor)(self.inbox, claims)
        if visitor is None:
            await self.close(code=CLOSE_REFUSED)
            return
        self.claims, self.visitor = claims, visitor
        await self.channel_layer.group_add(visitors.group_for(visitor.pk), self.channel_name)
        await database_sync_to_async(visitors.mark_present)(
            visitor, self.channel_name, visitors.SOCKET_PRESENCE_SECONDS
        )
        self.heartbeat = asyncio.ensure_future(self._beat())
        last_id = await self.replay(content.get("resume_from"))
        await self.send_json({"type": "ready", "last_event_id": last_id})

    async def events_after(self, last_id: int, limit: int) -> list[tuple[int, dict]]:
        """Stored events, their messages rendered in one batch (``render_event`` keeps them)."""

        def load():
            return actions.render_events(self.visitor, visitors.events_after(self.visitor, last_id, limit))

        return await database_sync_to_async(load)()

    async def latest_event_id(self) -> int:
        return await database_sync_to_async(visitors.latest_event_id)(self.visitor)

    def resync_frame(self, newest: int) -> dict:
        return {"type": "resync", "id": newest}

    async def render_event(self, payload: dict) -> dict:
        payload = dict(payload)
        if payload.get("message_id") and "message" not in payload:  # a live event
            payload["message"] = await database_sync_to_async(actions.message_for_visitor)(
                self.visitor, payload["message_id"]
            )
        return payload

    async def _message(self, content):
        if not rate_limit(f"lc-msg:{self.visitor.pk}", *MESSAGE_LIMIT):
            await self._error(
                "rate_limited",
                _("You are sending messages too fast; wait a minute and try again."),
                content.get("client_id"),
            )
            return
        message, _created = await database_sync_to_async(actions.do_visitor_message)(
            self.inbox,
            self.visitor,
            self.claims,
            str(content.get("text") or ""),
            client_id=content.get("client_id"),
        )
        view = await database_sync_to_async(actions.message_for_visitor)(self.visitor, message.pk)
        await self.send_json({"type": "ack", "client_id": content.get("client_id"), "message": view})

    async def visitor_event(self, message):
        await self.live_event(message)

    async def visitor_signal(self, message):
        if self.ready:
            await self.send_json({"type": "signal", "event": message["event"]})

    async def _error(self, code: str, text: str, client_id=None) -> None:
        await self.send_json({"type": "error", "code": code, "message": text, "client_id": client_id})
