"""Key rotation: a new master key (re-wrap), a new workspace data key (re-encrypt), retiring old keys.

* ``rotate_master_key()``: add a master key (``kek.rotate()``) and re-wrap every live workspace key
  under it.  No data is re-encrypted; old master keys must stay in the keyring until a re-run of
  ``keys.rewrap_all()`` returns 0.
* ``reencrypt_workspace(workspace)``: create a new data key version and re-seal every encrypted
  column of every model (found through the app registry) and every stored file under it, in
  batches ordered by primary key.  Progress is committed with each batch (``ReencryptionJob``), so an
  interrupted run resumes where it stopped.  Rows changed by the application meanwhile are not
  overwritten: each update is conditional on the ciphertext it replaces.
* ``retire_old_data_keys(workspace)``: after re-encryption, destroy the older data key versions, but
  only once a scan confirms nothing still uses them (other processes may have written with a cached
  older key for up to ``HOTRO_KEY_CACHE_SECONDS``).  Never automatic: backups taken before that
  moment stop being readable once the old keys are gone.

The blind-index key is never rotated (indexes must stay comparable); shredding destroys it too.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from . import crypto, keys, storage
from .fields import encrypted_fields
from .kek import get_kek
from .models import KeyPurpose, ReencryptionJob, WorkspaceKey

log = logging.getLogger(__name__)


class KeysInUse(RuntimeError):
    """Old data key versions are still used by some rows or files: re-encrypt again first."""


# --- scopes (Row-Level Security on PostgreSQL) ------------------------------------------------------
def _tenant(workspace_id):
    try:
        from .rls import tenant_scope
    except ImportError:  # pragma: no cover - rls is part of the privacy app
        return transaction.atomic()
    return tenant_scope(workspace_id)


def _system():
    try:
        from .rls import system_scope
    except ImportError:  # pragma: no cover
        return transaction.atomic()
    return system_scope()


def _audit(workspace_id, action: str, data: dict) -> None:
    try:
        from . import audit
    except ImportError:  # pragma: no cover
        return
    audit.record(workspace_id, action, object_type="workspace", object_id=str(workspace_id), data=data)


def _workspace_id(workspace):
    return getattr(workspace, "pk", workspace)


# --- master key -------------------------------------------------------------------------------------
def rotate_master_key() -> str:
    """Add a new master key, make it active and re-wrap every workspace key under it.

    Returns the new master key id.  Records ``keys.rotated`` in each affected workspace's audit log.
    """
    new_id = get_kek().rotate()
    with _system():
        count = keys.rewrap_all()
        workspace_ids = set(
            WorkspaceKey.objects.filter(destroyed_at__isnull=True, kek_id=new_id).values_list(
                "workspace_id", flat=True
            )
        )
        for wid in sorted(workspace_ids, key=str):
            _audit(wid, "keys.rotated", {"kek_id": new_id})
    keys.forget_cached_keys()
    log.info("Master key rotated to %s; %d workspace keys re-wrapped.", new_id, count)
    return new_id


# --- data keys --------------------------------------------------------------------------------------
def encrypted_models() -> list:
    """Every concrete model with encrypted columns and a ``workspace`` (what re-encryption covers)."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not encrypted_fields(model):
            continue
        if not any(f.attname == "workspace_id" for f in model._meta.concrete_fields):
            continue
        found.append(model)
    return sorted(found, key=lambda m: m._meta.label)


def _target_version(workspace_id) -> int:
    """The data key version to re-encrypt to: the active one if an unfinished run made it,
    otherwise a new one (the active key may already hold rows, so it is not "newer than the rows")."""
    active = keys.active_version(workspace_id)
    if ReencryptionJob.objects.filter(workspace_id=workspace_id, key_version=active, done=False).exists():
        return active
    return keys.create_key(workspace_id, KeyPurpose.DATA).version


def _job(workspace_id, version: int, label: str) -> ReencryptionJob:
    job, _ = ReencryptionJob.objects.get_or_create(
        workspace_id=workspace_id, key_version=version, model_label=label
    )
    return job


def _reseal_row(model, obj, fields, version: int) -> bool:
    """Re-seal the row's old-version values; returns True when the row was rewritten."""
    old, new = {}, {}
    for field in fields:
        raw = obj.__dict__.get(field.attname)
        if raw is None or crypto.key_version_of(raw) == version:
            continue
        old[field.attname] = bytes(raw)
        new[field.attname] = field.seal_for(obj, raw, version=version)
    if not new:
        return False
    if model._base_manager.filter(pk=obj.pk, **old).update(**new):
        return True
    # Changed by the application since we read it: re-read under a lock and re-seal what is there now.
    fresh = model._base_manager.select_for_update().filter(pk=obj.pk).only("pk", "workspace_id", *old).first()
    if fresh is None:
        return False
    return _reseal_row(model, fresh, [f for f in fields if f.attname in old], version)


def _run_model(workspace_id, model, version: int, batch_size: int, bar) -> tuple[int, int]:
    """Re-encrypt one model's rows; returns (rows rewritten, rows unreadable)."""
    fields = encrypted_fields(model)
    names = [f.attname for f in fields]
    with _tenant(workspace_id):
        job = _job(workspace_id, version, model._meta.label)
    rewritten = unreadable = 0
    while not job.done:
        with _tenant(workspace_id):
            qs = (
                model._base_manager.filter(workspace_id=workspace_id)
                .order_by("pk")
                .only("pk", "workspace_id", *names)
            )
            if job.last_pk:
                qs = qs.filter(pk__gt=job.last_pk)
            batch = list(qs[:batch_size])
            done_here = 0
            for obj in batch:
                try:
                    done_here += _reseal_row(model, obj, fields, version)
                except keys.KeyDestroyed:
                    raise
                except crypto.DecryptionError:
                    unreadable += 1  # tampered or misplaced ciphertext: left as is, reported
            if batch:
                job.last_pk = str(batch[-1].pk)
                job.rewritten += done_here
            if len(batch) < batch_size:
                job.done, job.finished_at = True, timezone.now()
            job.save()
        rewritten += done_here
        bar.update(len(batch))
    if unreadable:
        log.warning("Re-encryption of %s left %d unreadable rows unchanged.", model._meta.label, unreadable)
    return rewritten, unreadable


def _run_files(workspace_id, version: int, batch_size: int, bar) -> int:
    with _tenant(workspace_id):
        job = _job(workspace_id, version, ReencryptionJob.FILES)
    if job.done:
        return 0
    count = 0
    pending = [n for n in storage.stored_names(workspace_id) if n > job.last_pk]
    for start in range(0, len(pending), batch_size):
        chunk = pending[start : start + batch_size]
        done_here = 0
        for name in chunk:
            try:
                done_here += storage.reencrypt_file(workspace_id, name, version)
            except storage.FileMissing:
                pass  # deleted meanwhile
            except keys.KeyDestroyed:
                raise
            except crypto.DecryptionError:
                log.warning("Re-encryption left an unreadable stored file unchanged.")
        with _tenant(workspace_id):
            job.last_pk = chunk[-1]
            job.rewritten += done_here
            job.save(update_fields=["last_pk", "rewritten"])
        count += done_here
        bar.update(len(chunk))
    with _tenant(workspace_id):
        job.done, job.finished_at = True, timezone.now()
        job.save(update_fields=["done", "finished_at"])
    return count


def reencrypt_workspace(workspace, progress: bool = False, batch_size: int = 500) -> dict:
    """Re-seal all of a workspace's encrypted rows and files under a new data key version.

    Resumable and idempotent: an interrupted run continues from its last committed batch when called
    again.  Returns ``{"key_version", "rows", "files", "unreadable"}``.  Raises ``keys.KeyDestroyed``
    for a shredded workspace.
    """
    workspace_id = _workspace_id(workspace)
    with _tenant(workspace_id):
        version = _target_version(workspace_id)
    models = encrypted_models()
    total = None
    if progress:
        with _tenant(workspace_id):
            total = sum(m._base_manager.filter(workspace_id=workspace_id).count() for m in models)
        total += sum(1 for _ in storage.stored_names(workspace_id))
    rows = unreadable = 0
    with tqdm(total=total, disable=not progress, unit="row", desc="re-encrypting") as bar:
        for model in models:
            r, u = _run_model(workspace_id, model, version, batch_size, bar)
            rows, unreadable = rows + r, unreadable + u
        files = _run_files(workspace_id, version, batch_size, bar)
    with _tenant(workspace_id):
        _audit(workspace_id, "keys.reencrypted", {"key_version": version, "rows": rows, "files": files})
    return {"key_version": version, "rows": rows, "files": files, "unreadable": unreadable}


def versions_in_use(workspace_id) -> dict[int, int]:
    """How many encrypted values (columns and files) use each data key version."""
    used: dict[int, int] = {}
    with _tenant(workspace_id):
        for model in encrypted_models():
            names = [f.attname for f in encrypted_fields(model)]
            rows = model._base_manager.filter(workspace_id=workspace_id).values_list(*names)
            for values in rows.iterator(chunk_size=2000):
                for raw in values:
                    if raw is not None:
                        v = crypto.key_version_of(bytes(raw))
                        used[v] = used.get(v, 0) + 1
    for name in storage.stored_names(workspace_id):
        try:
            v = storage.key_version_of_file(workspace_id, name)
        except (storage.FileMissing, crypto.DecryptionError):
            continue
        used[v] = used.get(v, 0) + 1
    return used


def retire_old_data_keys(workspace) -> list[int]:
    """Destroy the data key versions older than the active one, once nothing uses them.

    Returns the versions destroyed.  Raises ``KeysInUse`` (destroying nothing) when a scan finds
    values still sealed under an old version: run ``reencrypt_workspace`` again, then retry.
    """
    workspace_id = _workspace_id(workspace)
    with _tenant(workspace_id):
        active = keys.active_version(workspace_id)
    in_use = {v: n for v, n in versions_in_use(workspace_id).items() if v != active}
    if in_use:
        detail = ", ".join(f"version {v}: {n}" for v, n in sorted(in_use.items()))
        raise KeysInUse(f"Older data keys are still in use ({detail}); run the re-encryption again first.")
    with _tenant(workspace_id):
        old = list(
            WorkspaceKey.objects.filter(
                workspace_id=workspace_id,
                purpose=KeyPurpose.DATA,
                version__lt=active,
                destroyed_at__isnull=True,
            ).values_list("version", flat=True)
        )
        WorkspaceKey.objects.filter(
            workspace_id=workspace_id, purpose=KeyPurpose.DATA, version__in=old
        ).update(wrapped=b"", destroyed_at=timezone.now())
        if old:
            _audit(workspace_id, "keys.retired", {"versions": sorted(old)})
    keys.forget_cached_keys(workspace_id)
    return sorted(old)
