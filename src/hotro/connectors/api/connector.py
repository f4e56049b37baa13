"""The API channel: a business's own systems post customer messages in and receive agent replies
as signed webhooks.  Wire format: docs/channels/api.md."""

from __future__ import annotations

import base64
import binascii
from types import SimpleNamespace

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hotro.privacy.rls import in_workspace

from ..base import (
    Connector,
    ConnectorError,
    DeliveryResult,
    InboundAttachment,
    InboundMessage,
    InvalidSignature,
    MalformedEvent,
    UnreadableEvent,
)
from ..jsonbody import BadJson, check_value, load_object
from .client import post_webhook
from .signing import SIGNATURE_HEADER, SignatureError, verify_signature

EVENT_MESSAGE_CREATED = "message.created"


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    external_id: str = Field("", max_length=255)


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    filename: str = Field("attachment", max_length=255)
    content_type: str = Field("application/octet-stream", max_length=127)
    data_base64: str


class InboundPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")
    external_id: str = Field(min_length=1, max_length=255)
    contact: ContactIn
    text: str = Field("", max_length=50_000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _needs_sender_and_content(self):
        if not (self.contact.external_id or self.contact.email or self.contact.phone):
            raise ValueError("contact needs an external_id, email or phone")
        if not self.text.strip() and not self.attachments:
            raise ValueError("a message needs text or attachments")
        return self


# The rules this module states itself (``model_validator`` above): fixed sentences, safe to repeat.
OWN_RULES = {"value_error"}


def describe_errors(exc: ValidationError) -> str:
    """Validation errors as words: where (the field path) and what kind of error, never the submitted
    value (it may be personal data).  Only the rules this module states in its own words are quoted."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        where = ".".join(str(x) for x in error["loc"]) or "body"
        kind = error["msg"].removeprefix("Value error, ") if error["type"] in OWN_RULES else error["type"]
        parts.append(f"{where}: {kind}")
    return "; ".join(parts)


def parse_payload(payload: str | bytes | dict) -> InboundPayload:
    """Validate an inbound API payload; raises ``MalformedEvent`` saying what is wrong (never quoting
    the content).  The JSON rules of every public door apply (``jsonbody``): one object, no NUL
    characters, at most 32 levels deep."""
    try:
        if isinstance(payload, dict):
            check_value(payload)
            data = payload
        else:
            data = load_object(payload)
    except BadJson as exc:
        raise UnreadableEvent(str(exc)) from None
    try:
        return InboundPayload.model_validate(data)
    except ValidationError as exc:
        raise MalformedEvent(describe_errors(exc)) from None


class ApiConnector(Connector):
    key = "api"
    name = "API"
    features = frozenset({"attachments", "webhooks"})

    def verify(self, request, inbox) -> None:
        secret = (inbox.credentials or {}).get("webhook_secret")
        if not secret:
            raise InvalidSignature("This inbox has no signing secret.")
        try:
            verify_signature(secret, request.headers.get(SIGNATURE_HEADER), request.body)
        except SignatureError as exc:
            raise InvalidSignature(str(exc)) from exc

    def event_id(self, request, payload: str) -> str:
        try:
            external_id = load_object(payload).get("external_id")
        except BadJson:
            external_id = None
        if isinstance(external_id, str) and external_id:
            return external_id
        return super().event_id(request, payload)

    def refusal(self, payload: str) -> MalformedEvent | None:
        """The integrator's own system sent it: say at once what is wrong (it is kept as well)."""
        try:
            self.parse(SimpleNamespace(payload=payload))
        except MalformedEvent as exc:
            return exc
        return None

    def parse(self, raw_event) -> list[InboundMessage]:
        data = parse_payload(raw_event.payload)
        attachments = []
        for number, item in enumerate(data.attachments):
            try:
                content = base64.b64decode(item.data_base64, validate=True)
            except (binascii.Error, ValueError):  # the position, never the file name (personal data)
                raise MalformedEvent(f"attachments.{number}.data_base64: not valid base64") from None
            attachments.append(InboundAttachment(item.filename, item.content_type, content))
        contact = data.contact
        return [
            InboundMessage(
                external_id=data.external_id,
                channel=self.key,
                sender_address=contact.external_id or contact.email or contact.phone,
                text=data.text,
                sender_name=contact.name,
                sender_email=contact.email,
                sender_phone=contact.phone,
                attachments=attachments,
            )
        ]

    @in_workspace("delivery")
    def send(self, delivery) -> DeliveryResult:
        inbox = delivery.inbox
        url = (inbox.settings or {}).get("webhook_url")
        secret = (inbox.credentials or {}).get("webhook_secret")
        if not url or not secret:
            raise ConnectorError(
                _("This API inbox has no webhook URL or secret; set them in the inbox settings."),
                permanent=True,
            )
        post_webhook(url, secret, str(delivery.pk), EVENT_MESSAGE_CREATED, build_body(delivery))
        return DeliveryResult(external_id=str(delivery.pk))


def build_body(delivery) -> dict:
    """The JSON body of a ``message.created`` webhook (see docs/channels/api.md)."""
    from hotro.conversations.models import Direction, Message

    message = delivery.message
    conversation = message.conversation
    last_inbound = (
        Message.objects.filter(
            conversation=conversation, direction=Direction.INBOUND, sender_identity__channel="api"
        )
        .select_related("sender_identity")
        .order_by("-created_at")
        .first()
    )
    contact_external_id = last_inbound.sender_identity.address if last_inbound else ""
    return {
        "id": str(delivery.pk),
        "event": EVENT_MESSAGE_CREATED,
        "conversation": {"id": str(conversation.pk), "number": conversation.number},
        "message": {
            "id": str(message.pk),
            "text": message.text or "",
            "created_at": message.created_at.isoformat(),
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                for a in message.attachments.order_by("created_at")
            ],
        },
        "contact": {"external_id": contact_external_id},
    }
