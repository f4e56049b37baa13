"""Cryptographic primitives: AEAD sealing, key wrapping, blind-index HMACs.

Pure functions with no database access.  Ciphertext layout (all integers big-endian):

    b"H1" | key_version:u32 | nonce:12 | AES-256-GCM(ciphertext || tag:16)

The associated data binds a ciphertext to its place (workspace, table, column, row), so a value
copied to another row or another workspace fails authentication instead of decrypting.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"H1"
HEADER = struct.Struct(">2sI")
NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionError(Exception):
    """A ciphertext could not be opened: wrong place, wrong or destroyed key, or tampered bytes."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def associated_data(workspace_id, table: str, column: str, row_id) -> bytes:
    return f"hotro|{workspace_id}|{table}|{column}|{row_id}".encode()


def seal(key: bytes, key_version: int, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return HEADER.pack(MAGIC, key_version) + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def key_version_of(ciphertext: bytes) -> int:
    if len(ciphertext) < HEADER.size + NONCE_BYTES + 16:
        raise DecryptionError("The value is too short to be a hotro ciphertext.")
    magic, version = HEADER.unpack_from(ciphertext)
    if magic != MAGIC:
        raise DecryptionError("The value is not a hotro ciphertext.")
    return version


def open_sealed(key: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    key_version_of(ciphertext)
    nonce = ciphertext[HEADER.size : HEADER.size + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext[HEADER.size + NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise DecryptionError("The ciphertext does not belong here or was altered.") from exc


def derive_key(root: bytes, purpose: str) -> bytes:
    """Derive an independent sub-key (HKDF-SHA256) for one purpose, e.g. ``bidx:email``."""
    return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=b"hotro-v1", info=purpose.encode()).derive(root)


def blind_hmac(key: bytes, value: str, nbytes: int) -> bytes:
    """Truncated HMAC-SHA256 of an already-normalized value."""
    return hmac.new(key, value.encode(), hashlib.sha256).digest()[:nbytes]


def constant_time_equal(a: bytes | str, b: bytes | str) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)
