"""Header values as text, read from the raw source so broken headers never raise.

RFC 2047 encoded words are decoded here (adjacent words of one charset are joined before decoding,
because clients split multi-byte characters across words), with the same charset repair as bodies,
and raw 8-bit headers (RFC 6532 or just broken) are decoded as UTF-8 / Windows-1258 / detected.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from .charsets import decode_bytes

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]*")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MSGID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class Address:
    name: str
    email: str  # lower-cased; "" when the header had no usable address

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding in "bB":
            payload = payload.strip()
            return base64.b64decode(payload + "=" * (-len(payload) % 4))
        return binascii.a2b_qp(payload.replace("_", " ").encode("ascii", "surrogateescape"), header=True)
    except (binascii.Error, ValueError):
        return None


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words anywhere in ``value`` (also inside quotes, where clients put them)."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    pending_charset: str | None = None
    pending: bytearray = bytearray()

    def flush() -> None:
        nonlocal pending_charset, pending
        if pending_charset is not None:
            out.append(decode_bytes(bytes(pending), pending_charset).text)
        pending_charset, pending = None, bytearray()

    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        charset, encoding, payload = match.groups()
        data = _word_bytes(encoding, payload)
        if data is None:  # undecodable word: keep it as it was
            flush()
            out.append(gap + match.group(0))
            pos = match.end()
            continue
        between_words = pending_charset is not None and _BETWEEN_WORDS.fullmatch(gap)
        if not between_words:
            flush()
            out.append(gap)
        charset_key = charset.split("*", 1)[0].lower()
        if pending_charset is not None and charset_key != pending_charset:
            flush()
        pending_charset = charset_key
        pending += data
        pos = match.end()
    flush()
    out.append(value[pos:])
    return _CONTROL.sub("", "".join(out))


def raw_to_text(raw: str) -> str:
    """A raw header value (str from ``message_from_bytes``, 8-bit bytes as surrogates) to clean text."""
    raw = _FOLD.sub("", str(raw))
    if any("\udc80" <= ch <= "\udcff" for ch in raw):
        raw = decode_bytes(raw.encode("utf-8", "surrogateescape")).text
    return _CONTROL.sub("", raw)


def header_list(msg: Message) -> list[tuple[str, str]]:
    """All headers in order, names as written, values unfolded with 8-bit bytes decoded (not RFC 2047)."""
    items: list[tuple[str, str]] = []
    try:
        raw_items = list(msg.raw_items())
    except Exception:  # noqa: BLE001 - a malformed message must still give its headers
        raw_items = list(getattr(msg, "_headers", []))
    for name, value in raw_items:
        items.append((str(name), raw_to_text(value).strip()))
    return items


class Headers:
    """Case-insensitive, read-only view over a header list."""

    def __init__(self, items: list[tuple[str, str]]):
        self.items = items
        self._index: dict[str, list[str]] = {}
        for name, value in items:
            self._index.setdefault(name.lower(), []).append(value)

    def get(self, name: str, default: str = "") -> str:
        values = self._index.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return list(self._index.get(name.lower(), []))

    def has(self, name: str) -> bool:
        return name.lower() in self._index

    def text(self, name: str) -> str:
        """The first value with RFC 2047 words decoded and whitespace collapsed."""
        return " ".join(decode_words(self.get(name)).split())


def normalize_message_id(value: str) -> str:
    """``<abc@x>`` / `` abc@x `` -> ``abc@x`` ("" for nothing usable)."""
    value = value.strip()
    match = _MSGID.search(value)
    if match:
        return match.group(1)
    value = value.strip("<> \t")
    return value if value and " " not in value else ""


def parse_id_list(value: str) -> list[str]:
    """Message-IDs from In-Reply-To / References, in order, duplicates removed.

    Accepts the bracket-less and comma-separated forms some clients write."""
    ids = _MSGID.findall(value)
    if not ids:
        ids = [part.strip("<>") for part in re.split(r"[\s,]+", value) if "@" in part]
    seen: set[str] = set()
    unique = []
    for mid in ids:
        if mid not in seen:
            seen.add(mid)
            unique.append(mid)
    return unique


def parse_addresses(values: list[str]) -> list[Address]:
    """Addresses from To/Cc/From header values, display names decoded (RFC 2047, even when quoted)."""
    if not values:
        return []
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001 - never fail on a broken address list
        pairs = []
    if not pairs or all(not addr for _, addr in pairs):
        try:
            pairs = getaddresses(values, strict=False)
        except Exception:  # noqa: BLE001
            pairs = []
    result: list[Address] = []
    for raw_name, raw_addr in pairs:
        name = " ".join(decode_words(raw_name).split()).strip("\"' ")
        addr = raw_addr.strip().strip("<>").lower()
        if "@" not in addr:
            # "user@example.com" with no angle brackets sometimes lands in the name
            found = re.search(r"[^\s<>\"']+@[^\s<>\"']+", name) if "@" in name else None
            addr = found.group(0).lower() if found else ""
        if addr or name:
            result.append(Address("" if name.lower() == addr else name, addr))
    return result
