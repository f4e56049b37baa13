"""Raw e-mail bytes -> :class:`ParsedEmail`: headers, bodies, attachments, noise flags.

Never raises on bad input: the result is the best effort, with ``defects`` saying what was wrong
and ``truncated_notes`` saying (in plain words, for the agent) what was cut by the size limits.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import mimetypes
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.policy import EmailPolicy
from email.utils import parsedate_to_datetime

from .charsets import decode_bytes
from .headers import (
    Address,
    Headers,
    decode_words,
    header_list,
    normalize_message_id,
    parse_addresses,
    parse_id_list,
)
from .html import html_to_text, sanitize_html
from .mime import payload_bytes, unflow
from .noise import BounceReport, Noise, classify_parts, parse_dsn
from .quotes import split_reply

# Headers that carry the original Message-ID when a relay rewrote it (Exchange, forwarders).
_ORIGINAL_ID_HEADERS = ("X-Microsoft-Original-Message-ID", "X-Original-Message-ID", "X-Forwarded-Message-Id")
_BODY_TYPES = {"text/plain", "text/html"}
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]"
)  # never stored (PostgreSQL refuses NUL)


class _ReadPolicy(EmailPolicy):
    """``email.policy.default`` that parses each header value once per message: the walk asks a part
    for its Content-Type (and parameters, charset, filename) many times, and every ``get`` would run
    the structured header parser again.  Header objects are immutable, so sharing them is safe."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        cache = _header_cache.get()
        if cache is None:
            return super().header_fetch_parse(name, value)
        key = (name, value)
        parsed = cache.get(key)
        if parsed is None:
            parsed = cache[key] = super().header_fetch_parse(name, value)
        return parsed


_READ_POLICY = _ReadPolicy()  # the same settings as email.policy.default
# the parsed headers of the message being parsed (None outside ``parse_message``: no caching)
_header_cache: ContextVar[dict | None] = ContextVar("hotro_email_header_cache", default=None)


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes
    size: int  # decoded size in bytes (also when ``data`` was dropped by a limit)
    content_id: str = ""  # without angle brackets
    inline: bool = False  # shown inside the HTML body (referenced by cid:)
    dropped: bool = False  # data not kept because of a size limit


@dataclass
class ParsedEmail:
    message_id: str = ""  # without angle brackets
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    original_message_ids: list[str] = field(default_factory=list)  # relay-rewritten / forwarded ids
    subject: str = ""
    from_: Address | None = None
    sender: Address | None = None
    reply_to: list[Address] = field(default_factory=list)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    html: str = ""  # sanitized; cid: image sources still to be rewritten by the caller
    text_from_html: bool = False  # ``text`` was rendered from the HTML body
    new_text: str = ""  # what the sender just wrote (quotes, signature, mobile footer removed)
    quoted_text: str = ""  # the rest: quoted history, signature, footer
    attachments: list[Attachment] = field(default_factory=list)
    remote_images_blocked: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    noise: Noise = field(default_factory=Noise)
    bounces: list[BounceReport] = field(default_factory=list)
    truncated_notes: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    size: int = 0  # raw size in bytes

    @property
    def thread_ids(self) -> list[str]:
        """In-Reply-To then References newest first: the order to try when threading."""
        ordered = list(self.in_reply_to) + list(reversed(self.references))
        return list(dict.fromkeys(ordered))

    @property
    def participants(self) -> list[Address]:
        """Everyone on the message (From, Reply-To, To, Cc), each address once."""
        seen: dict[str, Address] = {}
        for addr in ([self.from_] if self.from_ else []) + self.reply_to + self.to + self.cc:
            if addr.email and addr.email not in seen:
                seen[addr.email] = addr
        return list(seen.values())


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def _safe_filename(name: str, content_type: str, index: int) -> str:
    name = decode_words(name or "")
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).replace("\\", "/").rsplit("/", 1)[-1].strip(" .")
    if not name:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        base = {"message/rfc822": "forwarded-message", "text/calendar": "invite"}.get(
            content_type, "attachment"
        )
        name = f"{base}-{index}{ext}" if base == "attachment" else f"{base}{ext}"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot else name[:200]
    return name


class _Walker:
    def __init__(self, max_attachment_bytes: int, max_total_bytes: int, result: ParsedEmail):
        self.max_attachment = max_attachment_bytes
        self.max_total = max_total_bytes
        self.used = 0
        self.result = result
        self.texts: list[str] = []
        self.htmls: list[str] = []

    # -- helpers -------------------------------------------------------------------------------
    def defect(self, text: str) -> None:
        if text not in self.result.defects:
            self.result.defects.append(text)

    def payload_bytes(self, part: Message) -> bytes:
        payload = payload_bytes(part)
        for found in getattr(part, "defects", []) or []:
            self.defect(f"{part.get_content_type()}: {type(found).__name__}")
        if payload is None:
            inner = part.get_payload()
            if isinstance(inner, str):
                return inner.encode("utf-8", "surrogateescape")
            if isinstance(inner, list):  # message/delivery-status and other message/* bodies
                return b"\n".join(
                    m.as_bytes() if isinstance(m, Message) else bytes(str(m), "utf-8") for m in inner
                )
            return b""
        return payload

    def decode_text(self, part: Message) -> str:
        data = self.payload_bytes(part)
        decoded = decode_bytes(data, part.get_content_charset())
        if decoded.mislabelled:
            declared = part.get_content_charset() or "none"
            self.defect(f"charset label {declared!r} was wrong; decoded as {decoded.charset}")
        if decoded.lossy:
            self.defect("some characters could not be decoded and were replaced")
        text = _CONTROL.sub("", decoded.text.replace("\r\n", "\n").replace("\r", "\n"))
        if part.get_content_type() == "text/plain" and part.get_param("format", "").lower() == "flowed":
            text = unflow(text, delsp=part.get_param("delsp", "").lower() == "yes")
        return text

    def estimated_size(self, part: Message) -> int:
        raw = part.get_payload()
        if not isinstance(raw, str):
            return 0
        if part.get("Content-Transfer-Encoding", "").strip().lower() == "base64":
            return len(re.sub(r"\s+", "", raw)) * 3 // 4
        return len(raw)

    def add_body(self, kind: str, text: str) -> None:
        room = self.max_total - self.used
        size = len(text.encode("utf-8"))
        if size > room:
            keep = max(0, room)
            cut = text.encode("utf-8")[:keep].decode("utf-8", "ignore")
            if kind == "html":
                cut = ""  # half an HTML document is worse than none: the text version stays
            self.result.truncated_notes.append(
                f"The {'HTML' if kind == 'html' else 'text'} of this message was cut: it is "
                f"{_human_size(size)}, more than the {_human_size(self.max_total)} kept per message."
            )
            text = cut
            size = len(text.encode("utf-8"))
        self.used += size
        if text:
            (self.htmls if kind == "html" else self.texts).append(text)

    def add_attachment(self, part: Message, *, data: bytes | None = None) -> None:
        content_type = part.get_content_type()
        index = len(self.result.attachments) + 1
        try:
            raw_name = part.get_filename() or part.get_param("name") or ""
        except Exception:  # noqa: BLE001
            raw_name = ""
        if isinstance(raw_name, tuple):  # compat32 RFC 2231 triple
            raw_name = email.utils.collapse_rfc2231_value(raw_name)
        name = str(raw_name)
        if not name and content_type == "message/rfc822" and data is not None:
            inner = email.message_from_bytes(data, policy=email.policy.compat32)
            subject = Headers(header_list(inner)).text("Subject")
            name = f"{subject[:80]}.eml" if subject else ""
        filename = _safe_filename(name, content_type, index)
        content_id = normalize_message_id(str(part.get("Content-ID", "") or ""))
        estimate = self.estimated_size(part) if data is None else len(data)
        attachment = Attachment(filename, content_type, b"", estimate, content_id)
        if estimate > self.max_attachment or estimate > self.max_total - self.used:
            attachment.dropped = True
            limit = self.max_attachment if estimate > self.max_attachment else self.max_total
            what = "per attachment" if estimate > self.max_attachment else "per message"
            self.result.truncated_notes.append(
                f"Attachment “{filename}” ({_human_size(estimate)}) was not kept: "
                f"it is larger than the {_human_size(limit)} limit {what}."
            )
        else:
            payload = data if data is not None else self.payload_bytes(part)
            attachment.data, attachment.size = payload, len(payload)
            self.used += len(payload)
        self.result.attachments.append(attachment)

    # -- the walk ------------------------------------------------------------------------------
    def walk(self, part: Message, depth: int = 0) -> None:
        if depth > 30:
            self.defect("MIME nesting deeper than 30 levels; the rest was ignored")
            return
        content_type = part.get_content_type()
        maintype = part.get_content_maintype()
        disposition = (part.get_content_disposition() or "").lower()
        if maintype == "multipart":
            self.walk_multipart(part, content_type, depth)
        elif content_type in {"message/rfc822", "message/global"}:
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else None
            data = inner_msg.as_bytes() if inner_msg is not None else self.payload_bytes(part)
            self.add_attachment(part, data=data)
        elif (
            content_type in _BODY_TYPES
            and disposition != "attachment"
            and not (disposition == "inline" and part.get_filename())
        ):
            text = self.decode_text(part)
            if content_type == "text/html":
                self.add_body("html", text)
            else:
                self.add_body("text", text)
        else:
            self.add_attachment(part)

    def walk_multipart(self, part: Message, content_type: str, depth: int) -> None:
        children = part.get_payload()
        if not isinstance(children, list):
            self.defect(f"{content_type} without parts; read as text")
            self.add_body("text", self.decode_text(part))
            return
        if content_type == "multipart/alternative":
            self.walk_alternative(children, depth)
        elif content_type == "multipart/signed":
            if children:
                self.walk(children[0], depth + 1)
            for signature in children[1:]:
                self.add_attachment(signature)
        elif content_type == "multipart/related":
            start = normalize_message_id(part.get_param("start") or "")
            ordered = sorted(
                children,
                key=lambda c: 0 if start and normalize_message_id(c.get("Content-ID", "")) == start else 1,
            )
            if ordered:
                self.walk(ordered[0], depth + 1)
            for resource in ordered[1:]:
                if (
                    resource.get_content_maintype() == "multipart"
                    or resource.get_content_type() in _BODY_TYPES
                ):
                    self.walk(resource, depth + 1)
                else:
                    self.add_attachment(resource)
        else:  # mixed, report, digest, parallel, unknown multiparts
            for child in children:
                self.walk(child, depth + 1)

    def walk_alternative(self, children: list[Message], depth: int) -> None:
        """Keep the last (richest) text and HTML alternatives; others (a calendar) become attachments."""
        plain_index = html_index = None
        for index, child in enumerate(children):
            kind = child.get_content_type()
            if kind == "text/plain":
                plain_index = index
            elif kind == "text/html" or child.get_content_maintype() == "multipart":
                html_index = index
        for index, child in enumerate(children):
            if index in {plain_index, html_index}:
                self.walk(child, depth + 1)
            elif child.get_content_type() not in _BODY_TYPES:
                self.add_attachment(child)


def _parse_date(value: str, result: ParsedEmail) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        result.defects.append("the Date header could not be read")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _fill_headers(result: ParsedEmail, msg: Message) -> Headers:
    items = header_list(msg)
    result.headers = items
    headers = Headers(items)
    result.message_id = normalize_message_id(headers.get("Message-ID"))
    result.in_reply_to = parse_id_list(" ".join(headers.get_all("In-Reply-To")))
    result.references = parse_id_list(" ".join(headers.get_all("References")))
    for name in _ORIGINAL_ID_HEADERS:
        for value in headers.get_all(name):
            mid = normalize_message_id(value)
            if mid and mid != result.message_id and mid not in result.original_message_ids:
                result.original_message_ids.append(mid)
    result.subject = headers.text("Subject")
    senders = parse_addresses(headers.get_all("From"))
    result.from_ = senders[0] if senders else None
    sender = parse_addresses(headers.get_all("Sender"))
    result.sender = sender[0] if sender else None
    result.reply_to = parse_addresses(headers.get_all("Reply-To"))
    result.to = parse_addresses(headers.get_all("To"))
    result.cc = parse_addresses(headers.get_all("Cc"))
    result.date = _parse_date(headers.get("Date"), result)
    if not result.message_id:
        result.defects.append("no Message-ID header")
    return headers


def _parse_with(raw: bytes, policy, max_attachment_bytes: int, max_total_bytes: int) -> ParsedEmail:
    msg = email.message_from_bytes(raw, policy=policy)
    result = ParsedEmail(size=len(raw))
    headers = _fill_headers(result, msg)
    walker = _Walker(max_attachment_bytes, max_total_bytes, result)
    walker.walk(msg)
    for found in getattr(msg, "defects", []) or []:
        walker.defect(f"message: {type(found).__name__}")
    html = "\n".join(walker.htmls)
    clean = sanitize_html(html) if html else None
    if clean is not None:
        result.html = clean.html
        result.remote_images_blocked = clean.remote_images
    # Inline only when the HTML shows it; an unreferenced image would otherwise vanish from view.
    shown = clean.content_ids if clean is not None else set()
    for attachment in result.attachments:
        attachment.inline = bool(attachment.content_id) and attachment.content_id in shown
    if walker.texts:
        result.text = "\n\n".join(t.strip("\n") for t in walker.texts).strip()
    elif html:
        result.text = html_to_text(html)
        result.text_from_html = True
    result.new_text, result.quoted_text = split_reply(result.text, html)
    result.bounces = parse_dsn(msg)
    result.noise = classify_parts(headers, msg.get_content_type(), msg.get_param("report-type") or "", result)
    return result


def parse_message(raw: bytes, *, max_attachment_bytes: int, max_total_bytes: int) -> ParsedEmail:
    """Parse one e-mail; never raises.  Limits: bytes per attachment, bytes per message (bodies included)."""
    errors = []
    for policy in (_READ_POLICY, email.policy.compat32):
        token = _header_cache.set({})
        try:
            result = _parse_with(raw, policy, max_attachment_bytes, max_total_bytes)
        except Exception as exc:  # noqa: BLE001 - malformed mail must not stop the mailbox
            errors.append(f"{type(exc).__name__} with the {'default' if not errors else 'compat32'} policy")
            continue
        finally:
            _header_cache.reset(token)
        if errors:
            result.defects.insert(0, f"parsed leniently after {errors[0]}")
        return result
    # Last resort: headers we can read, the rest as text.
    result = ParsedEmail(size=len(raw), defects=[f"could not parse the MIME structure ({'; '.join(errors)})"])
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    try:
        _fill_headers(result, email.message_from_bytes(head + b"\n\n", policy=email.policy.compat32))
    except Exception:  # noqa: BLE001
        result.defects.append("the headers could not be read")
    text = _CONTROL.sub("", decode_bytes(body[:max_total_bytes]).text)
    if len(body) > max_total_bytes:
        result.truncated_notes.append(f"The text of this message was cut at {_human_size(max_total_bytes)}.")
    result.text = text
    return result
