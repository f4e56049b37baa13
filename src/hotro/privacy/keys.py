"""Workspace data keys: creation, lookup (cached), rotation of the master key, crypto-shredding.

Every personal datum is sealed under its workspace's active data key; ``encrypt``/``decrypt`` are the
only entry points the rest of the code uses (through ``privacy.fields`` and ``privacy.storage``).

Unwrapped keys are cached in process memory for ``HOTRO_KEY_CACHE_SECONDS`` (default 60): a key
created, or a workspace shredded, by another process takes effect here within that time.  This is
why re-encryption checks every row's key version instead of trusting a cut-off, and why retiring
old key versions verifies first that nothing still uses them (``privacy.rotation``).
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import crypto
from .kek import get_kek
from .models import KeyPurpose, WorkspaceKey
from .rls import workspace_scope

CACHE_SECONDS = int(getattr(settings, "HOTRO_KEY_CACHE_SECONDS", 60))
LEGACY_INDEX_BITS = 32  # index keys created before bit lengths were planned
_cache: dict[tuple, tuple[float, bytes]] = {}
_active: dict[str, tuple[float, int]] = {}
_lock = threading.Lock()


class KeyDestroyed(crypto.DecryptionError):
    """The workspace's key was destroyed (crypto-shredded): its data is gone for good."""


def _context(workspace_id, purpose: str, version: int) -> bytes:
    return f"hotro-dek|{workspace_id}|{purpose}|{version}".encode()


def create_key(workspace_id, purpose: str = KeyPurpose.DATA) -> WorkspaceKey:
    """Create the next key version for ``purpose`` and make it the active one."""
    with workspace_scope(workspace_id), transaction.atomic():
        last = (
            WorkspaceKey.objects.select_for_update()
            .filter(workspace_id=workspace_id, purpose=purpose)
            .order_by("-version")
            .first()
        )
        version = (last.version + 1) if last else 1
        kek_id, wrapped = get_kek().wrap(crypto.new_key(), _context(workspace_id, purpose, version))
        WorkspaceKey.objects.filter(workspace_id=workspace_id, purpose=purpose).update(is_active=False)
        bits = None
        if purpose == KeyPurpose.INDEX:
            from .blind import planned_index_bits

            bits = planned_index_bits()
        key = WorkspaceKey.objects.create(
            workspace_id=workspace_id,
            purpose=purpose,
            version=version,
            kek_id=kek_id,
            wrapped=wrapped,
            bidx_bits=bits,
        )
    forget_cached_keys(workspace_id)
    return key


def ensure_workspace_keys(workspace_id) -> None:
    for purpose in (KeyPurpose.DATA, KeyPurpose.INDEX):
        with workspace_scope(workspace_id):
            exists = WorkspaceKey.objects.filter(workspace_id=workspace_id, purpose=purpose).exists()
        if not exists:
            create_key(workspace_id, purpose)


def forget_cached_keys(workspace_id=None) -> None:
    crypto.forget_contexts()
    with _lock:
        if workspace_id is None:
            _cache.clear()
            _active.clear()
            return
        wid = str(workspace_id)
        for k in [k for k in _cache if k[0] == wid]:
            del _cache[k]
        _active.pop(wid, None)


def _load(workspace_id, purpose: str, version: int) -> bytes:
    ck = (str(workspace_id), purpose, version)
    now = time.monotonic()
    hit = _cache.get(ck)
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    with workspace_scope(workspace_id):
        row = WorkspaceKey.objects.filter(workspace_id=workspace_id, purpose=purpose, version=version).first()
    if row is None:
        raise crypto.DecryptionError(f"No {purpose} key version {version} for this workspace.")
    if row.destroyed_at is not None:
        raise KeyDestroyed("The key this value was sealed with was destroyed: it can no longer be read.")
    key = get_kek().unwrap(row.kek_id, bytes(row.wrapped), _context(workspace_id, purpose, version))
    with _lock:
        _cache[ck] = (now, key)
    return key


def active_version(workspace_id, purpose: str = KeyPurpose.DATA) -> int:
    wid = str(workspace_id)
    now = time.monotonic()
    hit = _active.get(wid) if purpose == KeyPurpose.DATA else None
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    with workspace_scope(workspace_id):
        row = (
            WorkspaceKey.objects.filter(workspace_id=workspace_id, purpose=purpose, is_active=True)
            .values_list("version", "destroyed_at")
            .first()
        )
    if row is None:
        create_key(workspace_id, purpose)
        return active_version(workspace_id, purpose)
    if row[1] is not None:
        raise KeyDestroyed("This workspace's data was destroyed (its key no longer exists).")
    if purpose == KeyPurpose.DATA:
        with _lock:
            _active[wid] = (now, row[0])
    return row[0]


def data_key(workspace_id, version: int | None = None) -> tuple[int, bytes]:
    """``(version, raw key)`` of a data key: the active one unless ``version`` is given."""
    if version is None:
        version = active_version(workspace_id)
    return version, _load(workspace_id, KeyPurpose.DATA, version)


def encrypt(workspace_id, plaintext: bytes, aad: bytes, version: int | None = None) -> bytes:
    """Seal under the active data key (or the given version, used by re-encryption)."""
    version, key = data_key(workspace_id, version)
    return crypto.seal(key, version, plaintext, aad)


def decrypt(workspace_id, ciphertext: bytes, aad: bytes) -> bytes:
    version = crypto.key_version_of(ciphertext)
    return crypto.open_sealed(_load(workspace_id, KeyPurpose.DATA, version), ciphertext, aad)


def index_key(workspace_id, purpose: str) -> bytes:
    """A sub-key of the workspace's index key for one kind of blind index (``email``, ``token`` ...)."""
    ck = (str(workspace_id), "index-derived", purpose)
    hit = _cache.get(ck)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    version = active_version(workspace_id, KeyPurpose.INDEX)
    key = crypto.derive_key(_load(workspace_id, KeyPurpose.INDEX, version), purpose)
    with _lock:
        _cache[ck] = (time.monotonic(), key)
    return key


def index_bits(workspace_id) -> int:
    """Bit length of this workspace's e-mail/phone/identity blind indexes (fixed when its index key
    was created; see ``privacy.blind``)."""
    ck = (str(workspace_id), "index-bits", 0)
    hit = _cache.get(ck)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    version = active_version(workspace_id, KeyPurpose.INDEX)
    with workspace_scope(workspace_id):
        bits = (
            WorkspaceKey.objects.filter(workspace_id=workspace_id, purpose=KeyPurpose.INDEX, version=version)
            .values_list("bidx_bits", flat=True)
            .first()
        ) or LEGACY_INDEX_BITS
    with _lock:
        _cache[ck] = (time.monotonic(), bits)
    return bits


def rewrap_all() -> int:
    """Re-wrap every live key under the KEK's active version (after ``kek.rotate()``).

    Idempotent: rows already under the active master key are skipped, so it can be re-run until it
    returns 0 (keys created meanwhile by processes that had not yet seen the new master key).
    """
    kek = get_kek()
    count = 0
    pending = (
        WorkspaceKey.objects.filter(destroyed_at__isnull=True)
        .exclude(kek_id=kek.active_id)
        .values_list("pk", flat=True)
    )
    for pk in list(pending):
        with transaction.atomic():
            row = WorkspaceKey.objects.select_for_update().filter(pk=pk, destroyed_at__isnull=True).first()
            if row is None or row.kek_id == kek.active_id:
                continue
            ctx = _context(row.workspace_id, row.purpose, row.version)
            raw = kek.unwrap(row.kek_id, bytes(row.wrapped), ctx)
            row.kek_id, row.wrapped = kek.wrap(raw, ctx)
            row.save(update_fields=["kek_id", "wrapped"])
        count += 1
    return count


def shred_workspace(workspace_id) -> int:
    """Destroy every key of a workspace: all of its encrypted data becomes unreadable, for good.

    Database rows, backups and copies of its files can no longer be opened (their keys are gone).
    Once the transaction commits, the workspace's encrypted files are also removed from the file
    store to free the space; that deletion is housekeeping, not what makes the data unreadable.
    """
    from .audit import KEYS_SHREDDED, record
    from .rls import tenant_scope

    with tenant_scope(workspace_id):
        n = WorkspaceKey.objects.filter(workspace_id=workspace_id, destroyed_at__isnull=True).update(
            wrapped=b"", destroyed_at=timezone.now()
        )
        record(
            workspace_id,
            KEYS_SHREDDED,
            object_type="workspace",
            object_id=str(workspace_id),
            data={"keys": n},
        )
    forget_cached_keys(workspace_id)

    def _remove_files():
        from .storage import get_backend

        get_backend().delete_workspace(workspace_id)

    transaction.on_commit(_remove_files)
    return n
