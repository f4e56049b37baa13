"""The live-chat connector: agents' replies are pushed to the visitor's widget(s).

``send`` appends a ``message`` event to the stream of every visitor of the conversation (so a widget
that is closed or reconnecting gets it on resume), pushes it on the channel layer and marks the
message delivered."""

from __future__ import annotations

from django.db import transaction

from hotro.privacy.rls import tenant_scope
from hotro.realtime.events import send_event_on_commit

from ..base import Connector, ConnectorError, DeliveryResult
from . import visitors


class LiveChatConnector(Connector):
    key = "livechat"
    name = "Live chat"
    features = frozenset({"attachments", "typing", "read_receipts"})

    def send(self, delivery) -> DeliveryResult:
        from hotro.conversations.models import Message, MessageStatus

        message = delivery.message
        with tenant_scope(delivery.workspace_id), transaction.atomic():
            sent = visitors.record_event(message.conversation, "message", message=message)
            if not sent:
                raise ConnectorError(
                    "No chat visitor is linked to this conversation, so the reply cannot be shown to anyone.",
                    permanent=True,
                )
            if (
                Message.objects.filter(pk=message.pk)
                .exclude(status=MessageStatus.READ)
                .update(status=MessageStatus.DELIVERED)
            ):
                send_event_on_commit(
                    delivery.workspace_id,
                    {
                        "type": "message.status_changed",
                        "conversation_id": str(message.conversation_id),
                        "message_id": str(message.pk),
                        "status": MessageStatus.DELIVERED,
                    },
                )
        return DeliveryResult(external_id=f"lc-event:{sent[0][0]}")


def on_conversation_saved(sender, instance, update_fields=None, **kwargs) -> None:
    """Tell the visitors when their chat is resolved or reopened (the widget then asks for a rating)."""
    if update_fields is None or "status" not in update_fields:
        return
    if instance.inbox.connector != LiveChatConnector.key:
        return
    visitors.record_event(instance, "conversation", status=instance.status)
