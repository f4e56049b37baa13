"""Blind indexes: finding encrypted values without storing them in the clear.

Each index is a truncated HMAC-SHA256 under a per-workspace sub-key (HKDF of the workspace index
key, one sub-key per kind) over a normalized value, stored as an integer beside the ciphertext.
An index only narrows the candidates: callers confirm every match by decrypting
(``privacy.search.find_contacts_by_email`` and friends, ``contacts.actions.find_identity``).

How many bits (CipherSweet "blind index planning")
--------------------------------------------------
A deterministic index leaks which rows share a value.  CipherSweet's planner sizes an index of
``L`` bits over a population of ``R`` rows so that the expected number of *coincidences* (rows that
share an index value by chance), ``C = R / 2**L``, stays within ``2 <= C <= sqrt(R)``: at least two
rows per value, so that a matching index never *proves* two rows hold the same e-mail address, yet
few enough that confirming a match costs a handful of decryptions.  That gives
``ceil(log2(R) / 2) <= L <= floor(log2(R / 2))``.  The input domain of e-mail addresses and phone
numbers (about 30 bits for Vietnamese mobile numbers, far more for e-mail) is wider than ``L``, so it
does not lower the bound, and e-mail, phone and identity indexes cover different fields, so they do
not add up as multiple indexes of one field would.

``settings.HOTRO_BLIND_INDEX_POPULATION`` (default 1,000,000 contacts per workspace) is the planned
population; ``planned_index_bits`` takes the upper bound (fewest decryptions per lookup): 18 bits for
a million rows, i.e. about 4 candidates per lookup at that size.  The bit length is stored with the
workspace's index key when it is created (``WorkspaceKey.bidx_bits``), so changing the setting later
only affects new workspaces; workspaces from before planning keep 32-bit indexes.

Message search tokens are different: their population is the vocabulary (a few hundred thousand
words), and word frequencies are very skewed.  Truncating to the coincidence range (~16 bits) would
put a frequent word in the same bucket as every rare one, so a search for a rare word would fetch
every message holding some common word.  Tokens therefore keep 32 bits (PostgreSQL ``integer[]``
under a GIN index), which makes chance collisions rare; they are removed by decrypting the page of
results (``privacy.search.verify_messages``).  What tokens leak, to someone holding a copy of the
database but not the keys, is which messages share a word, per workspace (each workspace has its
own token key): the price of keyword search over encrypted text.
"""

from __future__ import annotations

import math
import re
import unicodedata

import phonenumbers
from django.conf import settings

from . import crypto, keys

INDEX_BYTES = 4  # HMAC bytes kept before bit truncation (both contact indexes and tokens fit in 32 bits)
DEFAULT_POPULATION = 1_000_000
MIN_BITS, MAX_BITS = 8, 32


def planned_index_bits(population: int | None = None) -> int:
    """CipherSweet upper bound ``floor(log2(R / 2))`` for a planned population ``R``, kept in 8..32."""
    if population is None:
        population = int(getattr(settings, "HOTRO_BLIND_INDEX_POPULATION", DEFAULT_POPULATION))
    bits = math.floor(math.log2(max(population, 2) / 2)) if population > 2 else MIN_BITS
    return max(MIN_BITS, min(MAX_BITS, bits))


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


def truncate(digest: bytes, bits: int) -> int:
    """The first ``bits`` bits of a digest as an integer (32 bits: signed, as stored before planning)."""
    if bits >= MAX_BITS:
        return _to_int(digest[:INDEX_BYTES])
    return int.from_bytes(digest[:INDEX_BYTES], "big") >> (MAX_BITS - bits)


def blind_index(workspace_id, kind: str, normalized: str) -> int:
    digest = crypto.blind_hmac(keys.index_key(workspace_id, f"bidx:{kind}"), normalized, INDEX_BYTES)
    return truncate(digest, keys.index_bits(workspace_id))


def email_index(workspace_id, email: str) -> int:
    return blind_index(workspace_id, "email", normalize_email(email))


def phone_index(workspace_id, phone: str, region: str = "VN") -> int | None:
    e164 = normalize_phone(phone, region)
    return None if e164 is None else blind_index(workspace_id, "phone", e164)


def normalize_address(channel: str, address: str, region: str = "VN") -> str:
    """The form of a channel address that ``address_index`` and ``identity_key`` hash: e-mail in
    lower case, phone numbers in E.164 (as written when not a possible number), other ids trimmed."""
    if channel == "email":
        return normalize_email(address)
    if channel == "phone":
        return normalize_phone(address, region) or address.strip()
    return address.strip()


IDENTITY_KEY_BYTES = 16


def identity_key(workspace_id, channel: str, address: str) -> str:
    """The exact, collision-free key of one channel identity (128-bit HMAC, hex) that the identity
    table is unique on, so two workers can never create the same sender twice.

    Unlike the truncated blind indexes it identifies one address exactly; what it tells someone
    holding the database without the keys is only that identity rows differ, which their count
    already says: it is computed under its own sub-key and stored nowhere else, so it links
    nothing across tables or workspaces (see docs/privacy.md)."""
    value = f"{channel}|{normalize_address(channel, address)}"
    digest = crypto.blind_hmac(keys.index_key(workspace_id, "identity-key"), value, IDENTITY_KEY_BYTES)
    return digest.hex()


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
    """Token of one already folded word (see ``words``)."""
    return _to_int(crypto.blind_hmac(keys.index_key(workspace_id, "token"), word, INDEX_BYTES))


def search_tokens(workspace_id, text: str) -> list[int]:
    """Distinct blind tokens of a text (capped), for storage beside the encrypted message."""
    seen: dict[int, None] = {}
    key = keys.index_key(workspace_id, "token")
    for w in words(text):
        seen.setdefault(_to_int(crypto.blind_hmac(key, w, INDEX_BYTES)), None)
        if len(seen) >= MAX_TOKENS:
            break
    return list(seen)
