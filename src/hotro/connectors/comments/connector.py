"""The comments channel connector.

Inbound: a visitor's question (or comment, per the inbox's policy) is stored as a ``RawEvent``
(``comment:<id>``) when it is posted; ``parse`` turns it into an ``InboundMessage`` threaded by the
question (``thread_id = comment:<root id>``), so each question is its own conversation.

Outbound: an agent reply with ``Message.extra["public"] is True`` is published on the product page
under the business's name; any other reply goes privately to the commenter by e-mail.
"""

from __future__ import annotations

import json
import smtplib
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from hotro.privacy.rls import in_workspace

from ..base import Connector, ConnectorError, DeliveryResult, InboundMessage, MalformedEvent

KEY = "comments"
THREAD_PREFIX = "comment:"
MAX_SUBJECT = 200


def thread_id(root_id) -> str:
    return f"{THREAD_PREFIX}{root_id}"


class CommentsConnector(Connector):
    key = KEY
    name = "Product comments"
    features = frozenset({"threads", "public_replies", "moderation"})

    def parse(self, raw_event) -> list[InboundMessage]:
        try:
            data = json.loads(raw_event.payload)
            comment_id, root_id = data["comment_id"], data["root_id"]
            address, text = data["sender_address"], data["text"]
        except (ValueError, KeyError, TypeError):
            raise MalformedEvent(
                "A comment event needs comment_id, root_id, sender_address and text."
            ) from None
        product = data.get("product_title") or data.get("product_id") or ""
        label = _("Question about") if data.get("root_kind") == "question" else _("Comment on")
        url = data.get("product_url") or ""
        return [
            InboundMessage(
                external_id=f"{THREAD_PREFIX}{comment_id}",
                channel=self.key,
                sender_address=address,
                sender_name=data.get("name") or "",
                sender_email=data.get("email") or "",
                text=f"{text}\n\n[{label} {product}] {url}".rstrip(),
                subject=f"{label} {product}"[:MAX_SUBJECT],
                thread_id=thread_id(root_id),
                extra={
                    "product_url": url,
                    "product_id": data.get("product_id") or "",
                    "product_title": data.get("product_title") or "",
                    "comment_id": comment_id,
                    "kind": data.get("kind") or "comment",
                    "verified": bool(data.get("verified")),
                    "verified_buyer": bool(data.get("verified_buyer")),
                },
            )
        ]

    @in_workspace("delivery")
    def send(self, delivery) -> DeliveryResult:
        from hotro.privacy.rls import tenant_scope

        with tenant_scope(delivery.workspace_id):
            message = delivery.message
            root = find_root(message.conversation)
            if root is None:
                raise ConnectorError(
                    _(
                        "This conversation is not linked to a product comment any more; "
                        "it cannot be answered here."
                    ),
                    permanent=True,
                )
            if (message.extra or {}).get("public") is True:
                return publish_reply(root, message)
            return email_reply(delivery, root, message)


def find_root(conversation):
    from .models import Comment

    ref = conversation.channel_thread_id or ""
    if not ref.startswith(THREAD_PREFIX):
        return None
    return (
        Comment.objects.select_related("product", "product__inbox")
        .filter(workspace_id=conversation.workspace_id, pk=ref[len(THREAD_PREFIX) :])
        .first()
    )


def publish_reply(root, message) -> DeliveryResult:
    from .actions import ReplyRefused, do_publish_business_reply

    try:
        comment = do_publish_business_reply(root, message)
    except ReplyRefused as exc:
        raise ConnectorError(str(exc), permanent=True, code="question_hidden") from None
    return DeliveryResult(external_id=str(comment.pk), extra={"public": True})


def recipient_comment(root, message):
    """The comment the agent answers: the latest one in the conversation with an e-mail address."""
    from hotro.conversations.models import Direction, Message

    from .models import Comment

    inbound = Message.objects.filter(
        conversation_id=message.conversation_id,
        direction=Direction.INBOUND,
        created_at__lte=message.created_at,
    ).order_by("-created_at")
    for earlier in inbound[:50]:
        comment_id = (earlier.extra or {}).get("comment_id")
        comment = (
            Comment.objects.filter(workspace_id=root.workspace_id, pk=comment_id).first()
            if comment_id
            else None
        )
        if comment is not None and comment.author_email:
            return comment
    return root if root.author_email else None


def email_reply(delivery, root, message) -> DeliveryResult:
    target = recipient_comment(root, message)
    if target is None:
        raise ConnectorError(
            _(
                "There is no e-mail address to reply privately: the commenter left none. "
                "Reply in public instead."
            ),
            permanent=True,
            code="no_email",
        )
    from .actions import business_name

    product = root.product
    inbox = product.inbox
    sender = business_name(inbox)
    subject = _("Reply from %(business)s about %(product)s") % {
        "business": sender,
        "product": product.title or product.external_id,
    }
    body = f"{message.text or ''}\n\n-- \n{sender}\n{product.url}\n"
    from_email = (inbox.settings or {}).get("reply_from") or settings.DEFAULT_FROM_EMAIL
    email = EmailMessage(
        subject=subject[:MAX_SUBJECT],
        body=body,
        from_email=from_email if "<" in from_email else formataddr((sender, from_email)),
        to=[target.author_email],
        headers={"X-Hotro-Delivery": str(delivery.pk)},
    )
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused:
        raise ConnectorError(
            _("The mail server refused the commenter's e-mail address; reply in public instead."),
            permanent=True,
            code="recipient_refused",
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ConnectorError(
            _("The e-mail could not be sent (%(error)s); it will be retried.") % {"error": type(exc).__name__}
        ) from None
    return DeliveryResult(external_id=str(delivery.pk), extra={"public": False})
