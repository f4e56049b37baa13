"""One sender is one identity and one contact: exact identity keys, concurrent workers, old rows."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from hotro.connectors.base import InboundMessage
from hotro.connectors.models import Inbox
from hotro.contacts.actions import do_resolve_contact, find_identity
from hotro.contacts.models import Contact, ContactIdentity
from hotro.conversations.actions import do_receive_message
from hotro.conversations.models import Message
from hotro.privacy import blind


@pytest.mark.django_db
def test_senders_whose_blind_indexes_collide_keep_their_own_contacts(ws_a):
    """18-bit blind indexes collide by design: the exact identity key keeps senders apart."""
    lan, _ = do_resolve_contact(ws_a.pk, channel="email", address="lan@example.vn", name="Lan")
    # make the next sender's blind index the same as Lan's (a coincidence that will happen)
    binh_index = blind.address_index(ws_a.pk, "email", "binh@example.vn")
    ContactIdentity.objects.filter(pk=lan.pk).update(address_bidx=binh_index)
    binh, created = do_resolve_contact(ws_a.pk, channel="email", address="binh@example.vn", name="Bình")
    assert created and binh.contact_id != lan.contact_id
    assert find_identity(ws_a.pk, "email", "BINH@example.vn ").pk == binh.pk
    assert find_identity(ws_a.pk, "email", "lan@example.vn").pk == lan.pk
    assert find_identity(ws_a.pk, "email", "chi@example.vn") is None


@pytest.mark.django_db
def test_a_sender_is_found_in_any_spelling_and_never_twice(ws_a):
    first, created = do_resolve_contact(ws_a.pk, channel="phone", address="0901 234 567")
    again, created_again = do_resolve_contact(ws_a.pk, channel="phone", address="+84901234567")
    assert created and not created_again and again.pk == first.pk
    assert ContactIdentity.objects.filter(workspace=ws_a).count() == 1


@pytest.mark.django_db
def test_the_same_address_in_two_workspaces_is_two_identities(ws_a, ws_b):
    a, _ = do_resolve_contact(ws_a.pk, channel="email", address="lan@example.vn")
    b, _ = do_resolve_contact(ws_b.pk, channel="email", address="lan@example.vn")
    assert a.pk != b.pk and a.address_key != b.address_key  # per-workspace keys link nothing


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_create_each_sender_once(ws_a):
    """Two workers receive messages from the same 60 new senders at the same moment."""
    inbox = Inbox.objects.create(workspace=ws_a, connector="api", name="API")
    senders = [f"cust-{n}" for n in range(60)]
    barrier = threading.Barrier(2)
    errors = []

    def worker(tag):
        try:
            barrier.wait()
            for sender in senders:
                do_receive_message(
                    inbox,
                    InboundMessage(
                        external_id=f"{tag}-{sender}",
                        channel="api",
                        sender_address=sender,
                        text="Chốt đơn",
                        sender_email=f"{sender}@example.vn",
                    ),
                )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(tag,)) for tag in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Message.objects.filter(inbox=inbox).count() == 120
    assert ContactIdentity.objects.filter(workspace=ws_a, channel="api").count() == 60
    assert Contact.objects.filter(workspace=ws_a).count() == 60


@pytest.mark.postgres
@pytest.mark.db_owner  # migrates the schema back and forth
@pytest.mark.django_db(transaction=True)
def test_the_migration_keys_old_identities_and_folds_duplicates(ws_a):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("contacts", "0002_suppression")])
    old = executor.loader.project_state([("contacts", "0002_suppression")]).apps
    OldContact = old.get_model("contacts", "Contact")
    OldIdentity = old.get_model("contacts", "ContactIdentity")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hotro.bypass_rls', 'on', false)")
    try:
        contacts = [OldContact.objects.create(workspace_id=ws_a.pk) for _ in range(3)]
        made = [
            OldIdentity.objects.create(
                workspace_id=ws_a.pk, contact=contacts[n], channel="email", address=address, address_bidx=n
            )
            for n, address in enumerate(["lan@example.vn", "LAN@example.vn", "binh@example.vn"])
        ]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('hotro.bypass_rls', 'off', false)")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    remaining = {i.pk: i for i in ContactIdentity.objects.filter(workspace=ws_a)}
    assert set(remaining) == {made[0].pk, made[2].pk}  # the later copy of Lan was folded into the first
    assert remaining[made[0].pk].address_key == blind.identity_key(ws_a.pk, "email", "lan@example.vn")
    assert find_identity(ws_a.pk, "email", "binh@example.vn").pk == made[2].pk
