"""Encrypted file store: attachments, recordings, exports.

Every file is sealed with its workspace's data key before it reaches the backend, so a copy of the
storage folder (or bucket) holds no readable content and crypto-shredding covers it too.

Format (integers big-endian), a streaming AEAD in the style of STREAM / Tink's AES-GCM-HKDF::

    header  = b"HF01" | key_version:u32 | segment_size:u32 | salt:16 | nonce_prefix:7     (35 bytes)
    file_key = HKDF-SHA256(data key, salt, info = "hotro-file|<workspace>|<storage key>")
    segment i = AES-256-GCM(file_key, nonce = nonce_prefix | i:u32 | final:u8, aad = header)

Segments hold 64 KiB of plaintext (the last one may be shorter; an empty file is one empty final
segment).  The per-file key binds the content to its workspace and name, the segment index in the
nonce detects reordering, and the final flag detects truncation or appended data.  ``iter_file``
yields each segment once it is authenticated; a truncated file raises at its end, so a download
handler must treat that exception as a failed transfer.

Names (``storage_key``) are 128 random bits in hex: they reveal nothing and cannot address another
path.  Backends only move opaque bytes: ``LocalFileBackend`` writes atomically under
``settings.HOTRO_FILE_ROOT/<workspace id>/<2 hex>/<name>`` with mode 0600; an S3-compatible backend
implements the same six methods and is named in ``settings.HOTRO_FILE_BACKEND``.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import struct
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.module_loading import import_string

from . import crypto, keys

FILE_MAGIC = b"HF01"
FILE_HEADER = struct.Struct(">4sII16s7s")
SEGMENT_BYTES = 64 * 1024
TAG_BYTES = 16
_NAME = re.compile(r"^[0-9a-f]{32}$")


class FileMissing(LookupError):
    """No file under that name in this workspace's store."""


class FileTooLarge(ValueError):
    """The file is larger than the limit given to ``save_file``."""


# --- backends ---------------------------------------------------------------------------------------
class FileBackend:
    """Where sealed files live.  Names are validated before they reach a backend."""

    def write(self, workspace_id, name: str, chunks: Iterable[bytes]) -> None:
        """Store the concatenated chunks under ``name`` atomically (all or nothing), replacing any old one."""
        raise NotImplementedError

    def open(self, workspace_id, name: str) -> BinaryIO:
        """A readable binary stream; raises ``FileMissing``."""
        raise NotImplementedError

    def size(self, workspace_id, name: str) -> int:
        raise NotImplementedError

    def delete(self, workspace_id, name: str) -> bool:
        raise NotImplementedError

    def names(self, workspace_id) -> Iterator[str]:
        """Every stored name of the workspace, in ascending order."""
        raise NotImplementedError

    def delete_workspace(self, workspace_id) -> int:
        raise NotImplementedError


class LocalFileBackend(FileBackend):
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root if root is not None else settings.HOTRO_FILE_ROOT)

    def _folder(self, workspace_id) -> Path:
        return self.root / str(uuid.UUID(str(workspace_id)))

    def path(self, workspace_id, name: str) -> Path:
        return self._folder(workspace_id) / name[:2] / name

    def write(self, workspace_id, name: str, chunks: Iterable[bytes]) -> None:
        target = self.path(workspace_id, name)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = target.with_name(f".{name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def open(self, workspace_id, name: str) -> BinaryIO:
        try:
            return open(self.path(workspace_id, name), "rb")  # noqa: SIM115 - returned to the caller
        except FileNotFoundError as exc:
            raise FileMissing("That file is not in the store (it may have been deleted).") from exc

    def size(self, workspace_id, name: str) -> int:
        try:
            return self.path(workspace_id, name).stat().st_size
        except FileNotFoundError as exc:
            raise FileMissing("That file is not in the store (it may have been deleted).") from exc

    def delete(self, workspace_id, name: str) -> bool:
        try:
            self.path(workspace_id, name).unlink()
        except FileNotFoundError:
            return False
        return True

    def names(self, workspace_id) -> Iterator[str]:
        folder = self._folder(workspace_id)
        if not folder.is_dir():
            return
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            yield from sorted(p.name for p in sub.iterdir() if _NAME.match(p.name))

    def delete_workspace(self, workspace_id) -> int:
        folder = self._folder(workspace_id)
        count = sum(1 for _ in self.names(workspace_id))
        shutil.rmtree(folder, ignore_errors=True)
        return count


def get_backend() -> FileBackend:
    path = getattr(settings, "HOTRO_FILE_BACKEND", "hotro.privacy.storage.LocalFileBackend")
    return import_string(path)()


# --- sealing ----------------------------------------------------------------------------------------
def _check_name(storage_key: str) -> str:
    if not isinstance(storage_key, str) or not _NAME.match(storage_key):
        raise FileMissing("That is not a hotro file name.")
    return storage_key


def _file_key(workspace_id, storage_key: str, version: int, salt: bytes) -> bytes:
    _, data_key = keys.data_key(workspace_id, version)
    return crypto.derive_key(data_key, f"hotro-file|{workspace_id}|{storage_key}", salt=salt)


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if final else 0)


def _chunks_of(data, size: int) -> Iterator[bytes]:
    """Fixed-size chunks of bytes or a binary file-like object (the last one shorter, maybe empty)."""
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
    while True:
        buf = _read_exactly(stream, size)
        yield buf
        if len(buf) < size:
            return


def _seal_stream(
    workspace_id, storage_key: str, source, max_bytes: int | None, version=None
) -> Iterator[bytes]:
    version, _ = keys.data_key(workspace_id, version)
    salt, prefix = os.urandom(16), os.urandom(7)
    header = FILE_HEADER.pack(FILE_MAGIC, version, SEGMENT_BYTES, salt, prefix)
    aead = AESGCM(_file_key(workspace_id, storage_key, version, salt))
    yield header
    total, index = 0, 0
    chunks = _chunks_of(source, SEGMENT_BYTES)
    current = next(chunks)
    for upcoming in chunks:
        if not upcoming and len(current) == SEGMENT_BYTES:
            break  # the source ended exactly on a segment boundary: ``current`` is the last one
        total += len(current)
        if max_bytes is not None and total > max_bytes:
            raise FileTooLarge(f"The file is larger than {max_bytes} bytes.")
        yield aead.encrypt(_nonce(prefix, index, False), current, header)
        current, index = upcoming, index + 1
    total += len(current)
    if max_bytes is not None and total > max_bytes:
        raise FileTooLarge(f"The file is larger than {max_bytes} bytes.")
    yield aead.encrypt(_nonce(prefix, index, True), current, header)


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        piece = stream.read(n - len(buf))
        if not piece:
            break
        buf += piece
    return bytes(buf)


def _open_stream(workspace_id, storage_key: str, stream: BinaryIO) -> Iterator[bytes]:
    header = _read_exactly(stream, FILE_HEADER.size)
    if len(header) < FILE_HEADER.size:
        raise crypto.DecryptionError("The stored file is truncated.")
    magic, version, segment, salt, prefix = FILE_HEADER.unpack(header)
    if magic != FILE_MAGIC or not 0 < segment <= 16 * 1024 * 1024:
        raise crypto.DecryptionError("The stored file is not a hotro encrypted file.")
    aead = AESGCM(_file_key(workspace_id, storage_key, version, salt))
    size = segment + TAG_BYTES
    index, current = 0, _read_exactly(stream, size)
    while True:
        upcoming = _read_exactly(stream, size) if len(current) == size else b""
        final = not upcoming
        try:
            yield aead.decrypt(_nonce(prefix, index, final), current, header)
        except InvalidTag as exc:
            raise crypto.DecryptionError("The stored file does not belong here or was altered.") from exc
        if final:
            return
        current, index = upcoming, index + 1


def key_version_of_file(workspace_id, storage_key: str) -> int:
    with get_backend().open(workspace_id, _check_name(storage_key)) as fh:
        header = _read_exactly(fh, FILE_HEADER.size)
    if len(header) < FILE_HEADER.size or header[:4] != FILE_MAGIC:
        raise crypto.DecryptionError("The stored file is not a hotro encrypted file.")
    return FILE_HEADER.unpack(header)[1]


# --- public API ---------------------------------------------------------------------------------------
def save_file(workspace_id, data: bytes | BinaryIO, *, max_bytes: int | None = None) -> str:
    """Seal ``data`` (bytes or a binary file-like object, read in segments) and store it.

    Returns the new file's opaque ``storage_key``.  Raises ``FileTooLarge`` (nothing is stored) when
    ``max_bytes`` is given and exceeded.
    """
    storage_key = secrets.token_hex(16)
    get_backend().write(workspace_id, storage_key, _seal_stream(workspace_id, storage_key, data, max_bytes))
    return storage_key


def iter_file(workspace_id, storage_key: str) -> Iterator[bytes]:
    """The plaintext in authenticated segments, for streaming downloads.

    Raises ``FileMissing``, or ``DecryptionError`` (possibly after earlier segments were yielded)
    when the file was altered, truncated, moved from another workspace or its key was destroyed.
    """
    _check_name(storage_key)
    with get_backend().open(workspace_id, storage_key) as fh:
        yield from _open_stream(workspace_id, storage_key, fh)


def open_file(workspace_id, storage_key: str) -> bytes:
    """The whole plaintext (small files; use ``iter_file`` to stream large ones)."""
    return b"".join(iter_file(workspace_id, storage_key))


def file_size(workspace_id, storage_key: str) -> int:
    """Plaintext size, computed from the sealed size without decrypting."""
    sealed = get_backend().size(workspace_id, _check_name(storage_key))
    body = sealed - FILE_HEADER.size
    segments = max(1, -(-body // (SEGMENT_BYTES + TAG_BYTES)))
    return body - segments * TAG_BYTES


def delete_file(workspace_id, storage_key: str) -> bool:
    """Remove a file; returns False when there was none."""
    return get_backend().delete(workspace_id, _check_name(storage_key))


def reencrypt_file(workspace_id, storage_key: str, version: int | None = None) -> bool:
    """Re-seal a file under data key ``version`` (default: the active one) with fresh salt/nonces.

    Returns False when the file already uses that version.  The replacement is atomic.
    """
    version, _ = keys.data_key(workspace_id, version)
    if key_version_of_file(workspace_id, storage_key) == version:
        return False
    plain = _IterReader(iter_file(workspace_id, storage_key))
    get_backend().write(
        workspace_id, storage_key, _seal_stream(workspace_id, storage_key, plain, None, version)
    )
    return True


class _IterReader:
    """``read(n)`` over an iterator of byte strings."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buf = b""

    def read(self, n: int) -> bytes:
        while len(self._buf) < n:
            piece = next(self._chunks, None)
            if piece is None:
                break
            self._buf += piece
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


def stored_names(workspace_id) -> Iterator[str]:
    """Names of every file of the workspace, ascending (for re-encryption and retention)."""
    return get_backend().names(workspace_id)
