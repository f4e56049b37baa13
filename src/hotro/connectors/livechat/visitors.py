"""Who a visitor is, which conversations they may see, and their event stream.

Visibility is decided here and only here: a visitor sees the conversations linked to *its own*
``Visitor`` row (``VisitorConversation``), never "all conversations of the contact" (an unverified
visitor who types someone's e-mail must not see that person's history: chatwoot#9493).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.utils import timezone

from hotro.privacy import keys
from hotro.privacy.rls import tenant_scope

from .models import Visitor, VisitorConversation, VisitorEvent, VisitorPresence

log = logging.getLogger(__name__)
CHANNEL = "livechat"
HEARTBEAT_SECONDS = 30  # an open socket renews its presence this often
SOCKET_PRESENCE_SECONDS = 90  # ... and counts as present this long after its last renewal
POLL_PRESENCE_SECONDS = 50  # a long-poll (at most 20 s) keeps the visitor present this long
POLL_KEY = "poll"


def key_digest(inbox, address: str) -> str:
    key = keys.index_key(inbox.workspace_id, "livechat-visitor")
    return hmac.new(key, f"{inbox.pk}|{address}".encode(), hashlib.sha256).hexdigest()


def group_for(visitor_id) -> str:
    """Channel-layer group of one visitor (all its open widgets, on every device)."""
    return f"livechat.{visitor_id}"


def get_or_create_visitor(inbox, claims, language: str = "") -> Visitor:
    digest = key_digest(inbox, claims.sender_address)
    with tenant_scope(inbox.workspace_id):
        visitor, _ = Visitor.objects.get_or_create(
            inbox=inbox,
            key_digest=digest,
            defaults={
                "workspace_id": inbox.workspace_id,
                "is_verified": bool(claims.verified_user_id),
                "language": language[:10],
            },
        )
    return visitor


def find_visitor(inbox, claims) -> Visitor | None:
    with tenant_scope(inbox.workspace_id):
        return Visitor.objects.filter(
            inbox=inbox, key_digest=key_digest(inbox, claims.sender_address)
        ).first()


def visible_conversation_ids(visitor: Visitor) -> list:
    return list(VisitorConversation.objects.filter(visitor=visitor).values_list("conversation_id", flat=True))


def link_conversation(visitor: Visitor, conversation) -> None:
    VisitorConversation.objects.get_or_create(
        visitor=visitor, conversation=conversation, defaults={"workspace_id": visitor.workspace_id}
    )


def visitors_of(conversation) -> list[Visitor]:
    return list(Visitor.objects.filter(links__conversation=conversation))


def record_event(
    conversation, kind: str, message=None, *, visitors=None, **data
) -> list[tuple[int, dict, str]]:
    """Append an event to the stream of every visitor of ``conversation`` (``visitors``: that list,
    when the caller has it already) and fan it out after commit.  Returns (event id, payload, group)
    for each visitor."""
    out = []
    for visitor in visitors_of(conversation) if visitors is None else visitors:
        row = VisitorEvent.objects.create(
            workspace_id=conversation.workspace_id,
            visitor=visitor,
            conversation=conversation,
            kind=kind,
            message=message,
            data=data,
        )
        payload = event_payload(row)
        out.append((row.id, payload, group_for(visitor.pk)))
    if out:
        transaction.on_commit(lambda: fan_out(out))
    return out


def event_payload(row: VisitorEvent) -> dict:
    return {
        "kind": row.kind,
        "conversation_id": str(row.conversation_id),
        "message_id": str(row.message_id) if row.message_id else None,
        **(row.data or {}),
    }


def fan_out(items) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_fan_out)(layer, items)
    except Exception:  # visitors replay on reconnect
        log.exception("livechat fan-out failed for events %s", [item[0] for item in items])


async def _fan_out(layer, items) -> None:
    """All of a batch's events in one event loop (``async_to_sync`` costs a thread per call)."""
    for event_id, payload, group in items:
        try:
            await layer.group_send(group, {"type": "visitor.event", "id": event_id, "event": payload})
        except Exception:  # one failed send must not hold back the others; visitors replay on reconnect
            log.exception("livechat fan-out failed for event %s", event_id)


def send_ephemeral(conversation, payload: dict) -> None:
    """Typing and similar signals: not stored, sent to the conversation's visitors now."""
    layer = get_channel_layer()
    if layer is None:
        return
    for visitor in visitors_of(conversation):
        async_to_sync(layer.group_send)(group_for(visitor.pk), {"type": "visitor.signal", "event": payload})


def events_after(visitor: Visitor, last_id: int, limit: int) -> list[tuple[int, dict]]:
    with tenant_scope(visitor.workspace_id):
        rows = VisitorEvent.objects.filter(visitor=visitor, id__gt=last_id).order_by("id")[:limit]
        return [(row.id, event_payload(row)) for row in rows]


def latest_event_id(visitor: Visitor) -> int:
    with tenant_scope(visitor.workspace_id):
        return (
            VisitorEvent.objects.filter(visitor=visitor).order_by("-id").values_list("id", flat=True).first()
            or 0
        )


def touch(visitor: Visitor, language: str = "") -> None:
    """The visitor loaded the widget (in ``language``: e-mailed replies follow the latest one)."""
    changes = {"last_seen_at": timezone.now()}
    if language and language[:10] != visitor.language:
        changes["language"] = visitor.language = language[:10]
    with tenant_scope(visitor.workspace_id):
        Visitor.objects.filter(pk=visitor.pk).update(**changes)


# -- presence: is the visitor in the chat right now? ----------------------------------------------


def mark_present(visitor: Visitor, key: str, seconds: int) -> None:
    """An open widget of ``visitor`` (socket channel name, or ``POLL_KEY``) is alive for ``seconds``."""
    key, now = key[:200], timezone.now()
    until = now + timedelta(seconds=seconds)
    with tenant_scope(visitor.workspace_id):
        if VisitorPresence.objects.filter(visitor=visitor, key=key).update(expires_at=until):
            return
        VisitorPresence.objects.filter(visitor=visitor, expires_at__lt=now).delete()  # left by a crash
        try:
            with transaction.atomic():
                VisitorPresence.objects.create(
                    workspace_id=visitor.workspace_id, visitor=visitor, key=key, expires_at=until
                )
        except IntegrityError:  # the same widget raced itself
            VisitorPresence.objects.filter(visitor=visitor, key=key).update(expires_at=until)
        Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=now)


def mark_absent(visitor: Visitor, key: str) -> None:
    """The widget ``key`` closed (its socket disconnected)."""
    with tenant_scope(visitor.workspace_id):
        VisitorPresence.objects.filter(visitor=visitor, key=key).delete()
        Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=timezone.now())


def anyone_present(conversation) -> bool:
    """Whether a visitor of ``conversation`` has the chat open right now (socket or long-poll)."""
    return VisitorPresence.objects.filter(
        visitor__links__conversation=conversation, expires_at__gt=timezone.now()
    ).exists()
