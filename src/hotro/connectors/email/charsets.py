"""Turning e-mail bytes into text when the declared charset may be missing or wrong.

Order: the declared charset (mapped to the superset real mailers mean by it), then UTF-8, then
Windows-1258 when the bytes look Vietnamese, then detection with ``charset_normalizer``, and as a
last resort Windows-1258 / the declared charset with replacement characters.  Every result says
which charset was used and whether the label was wrong, so the caller can record a defect.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

try:  # a well-kept detector; optional at import time so the pure layer never breaks
    import charset_normalizer
except ImportError:  # pragma: no cover - it is a declared dependency
    charset_normalizer = None

# What mail clients mean when they write these labels (the WHATWG encoding standard does the same).
_SUPERSETS = {
    "us-ascii": "ascii",
    "ascii": "ascii",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-unknown": "",
    "unknown-8bit": "",
    "unknown": "",
    "default": "",
    "charset": "",
}

# Labels whose single-byte tables accept (almost) any byte, so a wrong label never fails to decode.
_WESTERN = {"ascii", "cp1252", "iso8859-1", "iso8859-15", "cp1250", "iso8859-2"}
_SINGLE_BYTE_PREFIXES = (
    "ascii",
    "cp12",
    "cp4",
    "cp7",
    "cp8",
    "cp10",
    "iso8859",
    "koi8",
    "mac",
    "tis",
    "hp-roman",
    "kz1048",
    "ptcp",
)

# Windows-1258 bytes for Vietnamese letters (ă â đ ê ô ơ ư, both cases) and its combining tone marks.
_VI_LETTER_BYTES = b"\xc3\xe3\xc2\xe2\xd0\xf0\xca\xea\xd4\xf4\xd5\xf5\xdd\xfd"
_VI_TONE_BYTES = b"\xcc\xec\xd2\xde\xf2"
_VI_TONE_AFTER_VOWEL = re.compile(
    rb"[aeiouyAEIOUY\xc3\xe3\xc2\xe2\xca\xea\xd4\xf4\xd5\xf5\xdd\xfd][\xcc\xec\xd2\xde\xf2]"
)


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # the Python codec name actually used
    mislabelled: bool = False  # the declared label was wrong (or absent and the bytes were not ASCII)
    lossy: bool = False  # some bytes could not be decoded and were replaced


def codec_for(label: str | None) -> str:
    """The Python codec for a MIME charset label, or "" when the label is absent or unknown."""
    if not label:
        return ""
    label = label.strip().strip("\"'").lower()
    label = label.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*vi
    label = _SUPERSETS.get(label, label)
    if not label:
        return ""
    try:
        return codecs.lookup(label).name
    except LookupError:
        return ""


def looks_vietnamese_1258(data: bytes) -> bool:
    """Windows-1258 Vietnamese: a combining tone mark right after a vowel, or several Vietnamese letters."""
    if _VI_TONE_AFTER_VOWEL.search(data):
        return True
    high = [b for b in data if b >= 0x80]
    if not high:
        return False
    vi = sum(1 for b in high if b in _VI_LETTER_BYTES or b in _VI_TONE_BYTES)
    return vi >= 3 and vi * 2 >= len(high)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _detect(data: bytes) -> str | None:
    if charset_normalizer is None or len(data) < 8:
        return None
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return None
    return best.encoding


def _single_byte(codec: str) -> bool:
    """Single-byte tables decode (almost) anything, so a successful decode proves nothing."""
    return codec.startswith(_SINGLE_BYTE_PREFIXES)


def decode_bytes(data: bytes, declared: str | None = None) -> Decoded:
    """Decode ``data`` whose MIME label is ``declared`` (may be None, unknown or wrong)."""
    if not data:
        return Decoded("", codec_for(declared) or "ascii")
    codec = codec_for(declared)
    if data.isascii() and not codec.startswith(("utf-7", "utf-16", "utf-32", "iso2022", "hz")):
        return Decoded(data.decode("ascii"), "ascii")
    if codec and not _single_byte(codec):
        text = _strict(data, codec)
        if text is not None:
            return Decoded(_nfc(text), codec)
    # A single-byte label accepts almost any byte, so valid UTF-8 is the stronger signal.
    utf8 = _strict(data, "utf-8")
    if utf8 is not None:
        return Decoded(_nfc(utf8), "utf-8", mislabelled=codec not in {"", "utf-8"})
    if (not codec or codec in _WESTERN or codec == "cp1258") and looks_vietnamese_1258(data):
        return Decoded(_nfc(data.decode("cp1258", errors="replace")), "cp1258", mislabelled=codec != "cp1258")
    if codec and codec != "ascii":
        text = _strict(data, codec)
        if text is not None:
            return Decoded(_nfc(text), codec)
    detected = codec_for(_detect(data))
    if detected:
        text = _strict(data, detected)
        if text is not None:
            return Decoded(_nfc(text), detected, mislabelled=bool(codec))
    fallback = codec if codec and codec != "ascii" else "cp1258"
    return Decoded(_nfc(data.decode(fallback, errors="replace")), fallback, mislabelled=True, lossy=True)
