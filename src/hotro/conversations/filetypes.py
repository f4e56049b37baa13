"""What type an attachment really is: its bytes decide, not the sender's label.

Every channel stores attachments through ``receive.store_attachments``, which keeps the type
``stored_content_type`` gives.  A declared type is only a hint: it is used when the bytes are not
recognised, it is a well-formed MIME type, and it is not one a browser would run (HTML, SVG, XML,
scripts) — those are stored as ``application/octet-stream`` so they can only be downloaded.
"""

from __future__ import annotations

import os
import re
import unicodedata

import filetype

OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"
# RFC 6838 restricted names: type "/" subtype, letters, digits and ! # $ & - ^ _ . +
MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
ACTIVE_TYPES = {
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/ecmascript",
    "text/ecmascript",
    "application/x-shockwave-flash",
}
SAMPLE = 65536


def detect(data: bytes) -> str | None:
    """The type the bytes show (magic numbers), ``text/plain`` for UTF-8 text, else ``None``."""
    kind = filetype.guess(data[:8192])
    if kind is not None:
        return kind.mime
    head = data[:SAMPLE]
    if not head or b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the sample's end is fine
        if exc.start < len(head) - 4:
            return None
    return TEXT


def normalize_declared(declared: str) -> str:
    """The declared type, lower-case without parameters, or "" when it is not a well-formed type."""
    value = (declared or "").split(";", 1)[0].strip().lower()
    return value if MIME_TYPE.match(value) else ""


def stored_content_type(declared: str, data: bytes) -> str:
    """The type to store (and later serve) an attachment with (see the module docstring)."""
    seen = detect(data)
    claimed = normalize_declared(declared)
    if seen is not None and seen != TEXT:
        return seen
    if claimed in ACTIVE_TYPES:
        return OCTET_STREAM
    if seen == TEXT:  # text: keep a more precise text label (text/csv, text/calendar ...)
        return claimed if claimed.startswith("text/") else TEXT
    return claimed or OCTET_STREAM


def clean_filename(name: str) -> str:
    """A file name safe to store and offer for download: no folders, control or reserved characters."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(c for c in unicodedata.normalize("NFC", name) if c.isprintable() and c not in '<>:"/|?*')
    return name.strip(" .")[:200] or "attachment"
