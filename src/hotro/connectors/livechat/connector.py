"""The live-chat connector: agents' replies are pushed to the visitor's widget(s), and e-mailed too
when the visitor is away or waiting for an answer by e-mail (``email_continuation``).

``send`` appends a ``message`` event to the stream of every visitor of the conversation (so a widget
that is closed or reconnecting gets it on resume), pushes it on the channel layer and marks the
message delivered; then, if the visitor is to get it by e-mail as well, sends that copy once.  Both
are recorded in the attempt's transaction: a retry after a failed e-mail neither records the widget
event again nor sends the e-mail twice.

Mail to the inbox's receiving address (the visitors' e-mail replies) arrives as raw events of this
inbox: ``parse`` and ``receive`` hand them to the e-mail channel's processing."""

from __future__ import annotations

from django.db import transaction

from hotro.privacy.rls import in_workspace, tenant_scope
from hotro.realtime.events import send_event_on_commit

from ..base import Connector, ConnectorError, DeliveryResult
from . import visitors


class LiveChatConnector(Connector):
    key = "livechat"
    name = "Live chat"
    features = frozenset({"attachments", "typing", "read_receipts"})

    @property
    def email_continuation(self):
        """Hooks for ``email.process``: how mail to this inbox is threaded and shown."""
        from . import email_continuation

        return email_continuation

    def parse(self, raw_event) -> list:
        from .email_continuation import parse_mail

        return parse_mail(raw_event)

    def receive(self, inbox, message):
        from ..email.process import receive_email

        return receive_email(inbox, message)

    @in_workspace("delivery")
    def send(self, delivery) -> DeliveryResult:
        from django.utils.translation import gettext as _

        from hotro.conversations.models import Message

        from .email_continuation import email_copy_for, send_email_copy
        from .models import VisitorEvent

        message = delivery.message
        with tenant_scope(delivery.workspace_id), transaction.atomic():
            # one attempt at a time per message (a worker whose lease ran out may still be at it)
            list(Message.objects.select_for_update().filter(pk=message.pk).values_list("pk", flat=True))
            conversation_visitors = visitors.visitors_of(message.conversation)
            event_id = (
                VisitorEvent.objects.filter(message=message, kind="message")
                .values_list("id", flat=True)
                .first()
            )
            if event_id is None and conversation_visitors:
                event_id = visitors.record_event(
                    message.conversation, "message", message=message, visitors=conversation_visitors
                )[0][0]
                _mark_delivered(delivery, message)
            copy = email_copy_for(message, conversation_visitors, delivery.inbox)
            if copy is None and not conversation_visitors:
                raise ConnectorError(
                    _(
                        "No chat visitor is linked to this conversation and there is no e-mail address "
                        "to send the reply to."
                    ),
                    permanent=True,
                )
            mid = send_email_copy(delivery.inbox, message, copy) if copy is not None else None
        external = f"lc-event:{event_id}" if event_id is not None else f"email:{mid}"
        return DeliveryResult(external_id=external, extra={"emailed": mid is not None})


def _mark_delivered(delivery, message) -> None:
    from hotro.conversations.models import Message, MessageStatus

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


def on_conversation_saved(sender, instance, update_fields=None, **kwargs) -> None:
    """Tell the visitors when their chat is resolved or reopened (the widget then asks for a rating)."""
    if update_fields is None or "status" not in update_fields:
        return
    if instance.inbox.connector != LiveChatConnector.key:
        return
    visitors.record_event(instance, "conversation", status=instance.status)
