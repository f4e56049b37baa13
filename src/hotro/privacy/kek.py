"""The master key (key-encryption key, KEK) that wraps every workspace data key.

The KEK never touches the database.  ``LocalKeyring`` reads it from ``HOTRO_MASTER_KEY`` or from a
key file; another provider (a KMS, Vault transit) only has to implement ``wrap``/``unwrap``/``rotate``
and be named in ``settings.HOTRO_KEK_PROVIDER``.

Key file format (JSON, mode 0600)::

    {"active": "2", "keys": {"1": "<base64 32 bytes>", "2": "<base64 32 bytes>"}}

``HOTRO_MASTER_KEY`` takes the same JSON, or a single base64 key (its id is ``"env"``).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import threading
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .crypto import KEY_BYTES, DecryptionError, new_key

log = logging.getLogger(__name__)


class KeyEncryptionProvider:
    """Interface of a KEK holder."""

    active_id: str

    def wrap(self, key: bytes, context: bytes) -> tuple[str, bytes]:
        raise NotImplementedError

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        raise NotImplementedError

    def rotate(self) -> str:
        raise NotImplementedError


def _decode_key(text: str) -> bytes:
    raw = base64.b64decode(text.strip())
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(f"A master key must be {KEY_BYTES} bytes, base64-encoded.")
    return raw


class LocalKeyring(KeyEncryptionProvider):
    def __init__(self, keys: dict[str, bytes], active_id: str, path: Path | None = None):
        if active_id not in keys:
            raise ImproperlyConfigured("The active master key id is not among the keys.")
        self.keys = keys
        self.active_id = active_id
        self.path = path

    @classmethod
    def from_settings(cls) -> LocalKeyring:
        env = os.environ.get("HOTRO_MASTER_KEY", "").strip()
        if env:
            if env.startswith("{"):
                return cls._from_json(json.loads(env), None)
            return cls({"env": _decode_key(env)}, "env")
        path = Path(settings.HOTRO_MASTER_KEY_FILE)
        if path.exists():
            _check_private(path)
            return cls._from_json(json.loads(path.read_text()), path)
        if not settings.HOTRO_GENERATE_MASTER_KEY:
            raise ImproperlyConfigured(
                "No master key: set HOTRO_MASTER_KEY or HOTRO_MASTER_KEY_FILE. "
                "Production never generates one by itself."
            )
        ring = cls({"1": new_key()}, "1", path)
        ring.save()
        return ring

    @classmethod
    def _from_json(cls, data: dict, path: Path | None) -> LocalKeyring:
        keys = {str(k): _decode_key(v) for k, v in data["keys"].items()}
        return cls(keys, str(data["active"]), path)

    def _require_file(self) -> Path:
        if self.path is None:
            raise ImproperlyConfigured(
                "The master key comes from HOTRO_MASTER_KEY; add the new key there, not in a file."
            )
        return self.path

    def save(self) -> None:
        """Write the keyring atomically (temp file, fsync, rename, fsync of the folder), mode 0600."""
        path = self._require_file()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = {
            "active": self.active_id,
            "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    def reload(self) -> bool:
        """Pick up keys another process added to the key file (after a rotation there)."""
        if self.path is None or not self.path.exists():
            return False
        fresh = self._from_json(json.loads(self.path.read_text()), self.path)
        with _reload_lock:
            self.keys.update(fresh.keys)
            self.active_id = fresh.active_id
        return True

    def wrap(self, key: bytes, context: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(12)
        return self.active_id, nonce + AESGCM(self.keys[self.active_id]).encrypt(nonce, key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        if kek_id not in self.keys:
            self.reload()  # another process may have rotated the master key
        if kek_id not in self.keys:
            raise DecryptionError(f"Master key {kek_id!r} is not available.")
        try:
            return AESGCM(self.keys[kek_id]).decrypt(wrapped[:12], wrapped[12:], context)
        except InvalidTag as exc:
            raise DecryptionError("A data key does not unwrap under the master key.") from exc

    def rotate(self) -> str:
        """Add a new master key and make it active; older ones stay to unwrap until re-wrapped."""
        self._require_file()
        self.reload()
        new_id = str(max((int(k) for k in self.keys if k.isdigit()), default=0) + 1)
        self.keys[new_id] = new_key()
        previous, self.active_id = self.active_id, new_id
        try:
            self.save()
        except OSError:
            self.keys.pop(new_id, None)
            self.active_id = previous
            raise
        return new_id


_reload_lock = threading.Lock()


def _check_private(path: Path) -> None:
    """A key file readable by other users is refused in production and reported otherwise."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        message = f"The master key file {path} is readable by other users: run `chmod 600 {path}`."
        if settings.HOTRO_ENV == "production":
            raise ImproperlyConfigured(message)
        log.warning(message)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@cache
def get_kek() -> KeyEncryptionProvider:
    return import_string(settings.HOTRO_KEK_PROVIDER).from_settings()


def reset_kek_cache() -> None:
    get_kek.cache_clear()
