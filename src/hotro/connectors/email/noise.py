"""Mail that is not a person writing: auto-replies, out-of-office, bulk/list mail, bounces, receipts.

Such mail is recorded but never acknowledged automatically (RFC 3834), and bounces are tied to the
outgoing message they report (RFC 3464 delivery-status, plus the common non-standard bodies).
"""

from __future__ import annotations

import email
import email.policy
import quopri
import re
from dataclasses import dataclass, field, replace
from email.message import Message
from typing import TYPE_CHECKING

from .charsets import decode_bytes
from .headers import Headers, header_list, normalize_message_id, parse_addresses
from .mime import lenient_b64

if TYPE_CHECKING:
    from .parse import ParsedEmail

_PRECEDENCE_AUTO = {"auto_reply", "bulk", "junk", "list"}
_PRECEDENCE_BULK = {"bulk", "list", "junk"}
# Exchange stamps these on mail it merely relays (forwarding rules): they say nothing about a robot author.
_EXCHANGE_RELAY_SOURCES = {"mailbox rules agent", "transport rule agent"}
_OOO_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:"
    r"out of (?:the )?office(?: autoreply| auto[- ]reply)?\s*[:\-–]|out of (?:the )?office\s*$|"
    r"automatic reply\s*:|auto(?:matic)?[- ]?(?:reply|response|antwort)\s*:|autoreply\b|"
    r"(?:trả lời|phản hồi|hồi âm) tự động|tự động trả lời|vắng mặt\s*[:\-–]|vắng mặt\s*$|"
    r"thư trả lời tự động|réponse automatique|abwesenheitsnotiz|自動応答|自動返信|不在"
    r")",
    re.IGNORECASE,
)
_VACATION = re.compile(r"vacation|holiday|nghỉ phép|kỳ nghỉ", re.IGNORECASE)
_NOREPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?|notifications?)(?:[+\-.][^@]*)?@",
    re.IGNORECASE,
)
_DAEMON = re.compile(r"^(?:mailer[-_.]?daemon|postmaster|mail[-_.]?delivery[^@]*)@", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|delivery (?:has )?fail|failure notice|returned mail|"
    r"mail delivery (?:failed|failure|system)|non[- ]?delivery|could not be delivered|returned to sender|"
    r"delivery incomplete|warning: message .* delayed|không thể gửi|không gửi được|"
    r"gửi (?:thư )?không thành công|"
    r"thư không (?:thể )?(?:được )?gửi|trả lại thư",
    re.IGNORECASE,
)
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_ADDR = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_LIST_INTRO = re.compile(
    r"following address(?:es|\(es\))? failed|following recipients? (?:cannot|could not) be reached|"
    r"following recipient\(s\) cannot be reached|delivery to the following recipients? failed|"
    r"could not be delivered to the following recipients?|"
    r"wasn't able to deliver your message to the following addresses",
    re.IGNORECASE,
)
_LISTED_ADDRESS = re.compile(r"^[ \t]*<?(" + _ADDR + r")>?:?(?:[ \t]+on [^\n]*)?[ \t]*$", re.MULTILINE)
_INLINE_RECIPIENT = [
    re.compile(
        r"(?:wasn't|was not|couldn't be|could not be|has not been) delivered to\s*:?\s*<?(" + _ADDR + ")",
        re.I,
    ),
    re.compile(r"your message to\s*<?(" + _ADDR + r")>?\s*(?:couldn't|could not|cannot|can't)", re.I),
    re.compile(
        r"(?:không thể gửi|không gửi được|không thể chuyển)[^\n<@]*?(?:tới|đến)\s*:?\s*<?(" + _ADDR + ")",
        re.I,
    ),
    re.compile(r"^<(" + _ADDR + r")>:\s*$", re.M),
    re.compile(r"RCPT TO:\s*<(" + _ADDR + ")>", re.I),
    re.compile(
        r"(?:delivery to|recipient)\s*:?\s*<?(" + _ADDR + r")>?\s+(?:failed|has failed|was rejected)", re.I
    ),
]
_QUOTED_MSGID = re.compile(r"^[ \t>]*Message-ID:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_DELAY = re.compile(
    r"\bdelay|will (?:be )?retr|still trying|not yet been delivered|tạm hoãn|đang thử lại", re.I
)


@dataclass(frozen=True)
class BounceReport:
    original_message_id: str  # the Message-ID of our outgoing mail ("" if the bounce did not quote it)
    recipient: str
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # RFC 3463 "5.1.1" ("" when unknown)
    diagnostic: str  # the remote server's words, for the agent

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and not self.status.startswith("4")


@dataclass
class Noise:
    is_auto_reply: bool = False
    is_out_of_office: bool = False
    is_bulk: bool = False
    is_bounce: bool = False
    is_read_receipt: bool = False
    is_noreply_sender: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def suppress_auto_ack(self) -> bool:
        """Never answer this automatically (RFC 3834 §2 and loop prevention)."""
        return any(
            (self.is_auto_reply, self.is_bulk, self.is_bounce, self.is_read_receipt, self.is_noreply_sender)
        )


def _to_message(message: Message | bytes) -> Message:
    if isinstance(message, bytes | bytearray):
        return email.message_from_bytes(bytes(message), policy=email.policy.compat32)
    return message


def classify(message: ParsedEmail | Message | bytes) -> Noise:
    """Flags for a message (a ``ParsedEmail`` already carries them: they are returned as they are)."""
    if hasattr(message, "noise"):
        return message.noise
    msg = _to_message(message)
    headers = Headers(header_list(msg))
    return classify_parts(headers, msg.get_content_type(), msg.get_param("report-type") or "", None, msg)


def classify_parts(
    headers: Headers,
    content_type: str,
    report_type: str,
    parsed: ParsedEmail | None = None,
    msg: Message | None = None,
) -> Noise:
    """Flags from headers, subject and MIME type (``parsed`` or ``msg`` supplies the bounce reports)."""
    noise = Noise()
    subject = headers.text("Subject")
    senders = parse_addresses(headers.get_all("From"))
    from_email = senders[0].email if senders else ""
    _auto_reply_signals(headers, subject, noise)
    if headers.has("List-Id") or headers.has("List-Unsubscribe"):
        noise.is_bulk = True
        noise.reasons.append("mailing list")
    if from_email and _NOREPLY.match(from_email):
        noise.is_noreply_sender = True
        noise.reasons.append("no-reply sender")
    report_type = report_type.lower()
    if (content_type == "multipart/report" and report_type == "disposition-notification") or (
        content_type == "message/disposition-notification"
    ):
        noise.is_read_receipt = True
        noise.reasons.append("read receipt")
    bounces = parsed.bounces if parsed is not None else (parse_dsn(msg) if msg is not None else [])
    is_dsn = content_type == "multipart/report" and report_type == "delivery-status"
    if is_dsn:
        noise.is_bounce = not bounces or any(b.action in {"failed", "delayed"} for b in bounces)
    else:
        noise.is_bounce = bool(bounces) or bool(_DAEMON.match(from_email) and _BOUNCE_SUBJECT.search(subject))
    if noise.is_bounce:
        noise.is_auto_reply = True
        noise.reasons.append("delivery failure report")
    return noise


def _auto_reply_signals(headers: Headers, subject: str, noise: Noise) -> None:
    reasons = noise.reasons

    def auto(reason: str, *, ooo: bool = False) -> None:
        noise.is_auto_reply = True
        noise.is_out_of_office = noise.is_out_of_office or ooo
        reasons.append(reason)

    auto_submitted = headers.get("Auto-Submitted").strip().lower()
    kind = auto_submitted.split(";")[0].split("(")[0].strip()
    if kind and kind != "no":
        ooo = "vacation" in auto_submitted or "owner-email=" in auto_submitted
        auto(
            f"Auto-Submitted: {kind}", ooo=ooo or (kind == "auto-replied" and bool(_VACATION.search(subject)))
        )
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if headers.has(name) and headers.get(name).strip().lower() not in {"no", "false", "0"}:
            auto(name)
    for name in ("Precedence", "X-Precedence"):
        value = headers.get(name).strip().lower()
        if value in _PRECEDENCE_AUTO:
            auto(f"{name}: {value}")
        if value in _PRECEDENCE_BULK:
            noise.is_bulk = True
    if re.search(r"\ball\b", headers.get("X-Auto-Response-Suppress").lower()):
        auto("X-Auto-Response-Suppress: All", ooo=headers.has("X-MS-Exchange-Inbox-Rules-Loop"))
    source = headers.get("X-MS-Exchange-Generated-Message-Source").strip().lower()
    if source and source not in _EXCHANGE_RELAY_SOURCES:
        auto("generated by Exchange")
    if re.search(r"\b(yes|true)\b", headers.get("X-Loop"), re.IGNORECASE):
        auto("X-Loop")
    if "autoresponder" in headers.get("Delivered-To").lower():
        auto("Delivered-To: autoresponder")
    if headers.has("Return-Path") and normalize_message_id(headers.get("Return-Path")) == "":
        auto("empty envelope sender")
    if _OOO_SUBJECT.search(subject):
        auto("out-of-office subject", ooo=True)


# -- DSN -----------------------------------------------------------------------------------------


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        if isinstance(inner, list):
            return "\n\n".join(m.as_string() if isinstance(m, Message) else str(m) for m in inner)
        return str(inner or "")
    return decode_bytes(payload, part.get_content_charset()).text


def _field_blocks(part: Message) -> list[dict[str, str]]:
    """The per-message and per-recipient field groups of a message/delivery-status part."""
    inner = part.get_payload()
    blocks: list[dict[str, str]] = []
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding in {"base64", "quoted-printable"} and isinstance(inner, list):
        # Some MTAs encode the report; the parser then split the encoded text into bogus blocks.
        joined = "\n".join(m.as_string() if isinstance(m, Message) else str(m) for m in inner)
        data = (
            lenient_b64(joined)
            if encoding == "base64"
            else quopri.decodestring(joined.encode("ascii", "replace"))
        )
        return _text_blocks(decode_bytes(data).text)
    if isinstance(inner, list) and inner and all(isinstance(m, Message) for m in inner):
        for block in inner:
            blocks.append({name.lower(): value for name, value in header_list(block)})
        if any(blocks):
            return blocks
        blocks = []
    return _text_blocks(_part_text(part))


def _text_blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    text = text.replace("\r\n", "\n")
    for chunk in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        last = ""
        for line in chunk.split("\n"):
            if line[:1] in {" ", "\t"} and last:
                fields[last] += " " + line.strip()
            elif ":" in line:
                name, _, value = line.partition(":")
                last = name.strip().lower()
                fields[last] = value.strip()
        if fields:
            blocks.append(fields)
    return blocks


def _strip_type(value: str) -> str:
    """``rfc822; a@b`` -> ``a@b``."""
    return (
        value.split(";", 1)[1].strip().strip("<>").lower()
        if ";" in value
        else value.strip().strip("<>").lower()
    )


def _original_id(msg: Message) -> str:
    for part in msg.walk():
        kind = part.get_content_type()
        if kind in {"message/rfc822", "message/global"}:
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                mid = normalize_message_id(Headers(header_list(inner[0])).get("Message-ID"))
                if mid:
                    return mid
        if kind in {"text/rfc822-headers", "message/rfc822-headers", "message/global-headers"}:
            found = _QUOTED_MSGID.search(_part_text(part))
            if found:
                return normalize_message_id(found.group(1))
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            found = _QUOTED_MSGID.search(_part_text(part))
            if found:
                return normalize_message_id(found.group(1))
    return ""


def _standard_reports(msg: Message, original: str) -> list[BounceReport] | None:
    status_parts = [
        p
        for p in msg.walk()
        if p.get_content_type() in {"message/delivery-status", "message/global-delivery-status"}
    ]
    if not status_parts:
        return None
    reports = []
    for part in status_parts:
        for block in _field_blocks(part):
            recipient = block.get("final-recipient") or block.get("original-recipient")
            if not recipient:
                continue
            action = block.get("action", "").split("(")[0].strip().lower() or "failed"
            status = _STATUS.search(block.get("status", ""))
            reports.append(
                BounceReport(
                    original_message_id=original,
                    recipient=_strip_type(recipient),
                    action=action,
                    status=".".join(status.groups()) if status else "",
                    diagnostic=" ".join(block.get("diagnostic-code", "").split())[:500],
                )
            )
    return reports


def _looks_like_bounce(headers: Headers) -> bool:
    senders = parse_addresses(headers.get_all("From"))
    from_email = senders[0].email if senders else ""
    from_name = senders[0].name.lower() if senders else ""
    null_sender = headers.has("Return-Path") and normalize_message_id(headers.get("Return-Path")) == ""
    daemon = bool(_DAEMON.match(from_email)) or "mail delivery" in from_name or null_sender
    return daemon and bool(_BOUNCE_SUBJECT.search(headers.text("Subject")))


def _body_reports(msg: Message, original: str) -> list[BounceReport]:
    texts = [_part_text(p) for p in msg.walk() if p.get_content_type() == "text/plain"]
    if not texts:
        from .html import html_to_text

        texts = [html_to_text(_part_text(p)) for p in msg.walk() if p.get_content_type() == "text/html"]
    text = "\n".join(texts).replace("\r\n", "\n")
    recipients: list[str] = []
    listed = _LIST_INTRO.search(text)
    if listed:
        region = re.split(r"\n-{3,}|\n={3,}|copy of the message", text[listed.end() : listed.end() + 4000])[0]
        recipients = [found.lower() for found in _LISTED_ADDRESS.findall(region)]
    if not recipients:
        for pattern in _INLINE_RECIPIENT:
            found = pattern.search(text)
            if found:
                recipients.append(found.group(1).lower())
                break
    status_match = _STATUS.search(text)
    status = ".".join(status_match.groups()) if status_match else ""
    diagnostic = ""
    for line in text.split("\n"):
        if re.search(r"\b[45]\d\d[ \-]", line) or (status and status in line):
            diagnostic = " ".join(line.split())[:500]
            break
    delayed = status.startswith("4") or (not status.startswith("5") and bool(_DELAY.search(text)))
    action = "delayed" if delayed else "failed"
    unique = list(dict.fromkeys(recipients)) or [""]
    return [BounceReport(original, r, action, status, diagnostic) for r in unique]


def parse_dsn(message: ParsedEmail | Message | bytes) -> list[BounceReport]:
    """Bounce reports in a message: RFC 3464 delivery-status, or the plain-text bounces of Exim,
    qmail, Exchange, Gmail and others.  Empty for mail that is not a delivery report."""
    if hasattr(message, "bounces"):
        return list(message.bounces)
    try:
        msg = _to_message(message)
        # The original's Message-ID is searched for (every text part) only in a delivery report.
        standard = _standard_reports(msg, "")
        if standard is not None:
            original = _original_id(msg)
            return [replace(report, original_message_id=original) for report in standard]
        if msg.get_content_type() == "multipart/report":
            return []  # a read receipt or another report type
        if not _looks_like_bounce(Headers(header_list(msg))):
            return []
        return _body_reports(msg, _original_id(msg))
    except Exception:  # noqa: BLE001 - a broken bounce must not break ingestion
        return []
