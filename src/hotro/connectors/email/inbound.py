"""Pure: one stored e-mail (a raw event) -> an ``EmailInbound`` for the processing step."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field

from ..base import InboundAttachment, InboundMessage, MalformedEvent
from .parse import ParsedEmail, parse_message


@dataclass
class EmailInbound(InboundMessage):
    """An ``InboundMessage`` that carries the parsed mail (for threading) and the raw bytes (for
    quarantine).  Neither is stored as such: ``extra["email"]`` holds what agents see."""

    parsed: ParsedEmail | None = None
    raw: bytes = b""
    envelope: dict = field(default_factory=dict)


def encode_raw(raw: bytes) -> str:
    """Raw mail as it is stored in ``RawEvent.payload`` (an encrypted text column)."""
    return base64.b64encode(raw).decode("ascii")


def decode_raw(payload: str) -> bytes:
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedEvent("The stored e-mail is not valid base64; it cannot be read.") from None


def external_id_for(parsed: ParsedEmail, raw: bytes) -> str:
    """Idempotency key of a message per inbox: its Message-ID (hashed), or the raw bytes' hash."""
    if parsed.message_id:
        return "mid:" + hashlib.sha256(parsed.message_id.encode("utf-8", "surrogatepass")).hexdigest()
    return "raw:" + hashlib.sha256(raw).hexdigest()


def describe(parsed: ParsedEmail) -> dict:
    """What agents see beside the text (stored encrypted in ``Message.extra``)."""
    noise = parsed.noise
    return {
        "message_id": parsed.message_id,
        "subject": parsed.subject,
        "date": parsed.date.isoformat() if parsed.date else "",
        "from": str(parsed.from_) if parsed.from_ else "",
        "to": [str(a) for a in parsed.to],
        "cc": [str(a) for a in parsed.cc],
        "reply_to": [str(a) for a in parsed.reply_to],
        "quoted_text": parsed.quoted_text,
        "full_text": parsed.text,
        "automatic": noise.suppress_auto_ack,
        "noise": noise.reasons,
        "bounce": [
            {"recipient": b.recipient, "action": b.action, "status": b.status, "diagnostic": b.diagnostic}
            for b in parsed.bounces
        ],
        "notes": parsed.truncated_notes,
        "defects": parsed.defects[:20],
        "remote_images_blocked": parsed.remote_images_blocked,
    }


def to_inbound(raw: bytes, *, max_attachment_bytes: int, max_total_bytes: int, envelope=None) -> EmailInbound:
    parsed = parse_message(raw, max_attachment_bytes=max_attachment_bytes, max_total_bytes=max_total_bytes)
    sender = parsed.from_ or parsed.sender
    address = sender.email if sender and sender.email else ""
    if not address:
        address = (envelope or {}).get("mail_from") or "unknown@invalid"
    text = parsed.new_text or parsed.text
    if parsed.truncated_notes:
        text = (text + "\n\n" + "\n".join(f"[{n}]" for n in parsed.truncated_notes)).strip()
    attachments = [
        InboundAttachment(a.filename, a.content_type, a.data, a.content_id)
        for a in parsed.attachments
        if not a.dropped
    ]
    return EmailInbound(
        external_id=external_id_for(parsed, raw),
        channel="email",
        sender_address=address.lower(),
        sender_name=sender.name if sender else "",
        sender_email=address.lower(),
        text=text,
        html=parsed.html,
        subject=parsed.subject,
        attachments=attachments,
        extra={"email": describe(parsed)},
        parsed=parsed,
        raw=raw,
        envelope=dict(envelope or {}),
    )
