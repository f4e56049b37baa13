"""Encrypted file store: round trips, streaming, tamper detection, file modes, names."""

from __future__ import annotations

import io
import os
import stat

import pytest

from hotro.privacy import crypto, keys, storage

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


SEG = storage.SEGMENT_BYTES


@pytest.fixture(autouse=True)
def _file_root(settings, tmp_path):
    settings.HOTRO_FILE_ROOT = tmp_path / "files"


def _path(ws, key):
    return storage.LocalFileBackend().path(ws.pk, key)


@pytest.mark.parametrize("size", [0, 1, 100, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 7])
def test_it_round_trips_files_of_every_shape(ws_a, size):
    data = os.urandom(size)
    key = storage.save_file(ws_a.pk, data)
    assert storage.open_file(ws_a.pk, key) == data
    assert storage.file_size(ws_a.pk, key) == size
    assert b"".join(storage.iter_file(ws_a.pk, key)) == data


def test_it_reads_file_like_objects_in_segments(ws_a):
    data = b"Xin ch\xc3\xa0o " * 30000
    key = storage.save_file(ws_a.pk, io.BytesIO(data))
    chunks = list(storage.iter_file(ws_a.pk, key))
    assert len(chunks) == -(-len(data) // SEG) and b"".join(chunks) == data


def test_it_stores_only_ciphertext_privately_under_a_random_name(ws_a):
    data = "Hóa đơn của chị Lan: 0901 234 567".encode() * 100
    key = storage.save_file(ws_a.pk, data)
    path = _path(ws_a, key)
    assert len(key) == 32 and path.parent.parent.name == str(ws_a.pk)
    raw = path.read_bytes()
    assert raw.startswith(storage.FILE_MAGIC) and "Hóa đơn".encode() not in raw and b"0901" not in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert storage.save_file(ws_a.pk, data) != key


def test_it_detects_truncation_at_a_segment_boundary(ws_a):
    key = storage.save_file(ws_a.pk, os.urandom(3 * SEG))
    path = _path(ws_a, key)
    raw = path.read_bytes()
    path.write_bytes(raw[: storage.FILE_HEADER.size + 2 * (SEG + 16)])
    with pytest.raises(crypto.DecryptionError):
        storage.open_file(ws_a.pk, key)


def test_it_detects_reordered_segments_and_appended_data(ws_a):
    key = storage.save_file(ws_a.pk, os.urandom(3 * SEG))
    path = _path(ws_a, key)
    raw = path.read_bytes()
    h, s = storage.FILE_HEADER.size, SEG + 16
    path.write_bytes(raw[:h] + raw[h + s : h + 2 * s] + raw[h : h + s] + raw[h + 2 * s :])
    with pytest.raises(crypto.DecryptionError):
        storage.open_file(ws_a.pk, key)
    path.write_bytes(raw + raw[h : h + s])
    with pytest.raises(crypto.DecryptionError):
        storage.open_file(ws_a.pk, key)
    path.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(crypto.DecryptionError):
        storage.open_file(ws_a.pk, key)


def test_a_file_moved_to_another_name_or_workspace_does_not_open(ws_a, ws_b):
    key = storage.save_file(ws_a.pk, b"secret contract")
    other = storage.save_file(ws_a.pk, b"x")
    _path(ws_a, other).write_bytes(_path(ws_a, key).read_bytes())
    with pytest.raises(crypto.DecryptionError):
        storage.open_file(ws_a.pk, other)
    target = _path(ws_b, key)
    target.parent.mkdir(parents=True)
    target.write_bytes(_path(ws_a, key).read_bytes())
    with pytest.raises(crypto.DecryptionError):
        storage.open_file(ws_b.pk, key)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABCDEF0123456789ABCDEF0123456789", "", "a" * 33, None])
def test_it_refuses_names_it_did_not_make(ws_a, bad):
    with pytest.raises(storage.FileMissing):
        storage.open_file(ws_a.pk, bad)


def test_missing_and_deleted_files(ws_a):
    key = storage.save_file(ws_a.pk, b"data")
    assert storage.delete_file(ws_a.pk, key) is True
    assert storage.delete_file(ws_a.pk, key) is False
    with pytest.raises(storage.FileMissing):
        storage.open_file(ws_a.pk, key)


def test_it_refuses_files_over_the_limit_and_leaves_nothing(ws_a, tmp_path):
    with pytest.raises(storage.FileTooLarge):
        storage.save_file(ws_a.pk, io.BytesIO(b"x" * (2 * SEG + 5)), max_bytes=2 * SEG)
    assert list(storage.stored_names(ws_a.pk)) == []
    leftovers = [p for p in (tmp_path / "files").rglob("*") if p.is_file()]
    assert leftovers == []
    assert storage.open_file(ws_a.pk, storage.save_file(ws_a.pk, b"y" * 10, max_bytes=10)) == b"y" * 10


def test_reencrypting_a_file_changes_key_version_not_content(ws_a):
    data = os.urandom(SEG + 10)
    key = storage.save_file(ws_a.pk, data)
    before = _path(ws_a, key).read_bytes()
    v1 = storage.key_version_of_file(ws_a.pk, key)
    v2 = keys.create_key(ws_a.pk).version
    assert storage.reencrypt_file(ws_a.pk, key) is True
    assert storage.key_version_of_file(ws_a.pk, key) == v2 != v1
    assert _path(ws_a, key).read_bytes() != before
    assert storage.open_file(ws_a.pk, key) == data
    assert storage.reencrypt_file(ws_a.pk, key) is False
