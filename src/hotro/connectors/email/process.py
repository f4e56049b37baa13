"""Storing one parsed e-mail: threading against the database, participants, noise, bounces, the
per-sender limits, suspension on signs of fraud and the optional automatic acknowledgement.

Runs inside the raw event's processing (``EmailConnector.receive``), in the workspace's scope and a
transaction; idempotent on the message's Message-ID per inbox.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.connectors.delivery import schedule_delivery
from hotro.connectors.models import Delivery, DeliveryStatus
from hotro.contacts.actions import LOOK_UP, do_resolve_contact, find_identity
from hotro.contacts.models import IdentityStatus, SuppressionReason
from hotro.contacts.suppression import do_suppress, is_suppressed
from hotro.conversations.actions import do_create_conversation, do_receive_message, history
from hotro.conversations.actions.reply import queue_outbound
from hotro.conversations.models import Message, MessageStatus
from hotro.realtime.events import send_event_on_commit

from .config import EmailSettings, load_settings
from .inbound import EmailInbound
from .models import KnownMessageId, SenderEvent
from .store import DbLookups, add_participants, address_index, find_known, remember_message_id
from .threading import ThreadPolicy, choose_thread

log = logging.getLogger(__name__)
WINDOW = timedelta(hours=1)


def count_recent(inbox, idx: int, kind: str, now=None) -> int:
    now = now or timezone.now()
    return SenderEvent.objects.filter(inbox=inbox, address_bidx=idx, kind=kind, at__gte=now - WINDOW).count()


def count_event(inbox, idx: int, kind: str) -> None:
    now = timezone.now()
    SenderEvent.objects.create(
        workspace_id=inbox.workspace_id, inbox=inbox, address_bidx=idx, kind=kind, at=now
    )
    if now.second == 0:  # now and then, forget what no window looks at any more
        SenderEvent.objects.filter(inbox=inbox, at__lt=now - 24 * WINDOW).delete()


def receive_email(inbox, inbound: EmailInbound, *, released: bool = False) -> tuple[Message | None, str]:
    """Store one e-mail.  Returns ``(message, outcome)`` with outcome ``created``, ``duplicate``,
    ``quarantined`` or ``dropped`` (automatic mail over the per-sender limit: a loop)."""
    from . import fraud

    # No savepoint of its own: nothing catches an error inside, the caller's transaction rolls back.
    with transaction.atomic(savepoint=False):
        existing = Message.objects.filter(inbox=inbox, external_id=inbound.external_id).first()
        if existing is not None:
            return existing, "duplicate"
        cfg = load_settings(inbox)
        parsed = inbound.parsed
        noise = parsed.noise
        automatic = noise.suppress_auto_ack
        lookups = DbLookups(inbox)
        lookups.preload([parsed.message_id, *parsed.thread_ids, *parsed.original_message_ids])
        other = continuation(inbox)
        choose = other.choose_thread if other is not None else choose_thread
        decision = choose(parsed, lookups, policy=ThreadPolicy(cfg.reopen_days))
        if decision.action == "duplicate":
            return None, "duplicate"
        idx = address_index(inbox.workspace_id, inbound.sender_address)

        if (
            automatic
            and not noise.is_bounce
            and count_recent(inbox, idx, SenderEvent.AUTOMATIC) >= cfg.auto_limit
        ):
            log.warning("inbox %s: automatic mail over the per-sender limit dropped (mail loop)", inbox.pk)
            return None, "dropped"
        found = LOOK_UP
        if not released and not noise.is_bounce:
            identity = found = find_identity(inbox.workspace_id, "email", inbound.sender_address)
            reasons = (
                []
                if identity and identity.status != IdentityStatus.ACTIVE
                else fraud.signals(inbox, cfg, parsed, idx)
            )
            if (identity and identity.status != IdentityStatus.ACTIVE) or reasons:
                fraud.quarantine(inbox, inbound, reasons, found=identity)
                return None, "quarantined"
        count_event(inbox, idx, SenderEvent.AUTOMATIC if automatic else SenderEvent.MAIL)

        identity, _created = do_resolve_contact(
            inbox.workspace_id,
            channel="email",
            address=inbound.sender_address,
            name=inbound.sender_name,
            email=inbound.sender_email,
            found=found,
        )
        conversation = decision.conversation
        if decision.action == "new":
            conversation = do_create_conversation(inbox, identity.contact, subject=parsed.subject)
            if decision.previous is not None:
                history.record(
                    conversation,
                    "follows_up",
                    previous_id=str(decision.previous.pk),
                    previous_number=decision.previous.number,
                )
        inbound.conversation_id = str(conversation.pk)
        inbound.reopen = not automatic
        inbound.extra["email"]["matched_by"] = decision.matched_by
        message, created = do_receive_message(
            inbox, inbound, identity=identity, conversation=conversation, checked=True
        )
        remember_message_id(inbox, message.conversation, parsed.message_id, KnownMessageId.IN, message)
        conversation = message.conversation
        if other is not None:
            other.received(inbox, message, created=created, automatic=automatic)
        elif not automatic:
            people = [(a, "from") for a in [parsed.from_] if a] + [(a, "to") for a in parsed.reply_to]
            people += [(a, "to") for a in parsed.to] + [(a, "cc") for a in parsed.cc]
            add_participants(conversation, people, exclude=cfg.own_addresses | {inbox_address(inbox)})
        if noise.is_bounce:
            mark_bounced(inbox, parsed, message)
        if (
            created
            and decision.action == "new"
            and cfg.auto_ack
            and not automatic
            and not released
            and not (parsed.from_ and is_suppressed(inbox.workspace_id, "email", parsed.from_.email))
        ):
            send_auto_ack(inbox, cfg, conversation, idx)
        return message, "created" if created else "duplicate"


def continuation(inbox):
    """For mail to another channel's inbox that continues its conversations by e-mail (live chat):
    the connector's ``email_continuation`` (``choose_thread`` like ``threading.choose_thread``, and
    ``received(inbox, message, created=, automatic=)`` instead of recording participants)."""
    if inbox.connector == "email":
        return None
    from ..registry import get_connector

    return getattr(get_connector(inbox.connector), "email_continuation", None)


def inbox_address(inbox) -> str:
    from .config import receiving_address_for

    return receiving_address_for(inbox.public_key)


def mark_bounced(inbox, parsed, bounce_message: Message) -> int:
    """Each failed report marks the delivery of the outgoing message it names failed, with the
    remote server's reason.  Returns how many deliveries were marked."""
    marked = 0
    for report in parsed.bounces:
        if report.action not in {"failed", ""} or report.status.startswith("4"):
            continue
        known = find_known(inbox.workspace_id, report.original_message_id)
        if known is None or known.message_id is None or known.direction != KnownMessageId.OUT:
            continue
        reason = _("The recipient's mail server refused the message (%(status)s): %(why)s") % {
            "status": report.status or "5.0.0",
            "why": (report.diagnostic or report.action or "no reason given")[:400],
        }
        Delivery.objects.filter(message_id=known.message_id).update(
            status=DeliveryStatus.FAILED, last_error=reason, claimed_until=None, next_attempt_at=None
        )
        if Message.objects.filter(pk=known.message_id).update(status=MessageStatus.FAILED):
            send_event_on_commit(
                inbox.workspace_id,
                {
                    "type": "message.status_changed",
                    "conversation_id": str(known.conversation_id),
                    "message_id": str(known.message_id),
                    "status": MessageStatus.FAILED,
                },
            )
        if report.recipient and report.status.startswith("5.1."):
            # the address does not exist: no more automatic mail to it (replies by people still go)
            do_suppress(inbox.workspace_id, "email", report.recipient, SuppressionReason.HARD_BOUNCE)
        extra = dict(bounce_message.extra or {})
        extra.setdefault("email", {})["bounce_of"] = str(known.message_id)
        bounce_message.extra = extra
        bounce_message.save(update_fields=["extra"])
        marked += 1
    return marked


def send_auto_ack(inbox, cfg: EmailSettings, conversation, idx: int) -> Message | None:
    """The automatic acknowledgement of a new request (``Auto-Submitted: auto-replied``), at most
    ``ack_limit`` per sender per hour."""
    if count_recent(inbox, idx, SenderEvent.ACK) >= cfg.ack_limit:
        return None
    count_event(inbox, idx, SenderEvent.ACK)
    text = cfg.auto_ack_text or _(
        "Thank you for writing to us. We have received your request and opened ticket #%(number)s; "
        "we will answer soon. Reply to this e-mail to add to it."
    )
    text = text.replace("{number}", str(conversation.number)) if "{number}" in text else text
    text = text % {"number": conversation.number} if "%(number)s" in text else text
    message, delivery = queue_outbound(conversation, text, extra={"auto": True})
    history.announce(conversation, "message.created", message_id=str(message.pk), direction=message.direction)
    schedule_delivery(delivery)
    return message
