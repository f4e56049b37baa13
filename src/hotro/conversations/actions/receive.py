"""Receiving a customer message from any channel."""

from __future__ import annotations

from dataclasses import replace

import nh3
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from hotro.connectors.base import InboundMessage, storable_id
from hotro.contacts.actions import do_resolve_contact
from hotro.privacy import blind
from hotro.privacy.rls import in_workspace
from hotro.tenancy.models import Workspace

from ..filetypes import clean_filename, stored_content_type
from ..models import Attachment, Conversation, Direction, Message, MessageStatus, Status
from . import history

OPEN_STATES = (Status.OPEN, Status.PENDING, Status.SNOOZED)
MAX_MERGE_HOPS = 20  # merges are locked against cycles; this bounds the walk regardless


@in_workspace("workspace_id")
def allocate_number(workspace_id) -> int:
    """The next per-workspace conversation number (row-locked counter; call inside a transaction).

    One ``UPDATE ... RETURNING`` (PostgreSQL, SQLite 3.35+) instead of an UPDATE and a SELECT."""
    # UPDATE ... RETURNING: PostgreSQL, and SQLite from 3.35 (the version that brought RETURNING on
    # INSERT too); not every backend returning from INSERT does it on UPDATE (MariaDB does not).
    returning = (
        connection.vendor in {"postgresql", "sqlite"} and connection.features.can_return_columns_from_insert
    )
    if not returning:  # update, then read
        Workspace.objects.filter(pk=workspace_id).update(
            next_conversation_number=F("next_conversation_number") + 1
        )
        return Workspace.objects.values_list("next_conversation_number", flat=True).get(pk=workspace_id) - 1
    meta, qn = Workspace._meta, connection.ops.quote_name
    column = qn(meta.get_field("next_conversation_number").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(meta.db_table)} SET {column} = {column} + 1 "
            f"WHERE {qn(meta.pk.column)} = %s RETURNING {column}",
            [meta.pk.get_db_prep_value(workspace_id, connection)],
        )
        row = cursor.fetchone()
    if row is None:
        raise Workspace.DoesNotExist("No workspace with this id.")
    return row[0] - 1


def sanitize_html(html: str) -> str:
    return nh3.clean(html, link_rel="noopener noreferrer nofollow") if html else ""


def find_open_conversation(inbox, contact, thread_id: str = "") -> Conversation | None:
    qs = Conversation.objects.filter(workspace_id=inbox.workspace_id, inbox=inbox, merged_into=None)
    if thread_id:
        return qs.filter(channel_thread_id=thread_id).order_by("-last_activity_at").first()
    return qs.filter(contact=contact, status__in=OPEN_STATES).order_by("-last_activity_at").first()


@in_workspace("inbox")
def do_create_conversation(
    inbox, contact, *, subject: str = "", thread_id: str = "", actor=None
) -> Conversation:
    now = timezone.now()
    conversation = Conversation.objects.create(
        workspace_id=inbox.workspace_id,
        number=allocate_number(inbox.workspace_id),
        inbox=inbox,
        contact=contact,
        subject=subject or None,
        team_id=inbox.team_id,
        channel_thread_id=thread_id,
        last_activity_at=now,
    )
    history.record(conversation, "created", actor=actor)
    return conversation


def store_attachments(message: Message, attachments) -> None:
    """Store the files encrypted; the type is what the bytes are (``filetypes``), never a label
    that cannot be stored or that a browser would run."""
    if not attachments:
        return
    from hotro.privacy.storage import save_file

    for item in attachments:
        if len(item.data) > _max_bytes():
            continue  # the caller notes the omission in the message text
        Attachment.objects.create(
            workspace_id=message.workspace_id,
            message=message,
            filename=clean_filename(item.filename),
            content_type=stored_content_type(item.content_type, item.data),
            size=len(item.data),
            storage_key=save_file(message.workspace_id, item.data),
            content_id=item.content_id,
        )


@in_workspace("inbox")
def do_receive_message(
    inbox, inbound: InboundMessage, *, identity=None, conversation=None, checked: bool = False
) -> tuple[Message, bool]:
    """Store one inbound customer message; idempotent on (inbox, external id).

    Returns ``(message, created)``.  Resolves the contact by blind index, threads into the open
    conversation of that contact (or the provider thread, or a conversation the connector chose),
    reopens a snoozed/resolved one per the thread, stores text/HTML/attachments encrypted and emits
    ``message.created`` after commit.

    A connector that has already done part of this in the same transaction passes it on: the
    sender's ``identity`` (from ``do_resolve_contact``), the ``conversation`` object it chose (the
    one ``inbound.conversation_id`` names), and ``checked=True`` when it has just looked for the
    external id itself.  The unique index still makes a racing duplicate return the stored one.
    Provider ids that a column cannot hold (control characters, over 255 characters) are stored as
    their hash (``storable_id``): whatever a connector accepted can be stored.
    """
    inbound = storable(inbound)
    if inbound.external_id and not checked:
        # exclude("") matches the partial unique index's condition, so even SQLite uses the index
        existing = _by_external_id(inbox, inbound.external_id)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            return _receive(inbox, inbound, identity, conversation), True
    except IntegrityError:
        existing = _by_external_id(inbox, inbound.external_id)
        if existing is None:
            raise
        return existing, False


def storable(inbound: InboundMessage) -> InboundMessage:
    """``inbound`` with its ids (message, thread, inline-image ids) fit for plain columns."""
    ids = (inbound.external_id, inbound.thread_id)
    if all(storable_id(v) == v for v in ids) and all(
        storable_id(a.content_id) == a.content_id for a in inbound.attachments
    ):
        return inbound
    return replace(
        inbound,
        external_id=storable_id(inbound.external_id),
        thread_id=storable_id(inbound.thread_id),
        attachments=[replace(a, content_id=storable_id(a.content_id)) for a in inbound.attachments],
    )


def _by_external_id(inbox, external_id: str) -> Message | None:
    return Message.objects.filter(inbox=inbox, external_id=external_id).exclude(external_id="").first()


def _receive(inbox, inbound: InboundMessage, identity=None, conversation=None) -> Message:
    workspace_id = inbox.workspace_id
    if identity is None:
        identity, _ = do_resolve_contact(
            workspace_id,
            channel=inbound.channel,
            address=inbound.sender_address,
            name=inbound.sender_name,
            email=inbound.sender_email,
            phone=inbound.sender_phone,
        )
    contact = identity.contact
    if conversation is not None and (
        str(conversation.pk) != str(inbound.conversation_id) or conversation.workspace_id != workspace_id
    ):
        conversation = None
    if conversation is None and inbound.conversation_id:
        conversation = Conversation.objects.filter(
            workspace_id=workspace_id, pk=inbound.conversation_id
        ).first()
    if conversation is None:
        conversation = find_open_conversation(inbox, contact, inbound.thread_id)
    if conversation is None:
        conversation = do_create_conversation(
            inbox, contact, subject=inbound.subject, thread_id=inbound.thread_id
        )
    for _hop in range(MAX_MERGE_HOPS):
        if not conversation.merged_into_id:
            break
        conversation = Conversation.objects.get(pk=conversation.merged_into_id)

    now = timezone.now()
    text = inbound.text
    skipped = [a.filename for a in inbound.attachments if len(a.data) > _max_bytes()]
    if skipped:
        text += "\n\n[" + ", ".join(skipped) + f": larger than {_max_bytes() // (1024 * 1024)} MB, not kept]"
    message = Message.objects.create(
        workspace_id=workspace_id,
        conversation=conversation,
        inbox=inbox,
        direction=Direction.INBOUND,
        sender_identity=identity,
        text=text,
        html=sanitize_html(inbound.html) or None,
        extra=inbound.extra or None,
        external_id=inbound.external_id,
        status=MessageStatus.RECEIVED,
        search_tokens=blind.search_tokens(workspace_id, f"{inbound.subject}\n{text}"),
        created_at=inbound.sent_at or now,
    )
    store_attachments(message, inbound.attachments)

    fields = ["last_activity_at"]
    conversation.last_activity_at = now
    if conversation.status != Status.OPEN and inbound.reopen:
        previous = conversation.status
        conversation.status, conversation.snoozed_until, conversation.resolved_at = Status.OPEN, None, None
        fields += ["status", "snoozed_until", "resolved_at"]
        history.record(conversation, "reopened", previous=previous, reason="customer_replied")
    conversation.save(update_fields=fields)
    history.announce(conversation, "message.created", message_id=str(message.pk), direction=message.direction)
    return message


def _max_bytes() -> int:
    from django.conf import settings

    return settings.HOTRO_MAX_ATTACHMENT_BYTES
