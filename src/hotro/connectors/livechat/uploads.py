"""Visitor uploads: size limit and content sniffing (the browser's declared type is ignored)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from hotro.conversations.filetypes import clean_filename, detect

from ..base import InboundAttachment

ALLOWED_TYPES = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
}
MAX_FILES = 5


def max_bytes() -> int:
    return settings.HOTRO_MAX_UPLOAD_BYTES


def sniff(data: bytes) -> str | None:
    """The real content type of ``data`` when it is one the widget accepts, else ``None``."""
    seen = detect(data)
    return seen if seen in ALLOWED_TYPES else None


def check_size(size: int) -> None:
    """Refuse a file of ``size`` bytes over the limit (before reading it)."""
    if size > max_bytes():
        raise ValidationError(
            _("The file is too large (at most %(mb)s MB).") % {"mb": max_bytes() // (1024 * 1024)}
        )


def check_upload(filename: str, data: bytes) -> InboundAttachment:
    """An ``InboundAttachment`` with the sniffed type; raises ``ValidationError`` with a sentence."""
    if not data:
        raise ValidationError(_("The file is empty."))
    check_size(len(data))
    content_type = sniff(data)
    if content_type is None:
        raise ValidationError(_("Only images (PNG, JPEG, GIF, WebP), PDF and plain-text files can be sent."))
    return InboundAttachment(clean_filename(filename), content_type, data)
