"""Blind indexes: finding encrypted values without storing them in the clear.

Each index is a truncated HMAC-SHA256 under a per-workspace sub-key, over a normalized value, stored
as a signed 64-bit integer (e-mail, phone) or 32-bit integer (message tokens) beside the ciphertext.
Truncation follows the CipherSweet guidance: the index narrows candidates; the caller confirms a
match by decrypting.  Contact indexes keep 32 bits (at most one false positive per ~4 billion
lookups per value; the candidate set is tiny) and word tokens 32 bits.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from . import crypto, keys

INDEX_BYTES = 4


def normalize_email(value: str) -> str:
    return value.strip().lower()


def normalize_phone(value: str, region: str = "VN") -> str | None:
    """E.164 form of a phone number, or None when it is not a possible number."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _to_int(digest: bytes) -> int:
    return int.from_bytes(digest, "big", signed=True)


def blind_index(workspace_id, kind: str, normalized: str) -> int:
    return _to_int(crypto.blind_hmac(keys.index_key(workspace_id, f"bidx:{kind}"), normalized, INDEX_BYTES))


def email_index(workspace_id, email: str) -> int:
    return blind_index(workspace_id, "email", normalize_email(email))


def phone_index(workspace_id, phone: str, region: str = "VN") -> int | None:
    e164 = normalize_phone(phone, region)
    return None if e164 is None else blind_index(workspace_id, "phone", e164)


def address_index(workspace_id, channel: str, address: str) -> int:
    """Index of a channel identity (``email``, ``phone`` normalized; other channels' ids verbatim)."""
    if channel == "email":
        return email_index(workspace_id, address)
    if channel == "phone":
        idx = phone_index(workspace_id, address)
        if idx is not None:
            return idx
    return blind_index(workspace_id, f"id:{channel}", address.strip())


# --- keyword search -------------------------------------------------------------------------------
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TOKENS = 512


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese (and other) diacritics: "Hoàn tiền đổi" -> "hoan tien doi"."""
    text = text.lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(fold(text)) if len(w) <= 64]


def token_index(workspace_id, word: str) -> int:
    return _to_int(crypto.blind_hmac(keys.index_key(workspace_id, "token"), word, 4))


def search_tokens(workspace_id, text: str) -> list[int]:
    """Distinct blind tokens of a text (capped), for storage beside the encrypted message."""
    seen: dict[int, None] = {}
    key = keys.index_key(workspace_id, "token")
    for w in words(text):
        seen.setdefault(_to_int(crypto.blind_hmac(key, w, 4)), None)
        if len(seen) >= MAX_TOKENS:
            break
    return list(seen)
