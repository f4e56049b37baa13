"""Live chats continue by e-mail (Chatwoot's "conversation continuity", Intercom's e-mail replies).

Out.  ``LiveChatConnector.send`` asks ``email_copy_for``: an agent's reply is *also* e-mailed to the
visitor when the visitor is not in the chat (no open widget: ``visitors.anyone_present``), or when
the visitor is waiting for an answer by e-mail (their latest message came through the offline form
or by e-mail) -- provided the contact has an e-mail address that is not on the suppression list.
The mail is in the widget's language (the visitor's, else the inbox's, else Vietnamese), from
``DEFAULT_FROM_EMAIL`` under the inbox's name, with ``Reply-To: <public_key>@HOTRO_MAIL_DOMAIN``
(the inbox's receiving address, also the envelope sender so that bounces come back) and our signed
Message-ID.  It is a person's reply, so no
``Auto-Submitted``.

Exactly once.  The Message-ID of a reply's copy is derived from the message (HMAC), so every
attempt makes the same one; it is recorded (``KnownMessageId``, direction out) in the same
transaction as the send, together with the widget event and a ``livechat_emailed`` history entry.
A failed send raises ``ConnectorError`` and rolls all of that back (the delivery stays visible and
is retried); an attempt that finds the id recorded does not send again, and the delivery locks the
message row so two workers never send at once.  A crash after the mail server accepted the mail but
before the commit re-sends it with the same Message-ID, which mail clients show once.

In.  The SMTP receiver accepts mail to a live-chat inbox's receiving address (``receiver._lookup``)
and stores it as a raw event of that inbox; ``LiveChatConnector.parse``/``receive`` hand it to the
e-mail channel's processing (fraud rules, quarantine, limits, quote stripping, bounces) with this
module's ``choose_thread`` and ``received`` (``email.process.continuation``).  A reply threads into
the live chat it answers only when it names one of our Message-IDs (or a known one) of a
conversation *of this inbox* and comes from that conversation's contact; anything else starts a new
conversation in the inbox (or is quarantined by the fraud rules), never dropped.  A threaded reply
is added to the visitor's widget stream; automatic mail (auto-replies, bounces) is kept for agents
only.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from hotro.contacts.actions import find_identity
from hotro.contacts.models import ContactIdentity
from hotro.contacts.suppression import is_suppressed
from hotro.conversations.actions.history import record as record_history
from hotro.conversations.models import Direction, Message
from hotro.privacy import blind
from hotro.privacy.storage import open_file

from ..base import ConnectorError
from ..email import threading as email_threading
from ..email.config import receiving_address_for
from ..email.models import KnownMessageId
from ..email.outbound import _smtp_error, threading_headers
from ..email.store import message_id_secret, remember_message_id
from . import visitors

LANGUAGES = ("vi", "en")


# -- out: the e-mailed copy of an agent's reply ----------------------------------------------------


@dataclass(frozen=True)
class EmailCopy:
    address: str
    language: str


def visitor_email(conversation) -> str:
    """The contact's e-mail address (given in the pre-chat or offline form), or ""."""
    contact = conversation.contact
    if contact.email:
        return contact.email.strip()
    identity = ContactIdentity.objects.filter(contact=contact, channel="email").order_by("created_at").first()
    return (identity.address or "").strip() if identity else ""


def waiting_by_email(conversation) -> bool:
    """True when the visitor's latest message came through the offline form or by e-mail: they were
    told (or chose) to get the answer by e-mail, whether or not a widget is open."""
    latest = (
        Message.objects.filter(conversation=conversation, direction=Direction.INBOUND)
        .order_by("-created_at")
        .first()
    )
    if latest is None or not (latest.external_id or "").startswith("lc:"):
        return True
    return bool(((latest.extra or {}).get("livechat") or {}).get("offline"))


def language_for(inbox, conversation_visitors) -> str:
    """The widget's language: the most recently seen visitor's, else the inbox's, else Vietnamese."""
    recent = sorted(conversation_visitors, key=lambda v: v.last_seen_at or v.created_at, reverse=True)
    for visitor in recent:
        lang = (visitor.language or "")[:2].lower()
        if lang in LANGUAGES:
            return lang
    lang = (inbox.settings or {}).get("language") or ""
    return lang if lang in LANGUAGES else "vi"


def email_copy_for(message, conversation_visitors, inbox=None) -> EmailCopy | None:
    """Whether the agent's reply ``message`` is also e-mailed, to whom and in which language.
    ``inbox``: the conversation's inbox when the caller has it (the delivery's)."""
    conversation = message.conversation
    if not waiting_by_email(conversation) and visitors.anyone_present(conversation):
        return None  # the visitor is in the chat and sees the reply there
    address = visitor_email(conversation)
    if not address or is_suppressed(conversation.workspace_id, "email", address):
        return None
    return EmailCopy(address, language_for(inbox or conversation.inbox, conversation_visitors))


def message_id_for(message) -> str:
    """The signed Message-ID of ``message``'s e-mailed copy (no brackets); the same on every attempt."""
    workspace_id = message.workspace_id
    secret = message_id_secret(workspace_id)
    nonce = hmac.new(secret, f"livechat-mail|{message.pk}".encode(), hashlib.sha256).digest()[:10]
    mid = email_threading.make_message_id(
        workspace_id, message.conversation_id, secret, settings.HOTRO_MAIL_DOMAIN, nonce_bytes=nonce
    )
    return mid.strip("<>")


def business_name(inbox) -> str:
    from hotro.tenancy.models import Workspace

    return Workspace.objects.values_list("name", flat=True).get(pk=inbox.workspace_id)


def _agent_name(message) -> str:
    member = message.author
    if member is None:
        return ""
    return member.display_name or member.user.get_username().split("@")[0]


def build_email_copy(inbox, message, copy: EmailCopy, mid: str) -> EmailMessage:
    conversation = message.conversation
    attachments = list(message.attachments.order_by("created_at"))
    with translation.override(copy.language):
        business = business_name(inbox)
        agent = _agent_name(message)
        subject = _("Reply from %(business)s to your chat message") % {"business": business}
        if agent:
            intro = _("%(agent)s from %(business)s replied to your message in the chat on our web site:") % {
                "agent": agent,
                "business": business,
            }
        else:
            intro = _("%(business)s replied to your message in the chat on our web site:") % {
                "business": business
            }
        parts = [intro, "", message.text or ""]
        if attachments:
            parts += ["", _("Attached: %(files)s") % {"files": ", ".join(a.filename for a in attachments)}]
        parts += [
            "",
            _("You can answer by replying to this e-mail; your answer reaches us in the same conversation."),
            _("You receive this e-mail because this address was given in our chat."),
            "",
            "-- ",
            business,
        ]
    headers = {"Message-ID": f"<{mid}>", **threading_headers(conversation, mid)}
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    headers["From"] = formataddr((inbox.name, sender))
    mail = EmailMessage(
        subject=email_threading.add_subject_tag(subject, conversation.number),
        body="\n".join(parts) + "\n",
        # the envelope sender is the inbox's own address: bounces come back to hotro, fail the
        # delivery and suppress an address that does not exist (the From header stays the operator's)
        from_email=receiving_address_for(inbox.public_key),
        to=[copy.address],
        reply_to=[receiving_address_for(inbox.public_key)],
        headers=headers,
    )
    for attachment in attachments:
        mail.attach(
            attachment.filename,
            open_file(message.workspace_id, attachment.storage_key),
            attachment.content_type,
        )
    return mail


def send_email_copy(inbox, message, copy: EmailCopy) -> str:
    """E-mail ``message`` to the visitor once (an attempt that finds the copy recorded sends nothing);
    returns its Message-ID.  Raises ``ConnectorError`` when the mail server refuses or is away."""
    conversation = message.conversation
    mid = message_id_for(message)
    if not remember_message_id(inbox, conversation, mid, KnownMessageId.OUT, message):
        return mid
    mail = build_email_copy(inbox, message, copy, mid)
    try:
        mail.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise _smtp_error(
            exc,
            refused=_("The mail server refused the visitor's e-mail address (%(codes)s)."),
            refused_code="recipient_refused",
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ConnectorError(
            _("The e-mail copy of this reply could not be sent (%(error)s); it will be retried.")
            % {"error": type(exc).__name__}
        ) from None
    record_history(conversation, "livechat_emailed", message_id=str(message.pk))
    return mid


# -- in: the visitor's e-mail replies (called by the e-mail channel's processing) -----------------


def parse_mail(raw_event) -> list:
    """A raw event of a live-chat inbox is always a mail from the SMTP receiver."""
    from ..email.connector import EmailConnector

    return EmailConnector().parse(raw_event)


def is_the_visitor(conversation, sender: str) -> bool:
    """Whether ``sender`` is the conversation's contact (by its e-mail identity, else its e-mail)."""
    if not sender:
        return False
    contact = conversation.contact
    ours = {contact.pk, contact.merged_into_id} - {None}
    identity = find_identity(conversation.workspace_id, "email", sender)
    if identity is not None:
        return identity.contact_id in ours or identity.contact.merged_into_id in ours
    return bool(contact.email) and blind.normalize_email(contact.email) == blind.normalize_email(sender)


def choose_thread(parsed, lookups, *, policy):
    """``threading.choose_thread``, narrowed for a live-chat inbox: mail joins a conversation of this
    inbox only, and (bounces aside) only when it comes from that conversation's contact, because
    whatever joins is shown in the visitor's widget.  Otherwise: a new conversation."""
    decision = email_threading.choose_thread(parsed, lookups, policy=policy)
    conversation = decision.conversation
    if decision.action in {"duplicate", "new"} or conversation is None:
        return decision
    sender = parsed.from_.email if parsed.from_ else ""
    if conversation.inbox_id != lookups.inbox.pk:
        why = "the thread belongs to another inbox"
    elif decision.action != "bounce" and not is_the_visitor(conversation, sender):
        why = "the sender is not the chat's contact"
    else:
        return decision
    refused = [*decision.refused, f"{decision.matched_by}: {why}"]
    return email_threading.ThreadDecision(
        "new", None, "", "matches refused: " + ", ".join(refused), refused=refused
    )


def received(inbox, message, *, created: bool, automatic: bool) -> None:
    """A visitor's e-mail is stored: show it in their widget (automatic mail stays for agents)."""
    if created and not automatic:
        visitors.record_event(message.conversation, "message", message=message)


def shown_to_visitor(message) -> bool:
    """Automatic mail that joined a live chat (an auto-reply, a bounce) is for agents only."""
    if message.direction != Direction.INBOUND:
        return True
    mail = (message.extra or {}).get("email") or {}
    return not (mail.get("automatic") or mail.get("bounce"))
