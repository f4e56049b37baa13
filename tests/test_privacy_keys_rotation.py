"""Key rotation keeps everything readable; shredding makes everything unreadable, backups included."""

from __future__ import annotations

import shutil

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from hotro.connectors.models import Inbox
from hotro.contacts.models import Contact, ContactIdentity
from hotro.conversations.models import Attachment, Conversation, Message
from hotro.privacy import crypto, keys, rotation, storage
from hotro.privacy.kek import get_kek
from hotro.privacy.models import KeyPurpose, ReencryptionJob, WorkspaceKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def ws_a(db):
    return _workspace("alpha")


@pytest.fixture
def ws_b(db):
    return _workspace("beta")


def _workspace(slug):
    """A workspace with its keys but no owner account (skips a slow Argon2 hash per test)."""
    from hotro.privacy.keys import ensure_workspace_keys
    from hotro.tenancy.models import Workspace

    ws = Workspace.objects.create(slug=slug, name=slug.title())
    ensure_workspace_keys(ws.pk)
    return ws


@pytest.fixture(autouse=True)
def _file_root(settings, tmp_path):
    settings.HOTRO_FILE_ROOT = tmp_path / "files"


def _seed(ws, n=5):
    inbox = Inbox.objects.create(workspace=ws, connector="api", name="API", credentials={"token": "s3cret"})
    rows = []
    for i in range(n):
        contact = Contact.objects.create(
            workspace=ws, name=f"Khách {i}", email=f"khach{i}@example.test", attributes={"i": i}
        )
        ContactIdentity.objects.create(
            workspace=ws,
            contact=contact,
            channel="api",
            address=f"user-{i}",
            address_bidx=i,
            address_key=f"k{i}",
        )
        conv = Conversation.objects.create(
            workspace=ws,
            number=i + 1,
            inbox=inbox,
            contact=contact,
            subject=f"Đơn hàng {i}",
            last_activity_at=timezone.now(),
        )
        msg = Message.objects.create(
            workspace=ws,
            conversation=conv,
            inbox=inbox,
            direction="in",
            text=f"Xin hoàn tiền đơn {i}",
            created_at=timezone.now(),
        )
        key = storage.save_file(ws.pk, f"file content {i}".encode() * 5000)
        Attachment.objects.create(
            workspace=ws,
            message=msg,
            filename=f"hoa-don-{i}.pdf",
            content_type="application/pdf",
            size=0,
            storage_key=key,
        )
        rows.append((contact.pk, msg.pk, key, i))
    return rows


def _check_readable(ws, rows):
    for contact_pk, msg_pk, key, i in rows:
        contact = Contact.objects.get(pk=contact_pk)
        assert contact.name == f"Khách {i}" and contact.attributes == {"i": i}
        assert Message.objects.get(pk=msg_pk).text == f"Xin hoàn tiền đơn {i}"
        assert Attachment.objects.get(message_id=msg_pk).filename == f"hoa-don-{i}.pdf"
        assert storage.open_file(ws.pk, key) == f"file content {i}".encode() * 5000
    assert Inbox.objects.get(workspace=ws).credentials == {"token": "s3cret"}


def _raw(table, column, pk):
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {column} FROM {table} WHERE id = %s", [pk.hex if connection.vendor == "sqlite" else pk]
        )
        return bytes(cur.fetchone()[0])


def test_master_key_rotation_rewraps_keys_and_keeps_data_readable(ws_a, ws_b):
    rows = _seed(ws_a, 3)
    old_kek = get_kek().active_id
    new_id = rotation.rotate_master_key()
    assert new_id != old_kek
    assert not WorkspaceKey.objects.filter(destroyed_at__isnull=True).exclude(kek_id=new_id).exists()
    keys.forget_cached_keys()
    _check_readable(ws_a, rows)
    assert keys.rewrap_all() == 0  # idempotent
    from hotro.privacy.models import AuditEvent

    assert AuditEvent.objects.filter(workspace=ws_a, action="keys.rotated").exists()
    assert AuditEvent.objects.filter(workspace=ws_b, action="keys.rotated").exists()


def test_reencryption_moves_rows_and_files_to_a_new_key_version(ws_a, ws_b):
    rows = _seed(ws_a, 4)
    other = _seed(ws_b, 1)
    before = keys.active_version(ws_a.pk)
    result = rotation.reencrypt_workspace(ws_a, batch_size=3)
    assert result["key_version"] == before + 1
    assert result["files"] == 4 and result["rows"] >= 4 * 5
    keys.forget_cached_keys()
    _check_readable(ws_a, rows)
    _check_readable(ws_b, other)
    assert rotation.versions_in_use(ws_a.pk).keys() == {before + 1}
    assert crypto.key_version_of(_raw("hotro_message", "text", rows[0][1])) == before + 1
    assert storage.key_version_of_file(ws_a.pk, rows[0][2]) == before + 1
    assert rotation.versions_in_use(ws_b.pk).keys() == {keys.active_version(ws_b.pk)}


def test_reencryption_resumes_after_an_interruption(ws_a, monkeypatch):
    rows = _seed(ws_a, 6)
    real = rotation._reseal_row
    calls = {"n": 0}

    def flaky(model, obj, fields, version):
        if model is Message:
            calls["n"] += 1
            if calls["n"] == 4 and not calls.get("raised"):  # in the second batch of two
                calls["raised"] = True
                raise RuntimeError("worker killed")
        return real(model, obj, fields, version)

    monkeypatch.setattr(rotation, "_reseal_row", flaky)
    with pytest.raises(RuntimeError):
        rotation.reencrypt_workspace(ws_a, batch_size=2)
    version = keys.active_version(ws_a.pk)
    assert ReencryptionJob.objects.filter(workspace=ws_a, key_version=version, done=True).exists()
    stopped = ReencryptionJob.objects.get(workspace=ws_a, key_version=version, done=False)
    assert stopped.model_label == "conversations.Message" and stopped.last_pk and stopped.rewritten == 2
    result = rotation.reencrypt_workspace(ws_a, batch_size=2)
    assert result["key_version"] == version  # resumed, no new key
    assert calls["n"] == 8  # messages 3..6 only: the committed first batch was not redone
    assert not ReencryptionJob.objects.filter(workspace=ws_a, done=False).exists()
    assert rotation.versions_in_use(ws_a.pk).keys() == {version}
    _check_readable(ws_a, rows)


def test_reencryption_does_not_overwrite_a_concurrent_edit(ws_a, monkeypatch):
    contact = Contact.objects.create(workspace=ws_a, name="Old name")
    real = rotation._reseal_row

    def edit_first(model, obj, fields, version):
        if model is Contact and obj.pk == contact.pk:
            fresh = Contact.objects.get(pk=contact.pk)
            fresh.name = "Edited meanwhile"
            fresh.save(update_fields=["name"])
        return real(model, obj, fields, version)

    monkeypatch.setattr(rotation, "_reseal_row", edit_first)
    rotation.reencrypt_workspace(ws_a)
    assert Contact.objects.get(pk=contact.pk).name == "Edited meanwhile"


def test_old_keys_retire_only_when_unused(ws_a):
    rows = _seed(ws_a, 2)
    first = keys.active_version(ws_a.pk)
    keys.create_key(ws_a.pk)  # a newer key exists but rows still use the old one
    with pytest.raises(rotation.KeysInUse):
        rotation.retire_old_data_keys(ws_a)
    assert not WorkspaceKey.objects.filter(workspace=ws_a, destroyed_at__isnull=False).exists()
    rotation.reencrypt_workspace(ws_a)
    retired = rotation.retire_old_data_keys(ws_a)
    assert first in retired
    keys.forget_cached_keys()
    _check_readable(ws_a, rows)
    index_key = WorkspaceKey.objects.get(workspace=ws_a, purpose=KeyPurpose.INDEX)
    assert index_key.destroyed_at is None


def test_shredding_makes_rows_files_and_file_backups_unreadable(
    ws_a, ws_b, tmp_path, django_capture_on_commit_callbacks
):
    rows = _seed(ws_a, 2)
    other = _seed(ws_b, 1)
    backup = tmp_path / "backup"
    shutil.copytree(tmp_path / "files" / str(ws_a.pk), backup)
    with django_capture_on_commit_callbacks(execute=True):
        keys.shred_workspace(ws_a.pk)
    keys.forget_cached_keys()
    with pytest.raises(crypto.DecryptionError):
        _ = Contact.objects.get(pk=rows[0][0]).name
    with pytest.raises(crypto.DecryptionError):
        _ = Message.objects.get(pk=rows[0][1]).text
    assert not (tmp_path / "files" / str(ws_a.pk)).exists()  # files removed after commit
    shutil.copytree(backup, tmp_path / "files" / str(ws_a.pk))  # ... and a restored backup stays sealed
    with pytest.raises(crypto.DecryptionError):
        storage.open_file(ws_a.pk, rows[0][2])
    with pytest.raises(keys.KeyDestroyed):
        rotation.reencrypt_workspace(ws_a)
    _check_readable(ws_b, other)


def test_the_management_commands_rotate_reencrypt_and_retire(ws_a, capsys):
    rows = _seed(ws_a, 1)
    call_command("keys_rotate")
    call_command("keys_reencrypt", "alpha", "--no-progress", "--batch-size", "2")
    call_command("keys_retire", "alpha")
    out = capsys.readouterr().out
    assert "now active" in out and "now seals everything" in out and "Destroyed data key versions 1" in out
    keys.forget_cached_keys()
    _check_readable(ws_a, rows)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no workspace"):
        call_command("keys_reencrypt", "nope")
