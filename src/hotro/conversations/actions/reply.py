"""Agent replies (delivered on the conversation's channel) and internal notes (with @mentions)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.connectors.base import InboundAttachment
from hotro.connectors.models import Delivery
from hotro.privacy import blind
from hotro.privacy.rls import in_workspace
from hotro.tenancy.access import require_writer
from hotro.tenancy.models import Membership

from ..models import Conversation, Direction, Mention, Message, MessageStatus
from . import history
from .receive import store_attachments

MAX_TEXT = 50_000
MENTION = re.compile(r"(?<![\w.])@([\w.\-]+)", re.UNICODE)


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Write a message before sending."))
    if len(text) > MAX_TEXT:
        raise ValidationError(_("The message is too long (at most %(n)s characters).") % {"n": MAX_TEXT})
    return text


def check_send_reply(
    member: Membership, conversation: Conversation, text: str, attachments=(), *, public: bool = False
) -> Message:
    """Validate and send an agent reply.  ``public`` (channels with the ``public_replies`` feature,
    e.g. product comments) publishes the answer on the page instead of answering privately."""
    require_writer(member)
    if conversation.workspace_id != member.workspace_id:
        raise ValidationError("Conversation of another workspace.")
    extra = None
    if public:
        from hotro.connectors.registry import get_connector

        if not get_connector(conversation.inbox.connector).has_feature("public_replies"):
            raise ValidationError(_("This channel has no public replies."))
        extra = {"public": True}
    return do_send_reply(member, conversation, _clean_text(text), attachments, extra=extra)


@in_workspace("conversation")
def queue_outbound(
    conversation: Conversation, text: str, attachments=(), *, author=None, extra=None, now=None
) -> tuple[Message, Delivery]:
    """The outbound message (queued, with its attachments) and its Delivery, due ``now``; the caller
    announces it and schedules the delivery in the same transaction (``do_send_reply``, the e-mail
    channel's automatic acknowledgement)."""
    now = now or timezone.now()
    message = Message.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        inbox=conversation.inbox,
        direction=Direction.OUTBOUND,
        author=author,
        text=text,
        html=None,
        extra=extra,
        status=MessageStatus.QUEUED,
        search_tokens=blind.search_tokens(conversation.workspace_id, text),
        created_at=now,
    )
    store_attachments(
        message, [a if isinstance(a, InboundAttachment) else InboundAttachment(*a) for a in attachments]
    )
    delivery = Delivery.objects.create(
        workspace_id=conversation.workspace_id, inbox=conversation.inbox, message=message, next_attempt_at=now
    )
    return message, delivery


@in_workspace("conversation", atomic=True)
def do_send_reply(
    member: Membership | None, conversation: Conversation, text: str, attachments=(), *, extra=None
) -> Message:
    """Write the outbound message (queued) and its Delivery in one transaction; the delivery task
    runs after commit.  Sets first_response_at on the first reply."""
    from hotro.connectors.delivery import schedule_delivery

    now = timezone.now()
    message, delivery = queue_outbound(conversation, text, attachments, author=member, extra=extra, now=now)
    fields = ["last_activity_at"]
    conversation.last_activity_at = now
    if conversation.first_response_at is None:
        conversation.first_response_at = now
        fields.append("first_response_at")
    if member is not None and conversation.assignee_id is None:
        conversation.assignee = member
        fields.append("assignee")
        history.record(conversation, "assigned", actor=member, assignee_id=str(member.pk), reason="replied")
    conversation.save(update_fields=fields)
    history.record(conversation, "replied", actor=member, announce_it=False, message_id=str(message.pk))
    history.announce(
        conversation, "message.created", actor=member, message_id=str(message.pk), direction=message.direction
    )
    schedule_delivery(delivery)
    return message


def find_mentions(workspace_id, text: str) -> list[Membership]:
    handles = {h.lower().rstrip(".") for h in MENTION.findall(text)}
    if not handles:
        return []
    found = []
    for m in Membership.objects.filter(workspace_id=workspace_id, is_active=True).select_related("user"):
        names = {m.user.username.lower(), m.user.email.split("@")[0].lower()}
        if m.display_name:
            names.add(m.display_name.replace(" ", "").lower())
        if names & handles:
            found.append(m)
    return found


def check_add_note(member: Membership, conversation: Conversation, text: str) -> Message:
    require_writer(member)
    return do_add_note(member, conversation, _clean_text(text))


@in_workspace("conversation", atomic=True)
def do_add_note(member: Membership, conversation: Conversation, text: str) -> Message:
    message = Message.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        inbox=conversation.inbox,
        direction=Direction.NOTE,
        author=member,
        text=text,
        status=MessageStatus.SENT,
        search_tokens=blind.search_tokens(conversation.workspace_id, text),
        created_at=timezone.now(),
    )
    mentioned = find_mentions(conversation.workspace_id, text)
    for m in mentioned:
        Mention.objects.create(workspace_id=conversation.workspace_id, message=message, membership=m)
    history.record(
        conversation,
        "noted",
        actor=member,
        announce_it=False,
        message_id=str(message.pk),
        mentioned_ids=[str(m.pk) for m in mentioned],
    )
    history.announce(
        conversation,
        "message.created",
        actor=member,
        message_id=str(message.pk),
        direction=message.direction,
        mentioned_ids=[str(m.pk) for m in mentioned],
    )
    return message
