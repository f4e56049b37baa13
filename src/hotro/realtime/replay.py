"""Replay-then-stream for websocket consumers: stored events after the client's last id, in order,
then the live ones, with nothing lost, reordered or sent twice.

A consumer joins its group *before* reading the backlog; live events arriving meanwhile are held in
``pending`` and sent after the replay.  Events are deduplicated by id (a bounded set of the ids
sent).  When more than ``max_replay`` events were missed, the client gets a resync frame instead and
continues from the newest id.

A consumer using ``ReplayingConsumer`` implements ``events_after`` and ``latest_event_id`` (async),
``resync_frame`` and, if events need more than their stored payload, ``render_event``.
"""

from __future__ import annotations

MAX_REPLAY = 500
SEEN_LIMIT = 2000


class ReplayingConsumer:
    max_replay = MAX_REPLAY
    seen_limit = SEEN_LIMIT

    def start_replay_state(self) -> None:
        """Call in ``connect``, before joining the group."""
        self.ready = False
        self.pending: list[dict] = []
        self.sent: set[int] = set()

    # --- for the consumer to provide ------------------------------------------------------------
    async def events_after(self, last_id: int, limit: int) -> list[tuple[int, dict]]:
        raise NotImplementedError

    async def latest_event_id(self) -> int:
        raise NotImplementedError

    def resync_frame(self, newest: int) -> dict:
        raise NotImplementedError

    async def render_event(self, payload: dict) -> dict:
        """The event as sent to the client (default: as stored)."""
        return payload

    # --- shared ---------------------------------------------------------------------------------
    async def replay(self, resume_from) -> int:
        """Send the stored events after ``resume_from`` (``None``: none, only new ones), then the
        held live ones; afterwards live events stream directly.  Returns the last id covered."""
        if resume_from is None:
            last_id = await self.latest_event_id()
        else:
            try:
                last_id = max(int(resume_from), 0)
            except (TypeError, ValueError):
                last_id = 0
        backlog = await self.events_after(last_id, self.max_replay + 1)
        if len(backlog) > self.max_replay:
            newest = await self.latest_event_id()
            await self.send_json(self.resync_frame(newest))
            last_id = newest
        else:
            for event_id, payload in backlog:
                await self.send_event(event_id, payload)
                last_id = max(last_id, event_id)
        self.ready = True
        held, self.pending = sorted(self.pending, key=lambda m: m["id"]), []
        for message in held:
            if message["id"] > last_id:
                await self.send_event(message["id"], message["event"])
        return max([last_id, *self.sent] or [0])

    async def live_event(self, message: dict) -> None:
        """A group message ``{"id", "event"}``: held during the replay, sent after it."""
        if not self.ready:
            self.pending.append(message)
            return
        await self.send_event(message["id"], message["event"])

    async def send_event(self, event_id: int, payload: dict) -> None:
        if event_id in self.sent:
            return
        self.sent.add(event_id)
        if len(self.sent) > self.seen_limit:
            self.sent = set(sorted(self.sent)[-self.seen_limit // 2 :])
        await self.send_json({"id": event_id, "event": await self.render_event(payload)})
