import pytest
from django.db import connection

from hotro.contacts.models import Contact
from hotro.privacy import keys
from hotro.privacy.crypto import DecryptionError

pytestmark = pytest.mark.django_db


def test_it_stores_ciphertext_and_reads_plaintext(ws_a):
    c = Contact.objects.create(workspace=ws_a, name="Nguyễn Văn An", attributes={"tier": "gold"})
    with connection.cursor() as cur:
        cur.execute(
            "SELECT name FROM hotro_contact WHERE id = %s",
            [c.pk.hex if connection.vendor == "sqlite" else c.pk],
        )
        raw = bytes(cur.fetchone()[0])
    assert "Nguyễn".encode() not in raw and raw.startswith(b"H2")
    again = Contact.objects.get(pk=c.pk)
    assert again.name == "Nguyễn Văn An"
    assert again.attributes == {"tier": "gold"}


def test_it_refuses_a_ciphertext_moved_to_another_row(ws_a):
    a = Contact.objects.create(workspace=ws_a, name="Alice")
    b = Contact.objects.create(workspace=ws_a, name="Bob")
    Contact.objects.filter(pk=b.pk).update(name=Contact.objects.get(pk=a.pk).__dict__["name"])
    with pytest.raises(DecryptionError):
        _ = Contact.objects.get(pk=b.pk).name


def test_it_refuses_a_ciphertext_moved_to_another_workspace(ws_a, ws_b):
    a = Contact.objects.create(workspace=ws_a, name="Alice")
    sealed = Contact.objects.get(pk=a.pk).__dict__["name"]
    b = Contact.objects.create(workspace=ws_b, name="x")
    Contact.objects.filter(pk=b.pk).update(name=sealed)
    with pytest.raises(DecryptionError):
        _ = Contact.objects.get(pk=b.pk).name


def test_shredding_makes_data_unreadable(ws_a):
    c = Contact.objects.create(workspace=ws_a, name="Alice")
    keys.shred_workspace(ws_a.pk)
    with pytest.raises(DecryptionError):
        _ = Contact.objects.get(pk=c.pk).name


def test_the_associated_data_binds_the_workspace_even_under_one_key(ws_a, ws_b):
    # Same key, same table/column/row id, only the workspace differs: must not open.
    from hotro.privacy import crypto

    key = crypto.new_key()
    sealed = crypto.seal(key, 1, b"Alice", crypto.associated_data(ws_a.pk, "hotro_contact", "name", "r1"))
    assert (
        crypto.open_sealed(key, sealed, crypto.associated_data(ws_a.pk, "hotro_contact", "name", "r1"))
        == b"Alice"
    )
    with pytest.raises(DecryptionError):
        crypto.open_sealed(key, sealed, crypto.associated_data(ws_b.pk, "hotro_contact", "name", "r1"))


def test_shredding_is_audited(ws_a):
    from hotro.privacy.models import AuditEvent

    keys.shred_workspace(ws_a.pk)
    assert AuditEvent.objects.filter(workspace=ws_a, action="keys.shredded").count() == 1
