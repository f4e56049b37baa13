"""What a visitor can do: start a session, fill the pre-chat form, write, read, type, rate the chat.

Every function takes an already verified ``VisitorClaims`` (from the visitor token) and the inbox
the token was issued for; conversation ids a visitor names are checked against *its* visible
conversations.  Messages go in through ``do_receive_message`` inside a transaction: when these
functions return, the message is durable.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.contacts.actions import do_add_identity, do_resolve_contact, fill_contact, find_identity
from hotro.contacts.models import ContactIdentity
from hotro.conversations.actions import do_receive_message
from hotro.conversations.actions.history import record as record_history
from hotro.conversations.models import Conversation, Direction, Message, MessageStatus, Status
from hotro.privacy import blind
from hotro.privacy.rls import in_workspace, tenant_scope
from hotro.realtime.events import send_event_on_commit

from ..base import InboundMessage
from ..widget.identity import verify_identity
from ..widget.tokens import VisitorClaims, issue_visitor_token, new_visitor_id, read_visitor_token
from . import visitors
from .email_continuation import shown_to_visitor
from .inboxes import is_online
from .models import ConsentPurpose, ConsentRecord, CsatResponse, Visitor

MAX_TEXT = 5000
MAX_NAME = 120
MAX_COMMENT = 2000
OPEN = (Status.OPEN, Status.PENDING, Status.SNOOZED)


class IdentityRefused(PermissionDenied):
    """The user id / hash pair from the web site does not verify."""


def start_session(inbox, token: str | None, user_id: str = "", user_hash: str = "", language: str = ""):
    """Resolve the visitor for this widget load.  Returns ``(claims, token, visitor)``.

    - a verified identity (user id + valid HMAC) gives a token naming that user (history on any device);
    - a forged one raises ``IdentityRefused`` (nothing is created);
    - otherwise a valid token of this inbox is reused (same device), except when the inbox makes
      verification mandatory: then each unverified load is a new visitor with no history.
    """
    old = read_visitor_token(inbox, token)
    if user_id or user_hash:
        if not verify_identity(inbox, user_id, user_hash):
            raise IdentityRefused(_("The chat could not confirm who is signed in on this site."))
        visitor_id = old.visitor_id if old else new_visitor_id()
        claims = VisitorClaims(str(inbox.pk), visitor_id, user_id)
    elif old and (old.verified_user_id or not (inbox.settings or {}).get("identity_mandatory")):
        claims = old
    else:
        claims = VisitorClaims(str(inbox.pk), new_visitor_id(), None)
    visitor = visitors.get_or_create_visitor(inbox, claims, language)
    visitors.touch(visitor, language)
    return claims, issue_visitor_token(inbox, claims.visitor_id, claims.verified_user_id), visitor


def _clean_text(text: str, limit: int = MAX_TEXT) -> str:
    text = (text or "").replace("\x00", "").strip()
    if len(text) > limit:
        raise ValidationError(_("The message is too long (at most %(n)s characters).") % {"n": limit})
    return text


def _resolve_identity(inbox, visitor: Visitor, claims: VisitorClaims, name: str = "") -> ContactIdentity:
    """The visitor's contact identity; never joined to another contact by an unverified e-mail."""
    identity, _created = do_resolve_contact(
        inbox.workspace_id, channel=visitors.CHANNEL, address=claims.sender_address, name=name
    )
    if claims.verified_user_id and not identity.is_verified:
        identity.is_verified = True
        identity.save(update_fields=["is_verified"])
    if visitor.identity_id != identity.pk:
        visitor.identity = identity
        visitor.save(update_fields=["identity"])
    return identity


def current_conversation(visitor: Visitor) -> Conversation | None:
    return (
        Conversation.objects.filter(
            pk__in=visitors.visible_conversation_ids(visitor), status__in=OPEN, merged_into=None
        )
        .order_by("-last_activity_at")
        .first()
    )


@in_workspace("inbox")
def do_visitor_message(
    inbox, visitor: Visitor, claims: VisitorClaims, text: str, *, client_id: str, attachments=()
):
    """Store one visitor message (idempotent on ``client_id``); returns ``(message, created)``."""
    text = _clean_text(text)
    if not text and not attachments:
        raise ValidationError(_("Write a message before sending."))
    try:
        client_id = str(uuid.UUID(str(client_id)))
    except ValueError:
        raise ValidationError(_("The message has no valid id; reload the chat.")) from None
    with tenant_scope(inbox.workspace_id), transaction.atomic():
        _resolve_identity(inbox, visitor, claims)  # links the visitor to its identity
        conversation = current_conversation(visitor)
        online = is_online(inbox)
        inbound = InboundMessage(
            external_id=f"lc:{visitor.pk}:{client_id}",
            channel=visitors.CHANNEL,
            sender_address=claims.sender_address,
            text=text,
            attachments=list(attachments),
            thread_id="" if conversation else f"lc:{uuid.uuid4()}",
            conversation_id=str(conversation.pk) if conversation else None,
            extra={"livechat": {"offline": True}} if not online else {},
        )
        message, created = do_receive_message(inbox, inbound)
        if created:
            visitors.link_conversation(visitor, message.conversation)
            visitors.record_event(message.conversation, "message", message=message)
            if not online and conversation is None:
                record_history(message.conversation, "livechat_offline", continue_by="email")
    return message, created


@in_workspace("inbox")
def do_prechat(
    inbox,
    visitor: Visitor,
    claims: VisitorClaims,
    *,
    name="",
    email="",
    phone="",
    privacy_consent=False,
    marketing_consent=False,
) -> Visitor:
    """Record the pre-chat form: contact details (kept encrypted) and the two consents."""
    conf = (inbox.settings or {}).get("prechat") or {}
    name, email, phone = _clean_text(name, MAX_NAME), _clean_text(email, 254), _clean_text(phone, 40)
    required = set(conf.get("required") or [])
    if not is_online(inbox):
        required.add("email")  # offline mode: the answer comes by e-mail
    values = {"name": name, "email": email, "phone": phone}
    for field in required:
        if not values[field]:
            raise ValidationError(_("Please fill in %(field)s.") % {"field": _label(field)})
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(_("Enter a valid e-mail address.")) from None
    if phone and blind.normalize_phone(phone) is None:
        raise ValidationError(_("Enter a valid phone number."))
    if not privacy_consent:
        raise ValidationError(_("Please accept the privacy notice to start the chat."))
    version = str((inbox.settings or {}).get("privacy_text_version") or "1")
    with tenant_scope(inbox.workspace_id), transaction.atomic():
        identity = _resolve_identity(inbox, visitor, claims, name=name)
        contact = identity.contact
        fill_contact(contact, name=name, email=email, phone=phone)
        if email and find_identity(inbox.workspace_id, "email", email) is None:
            # the e-mail connector continues the conversation there (offline mode, follow-ups)
            do_add_identity(contact, "email", email, name)
        now = timezone.now()
        for purpose, granted in (
            (ConsentPurpose.PRIVACY_NOTICE, True),
            (ConsentPurpose.MARKETING, bool(marketing_consent)),
        ):
            ConsentRecord.objects.create(
                workspace_id=inbox.workspace_id,
                contact=contact,
                purpose=purpose,
                granted=granted,
                source=f"livechat:{inbox.pk}",
                text_version=version,
                at=now,
            )
        visitor.prechat_done = True
        visitor.save(update_fields=["prechat_done"])
    return visitor


def _label(field: str) -> str:
    return {"name": _("your name"), "email": _("your e-mail"), "phone": _("your phone number")}[field]


def visible_conversation(visitor: Visitor, conversation_id) -> Conversation:
    if str(conversation_id) not in {str(c) for c in visitors.visible_conversation_ids(visitor)}:
        raise PermissionDenied(_("This conversation is not yours."))
    return Conversation.objects.get(pk=conversation_id)


@in_workspace("visitor")
def do_visitor_read(visitor: Visitor, conversation_id) -> int:
    """The visitor has seen the agents' messages of a conversation: mark them read; returns how many."""
    with tenant_scope(visitor.workspace_id), transaction.atomic():
        conversation = visible_conversation(visitor, conversation_id)
        ids = list(
            Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND)
            .exclude(status__in=[MessageStatus.READ, MessageStatus.FAILED])
            .values_list("pk", flat=True)
        )
        if ids:
            Message.objects.filter(pk__in=ids).update(status=MessageStatus.READ)
            for pk in ids:
                send_event_on_commit(
                    visitor.workspace_id,
                    {
                        "type": "message.status_changed",
                        "conversation_id": str(conversation.pk),
                        "message_id": str(pk),
                        "status": MessageStatus.READ,
                    },
                )
    return len(ids)


def visitor_typing(visitor: Visitor, conversation_id, typing: bool) -> bool:
    """Tell agents the visitor is typing (at most one event per conversation every 3 s)."""
    with tenant_scope(visitor.workspace_id):
        conversation = visible_conversation(visitor, conversation_id)
        if typing and not cache.add(f"hotro:lc:typing:{conversation.pk}", 1, timeout=3):
            return False
        send_event_on_commit(
            conversation.workspace_id,
            {
                "type": "conversation.typing",
                "conversation_id": str(conversation.pk),
                "number": conversation.number,
                "inbox_id": str(conversation.inbox_id),
                "who": "contact",
                "typing": bool(typing),
            },
        )
    return True


@in_workspace("conversation")
def agent_typing(member, conversation, typing: bool = True) -> None:
    """Show the visitor that an agent is typing (called by the agent UI; nothing stored)."""
    visitors.send_ephemeral(
        conversation,
        {
            "kind": "typing",
            "conversation_id": str(conversation.pk),
            "typing": bool(typing),
            "agent": agent_view(member),
        },
    )


@in_workspace("visitor")
def do_csat(visitor: Visitor, conversation_id, rating, comment: str = "") -> CsatResponse:
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ValidationError(_("Choose a rating from 1 to 5."))
    comment = _clean_text(comment, MAX_COMMENT)
    with tenant_scope(visitor.workspace_id), transaction.atomic():
        conversation = visible_conversation(visitor, conversation_id)
        response, _created = CsatResponse.objects.update_or_create(
            conversation=conversation,
            defaults={
                "workspace_id": conversation.workspace_id,
                "inbox_id": conversation.inbox_id,
                "contact_id": conversation.contact_id,
                "assignee_id": conversation.assignee_id,
                "rating": rating,
                "comment": comment or None,
            },
        )
        record_history(conversation, "csat_received", rating=rating)
    return response


def agent_view(member) -> dict | None:
    if member is None:
        return None
    name = member.display_name or member.user.get_username().split("@")[0]
    initials = "".join(p[0] for p in name.split()[:2]).upper() or "?"
    return {"name": name, "initials": initials}


def message_view(message: Message) -> dict:
    """What the widget may show of a message (never internal notes); ``message`` comes from
    ``_messages_for_widget`` (its attachments prefetched in order)."""
    return {
        "id": str(message.pk),
        "conversation_id": str(message.conversation_id),
        "from": "visitor" if message.direction == Direction.INBOUND else "agent",
        "text": message.text or "",
        "at": message.created_at.isoformat(),
        "status": message.status,
        "client_id": (message.external_id or "").rsplit(":", 1)[-1]
        if message.direction == Direction.INBOUND and (message.external_id or "").startswith("lc:")
        else None,
        "via": "email" if (message.extra or {}).get("email") else "chat",
        "agent": agent_view(message.author) if message.direction == Direction.OUTBOUND else None,
        "attachments": [
            {"id": str(a.pk), "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments.all()  # ordered by _messages_for_widget's prefetch
        ],
    }


def _messages_for_widget(conversation_ids):
    """Messages of ``conversation_ids`` but notes, with what ``message_view`` reads (attachments
    prefetched in order).  ``extra`` is encrypted: ``shown_to_visitor`` is applied in Python."""
    from hotro.conversations.models import Attachment

    return (
        Message.objects.filter(
            conversation_id__in=conversation_ids, direction__in=[Direction.INBOUND, Direction.OUTBOUND]
        )
        .select_related("author__user")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("created_at")))
    )


def history(visitor: Visitor, limit: int = 200) -> dict:
    """The visitor's conversations and their latest messages (oldest first)."""
    with tenant_scope(visitor.workspace_id):
        ids = visitors.visible_conversation_ids(visitor)
        # the newest ``limit`` messages shown to the visitor (hidden ones do not count towards it)
        newest_first = _messages_for_widget(ids).order_by("-created_at", "-pk")
        messages, offset = [], 0
        while len(messages) < limit:
            batch = list(newest_first[offset : offset + limit])
            messages += [m for m in batch if shown_to_visitor(m)]
            if len(batch) < limit:
                break
            offset += limit
        messages = messages[:limit]
        conversations = {
            str(c.pk): {"id": str(c.pk), "status": c.status, "rated": False}
            for c in Conversation.objects.filter(pk__in=ids)
        }
        for cid in CsatResponse.objects.filter(conversation_id__in=ids).values_list(
            "conversation_id", flat=True
        ):
            conversations[str(cid)]["rated"] = True
        return {
            "conversations": list(conversations.values()),
            "messages": [message_view(m) for m in reversed(messages)],
            "last_event_id": visitors.latest_event_id(visitor),
        }


def message_for_visitor(visitor: Visitor, message_id) -> dict | None:
    return messages_for_visitor(visitor, [message_id]).get(str(message_id))


def messages_for_visitor(visitor: Visitor, message_ids) -> dict[str, dict]:
    """``message_view`` of those of ``message_ids`` the visitor may see, by message id (one batch)."""
    if not message_ids:
        return {}
    with tenant_scope(visitor.workspace_id):
        found = _messages_for_widget(visitors.visible_conversation_ids(visitor)).filter(pk__in=message_ids)
        return {str(m.pk): message_view(m) for m in found if shown_to_visitor(m)}


def render_events(visitor: Visitor, events) -> list[tuple[int, dict]]:
    """Stored ``(id, payload)`` events with the message each names, as the widget gets them."""
    views = messages_for_visitor(visitor, [p["message_id"] for _id, p in events if p.get("message_id")])
    out = []
    for event_id, stored in events:
        payload = dict(stored)
        if payload.get("message_id"):
            payload["message"] = views.get(payload["message_id"])
        out.append((event_id, payload))
    return out
