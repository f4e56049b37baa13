"""Envelope encryption: ciphertext format, key wrapping, caches, and plaintext never leaking out."""

from __future__ import annotations

import logging
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.core import serializers
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotro.contacts.models import Contact
from hotro.privacy import blind, crypto, keys
from hotro.privacy.fields import EncryptedField, Sealed, encrypted_fields
from hotro.privacy.kek import LocalKeyring, get_kek

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


SECRET = "Trần Thị Bích Ngọc"


def test_it_authenticates_the_header_so_the_key_version_cannot_be_swapped():
    key = crypto.new_key()
    sealed = crypto.seal(key, 1, b"hello", b"ctx")
    assert crypto.open_sealed(key, sealed, b"ctx") == b"hello"
    forged = crypto.HEADER.pack(crypto.MAGIC, 2) + sealed[crypto.HEADER.size :]
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(key, forged, b"ctx")


def test_it_pads_so_lengths_of_short_values_do_not_show():
    key = crypto.new_key()
    sizes = {len(crypto.seal(key, 1, b"x" * n, b"a")) for n in range(15)}
    assert len(sizes) == 1
    for n in (0, 1, 15, 16, 17, 100):
        data = bytes(range(256))[:n] + b"\x80\x00" * 3
        assert crypto.open_sealed(key, crypto.seal(key, 1, data, b"a"), b"a") == data


def test_it_refuses_an_unknown_format_and_an_altered_key_version():
    key = crypto.new_key()
    nonce = os.urandom(12)
    foreign = struct.pack(">2sI", b"H1", 3) + nonce + AESGCM(key).encrypt(nonce, b"old value", b"ctx")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(key, foreign, b"ctx")
    sealed = bytearray(crypto.seal(key, 1, b"value", b"ctx"))
    sealed[5] = 2  # claim key version 2: the authenticated header no longer matches
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(key, bytes(sealed), b"ctx")


def test_it_refuses_to_seal_without_a_row_id():
    with pytest.raises(ValueError, match="row id"):
        crypto.associated_data("ws", "t", "c", None)


def test_sealed_values_print_without_their_bytes(ws_a):
    c = Contact.objects.create(workspace=ws_a, name=SECRET)
    sealed = Contact.objects.get(pk=c.pk).__dict__["name"]
    assert isinstance(sealed, Sealed)
    assert repr(sealed) == f"<sealed {len(sealed)} bytes>"


def test_model_reprs_and_serializers_show_no_plaintext(ws_a):
    """Every model with encrypted fields: repr/str of an instance holding plaintext, and the
    serializer output of a saved one, never contain the plaintext."""
    for model in apps.get_models():
        fields = encrypted_fields(model)
        if not fields:
            continue
        obj = model()
        for field in fields:
            obj.__dict__[field.attname] = SECRET
        assert SECRET not in repr(obj), model
        assert SECRET not in str(obj), model
    c = Contact.objects.create(workspace=ws_a, name=SECRET, email="ngoc@example.test")
    dumped = serializers.serialize("json", [Contact.objects.get(pk=c.pk)])
    assert SECRET not in dumped and "ngoc@example.test" not in dumped


def test_sql_and_logs_carry_only_ciphertext(ws_a, caplog):
    caplog.set_level(logging.DEBUG)
    with CaptureQueriesContext(connection) as queries:
        c = Contact.objects.create(workspace=ws_a, name=SECRET, attributes={"note": SECRET})
        assert Contact.objects.get(pk=c.pk).name == SECRET
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert SECRET not in sql
    assert SECRET not in caplog.text


def test_plaintext_cannot_reach_a_query(ws_a):
    with pytest.raises(TypeError):
        list(Contact.objects.filter(name=SECRET))
    with pytest.raises(TypeError):
        Contact.objects.filter(workspace=ws_a).update(name=SECRET)


def test_a_copied_instance_is_resealed_for_its_new_row(ws_a):
    c = Contact.objects.create(workspace=ws_a, name=SECRET, email="a@example.test")
    copy = Contact.objects.get(pk=c.pk)
    copy.pk = None
    copy.id = None
    copy.save()
    assert copy.pk != c.pk
    again = Contact.objects.get(pk=copy.pk)
    assert again.name == SECRET and again.email == "a@example.test"


def test_a_keyring_picks_up_a_master_key_another_process_added(ws_a):
    other_process = LocalKeyring.from_settings()
    ring = get_kek()
    new_id = ring.rotate()
    kek_id, wrapped = ring.wrap(b"k" * 32, b"ctx")
    assert kek_id == new_id
    assert other_process.unwrap(kek_id, wrapped, b"ctx") == b"k" * 32
    assert other_process.active_id == new_id


def test_the_key_file_is_private(ws_a):
    ring = get_kek()
    assert ring.path is not None
    assert os.stat(ring.path).st_mode & 0o077 == 0


def test_an_environment_keyring_refuses_to_rotate(master_key_b64):
    from django.core.exceptions import ImproperlyConfigured

    ring = LocalKeyring({"env": __import__("base64").b64decode(master_key_b64)}, "env")
    with pytest.raises(ImproperlyConfigured):
        ring.rotate()
    assert list(ring.keys) == ["env"]


def test_blind_index_bits_follow_the_planned_population(settings, ws_a):
    assert blind.planned_index_bits(1_000_000) == 18
    assert blind.planned_index_bits(50_000) == 14
    assert blind.planned_index_bits(10) == 8
    assert blind.planned_index_bits(10**12) == 32
    assert keys.index_bits(ws_a.pk) == blind.planned_index_bits()
    idx = blind.email_index(ws_a.pk, "Someone@Example.test")
    assert 0 <= idx < 2 ** keys.index_bits(ws_a.pk)
    assert idx == blind.email_index(ws_a.pk, "  someone@example.TEST ")


def test_each_workspace_has_its_own_tokens(ws_a, ws_b):
    assert blind.search_tokens(ws_a.pk, "hoàn tiền") != blind.search_tokens(ws_b.pk, "hoàn tiền")
    assert blind.search_tokens(ws_a.pk, "Hoàn Tiền") == blind.search_tokens(ws_a.pk, "hoan tien")


def test_every_encrypted_field_is_an_encrypted_field_subclass():
    # guards the app-registry discovery that re-encryption relies on
    from hotro.privacy.rotation import encrypted_models

    labels = {m._meta.label for m in encrypted_models()}
    assert {"contacts.Contact", "conversations.Message", "conversations.Attachment"} <= labels
    for model in encrypted_models():
        assert all(isinstance(f, EncryptedField) for f in encrypted_fields(model))


def test_loading_rows_with_deferred_workspace_costs_no_extra_queries(ws_a):
    for i in range(3):
        Contact.objects.create(workspace=ws_a, name=f"{SECRET} {i}")
    with CaptureQueriesContext(connection) as queries:
        rows = list(Contact.objects.filter(workspace=ws_a).only("pk", "name"))
    assert len(queries.captured_queries) == 1 and len(rows) == 3
