"""Who a visitor is, which conversations they may see, and their event stream.

Visibility is decided here and only here: a visitor sees the conversations linked to *its own*
``Visitor`` row (``VisitorConversation``), never "all conversations of the contact" (an unverified
visitor who types someone's e-mail must not see that person's history: chatwoot#9493).
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from hotro.privacy import keys
from hotro.privacy.rls import tenant_scope

from .models import Visitor, VisitorConversation, VisitorEvent

log = logging.getLogger(__name__)
CHANNEL = "livechat"


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


def record_event(conversation, kind: str, message=None, **data) -> list[tuple[int, dict, str]]:
    """Append an event to the stream of every visitor of ``conversation`` and fan it out after
    commit.  Returns (event id, payload, group) for each visitor."""
    out = []
    for visitor in visitors_of(conversation):
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
    for event_id, payload, group in items:
        try:
            async_to_sync(layer.group_send)(
                group, {"type": "visitor.event", "id": event_id, "event": payload}
            )
        except Exception:  # visitors replay on reconnect
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


def touch(visitor: Visitor) -> None:
    with tenant_scope(visitor.workspace_id):
        Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=timezone.now())
