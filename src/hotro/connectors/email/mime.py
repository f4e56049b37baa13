"""MIME content helpers: lenient transfer decoding and RFC 3676 format=flowed."""

from __future__ import annotations

import base64
import re
from email.message import Message


def lenient_b64(raw: str) -> bytes:
    out = bytearray()
    for chunk in re.split(r"=+", raw):  # also decodes separately encoded chunks glued together
        clean = re.sub(r"[^A-Za-z0-9+/]", "", chunk)
        if len(clean) % 4 == 1:
            clean = clean[:-1]
        if clean:
            out += base64.b64decode(clean + "=" * (-len(clean) % 4))
    return bytes(out)


def payload_bytes(part: Message) -> bytes | None:
    """Decoded content; broken base64 (bad padding, stray characters) is decoded as far as it goes."""
    payload = part.get_payload(decode=True)
    broken = any("Base64" in type(d).__name__ for d in getattr(part, "defects", []) or [])
    raw = part.get_payload()
    if broken and isinstance(raw, str):
        payload = lenient_b64(raw)
    return payload


def unflow(text: str, *, delsp: bool = False) -> str:
    """RFC 3676 format=flowed to plain lines (soft line breaks joined, space-stuffing removed)."""
    out: list[str] = []
    joining = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        if body.startswith(" "):
            body = body[1:]
        flowed = body.endswith(" ") and body != "-- "
        if flowed and delsp:
            body = body[:-1]
        prefix = "> " * depth if depth else ""
        if joining and out and out[-1][1] == depth:
            out[-1] = (out[-1][0] + body, depth)
        else:
            out.append((prefix + body, depth))
        joining = flowed
    return "\n".join(line.rstrip() if not line.endswith("-- ") else line for line, _ in out)
