"""Cryptographic primitives: AEAD sealing, key wrapping, blind-index HMACs.

Pure functions with no database access.  Ciphertext layout (all integers big-endian)::

    b"H2" | key_version:u32 | nonce:12 | AES-256-GCM(pad(plaintext)) || tag:16

* The 6-byte header is authenticated: it is prefixed to the associated data, so the key version
  cannot be altered without the tag failing.
* The associated data binds a ciphertext to its place (workspace, table, column, row), so a value
  copied to another row or another workspace fails authentication instead of decrypting.
* The plaintext is padded (ISO/IEC 7816-4: ``0x80`` then zeros) to a multiple of 16 bytes, so the
  column no longer reveals the exact length of a name, an e-mail address or a phone number.
* Nonces are 96 random bits.  NIST SP 800-38D caps one key at 2**32 random-nonce encryptions; a
  workspace data key is rotated (``privacy.rotation``) long before that.
"""

from __future__ import annotations

import hmac
import os
import struct
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"H2"
HEADER = struct.Struct(">2sI")
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
PAD_BLOCK = 16


class DecryptionError(Exception):
    """A ciphertext could not be opened: wrong place, wrong or destroyed key, or tampered bytes."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def associated_data(workspace_id, table: str, column: str, row_id) -> bytes:
    """The place a value belongs to.  Refuses a missing workspace or row id: sealing a value under
    ``...|None`` would make every unsaved row share one context."""
    if workspace_id is None or row_id is None:
        raise ValueError(
            "An encrypted value needs its workspace and row id before it can be sealed or opened."
        )
    return f"hotro|{workspace_id}|{table}|{column}|{row_id}".encode()


def pad(data: bytes) -> bytes:
    return data + b"\x80" + b"\x00" * (PAD_BLOCK - 1 - len(data) % PAD_BLOCK)


def unpad(data: bytes) -> bytes:
    end = data.rfind(b"\x80")
    if end < 0 or data[end + 1 :].strip(b"\x00"):
        raise DecryptionError("The ciphertext padding is malformed.")
    return data[:end]


@lru_cache(maxsize=256)
def _aead(key: bytes) -> AESGCM:
    """AES-GCM contexts of the few keys in use (the unwrapped keys are cached in ``keys`` anyway)."""
    return AESGCM(key)


def forget_contexts() -> None:
    _aead.cache_clear()


def seal(key: bytes, key_version: int, plaintext: bytes, aad: bytes) -> bytes:
    header = HEADER.pack(MAGIC, key_version)
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + _aead(key).encrypt(nonce, pad(plaintext), header + aad)


def key_version_of(ciphertext: bytes) -> int:
    if len(ciphertext) < HEADER.size + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("The value is too short to be a hotro ciphertext.")
    magic, version = HEADER.unpack_from(ciphertext)
    if magic != MAGIC:
        raise DecryptionError("The value is not a hotro ciphertext.")
    return version


def open_sealed(key: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    key_version_of(ciphertext)
    header = ciphertext[: HEADER.size]
    nonce = ciphertext[HEADER.size : HEADER.size + NONCE_BYTES]
    body = ciphertext[HEADER.size + NONCE_BYTES :]
    try:
        opened = _aead(key).decrypt(nonce, body, header + aad)
    except InvalidTag as exc:
        raise DecryptionError("The ciphertext does not belong here or was altered.") from exc
    return unpad(opened)


def derive_key(root: bytes, purpose: str, salt: bytes = b"hotro-v1") -> bytes:
    """Derive an independent sub-key (HKDF-SHA256) for one purpose, e.g. ``bidx:email``."""
    return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=salt, info=purpose.encode()).derive(root)


def blind_hmac(key: bytes, value: str, nbytes: int) -> bytes:
    """Truncated HMAC-SHA256 of an already-normalized value (OpenSSL one-shot: ~1 µs)."""
    return hmac.digest(key, value.encode(), "sha256")[:nbytes]
