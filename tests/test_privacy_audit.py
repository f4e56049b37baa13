"""Audit log: per-workspace sequence, hash chain, tamper detection, append-only in PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory, override_settings

from conftest import as_db_owner
from hotro.accounts.models import User
from hotro.privacy import audit
from hotro.privacy.audit import find_chain_problems, record, verify_chain
from hotro.privacy.models import AuditEvent
from hotro.tenancy.models import Workspace

pytestmark = pytest.mark.django_db


@contextmanager
def as_dba():
    """What a database administrator could do: bypass the append-only trigger (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with as_db_owner():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            yield
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
    else:
        yield


def _events(ws, n=5, **kwargs):
    return [
        record(ws.pk, audit.CONTACT_VIEWED, object_type="contact", object_id=f"c{i}", **kwargs)
        for i in range(n)
    ]


def test_it_numbers_events_per_workspace_and_chains_them(ws_a, ws_b, owner_a):
    a = _events(ws_a, 3, actor=owner_a.user)
    b = _events(ws_b, 2)
    assert [e.seq for e in a] == [1, 2, 3] and [e.seq for e in b] == [1, 2]
    assert a[0].prev_hash == audit.GENESIS_HASH
    assert a[1].prev_hash == a[0].hash and a[2].prev_hash == a[1].hash
    assert a[0].actor_label == f"owner (#{owner_a.user.pk})"
    assert b[0].actor_label == "system"
    assert verify_chain() == []


def test_a_chain_read_back_from_the_database_verifies(ws_a, owner_a):
    record(
        ws_a.pk,
        audit.MEMBER_ROLE_CHANGED,
        actor=owner_a.user,
        ip="::ffff:10.0.0.7",
        object_type="membership",
        object_id=uuid.uuid4(),
        data={"from": "agent", "to": "admin", "ref": uuid.uuid4(), "n": 1.5, "ok": True},
    )
    stored = AuditEvent.objects.get(workspace=ws_a, seq=1)
    assert stored.ip == "10.0.0.7"
    assert audit.compute_hash(stored) == stored.hash
    assert verify_chain(ws_a.pk) == []


def test_it_finds_an_edited_row(ws_a, ws_b):
    _events(ws_a, 5)
    _events(ws_b, 2)
    with as_dba():
        AuditEvent.objects.filter(workspace=ws_a, seq=3).update(object_id="someone-else")
    problems = find_chain_problems()
    assert [(p.workspace_id, p.seq, p.kind) for p in problems] == [(str(ws_a.pk), 3, "altered")]
    assert "seq 3" in verify_chain(ws_a.pk)[0]
    assert verify_chain(ws_b.pk) == []


def test_it_finds_a_row_whose_hash_was_recomputed(ws_a):
    """Rewriting a row *and* its hash breaks the link to the next row."""
    events = _events(ws_a, 4)
    forged = AuditEvent.objects.get(pk=events[1].pk)
    forged.data = {"forged": True}
    new_hash = audit.compute_hash(forged)
    with as_dba():
        AuditEvent.objects.filter(pk=forged.pk).update(data={"forged": True}, hash=new_hash)
    assert [(p.seq, p.kind) for p in find_chain_problems(ws_a.pk)] == [(3, "out_of_order")]


def test_it_finds_a_deleted_row(ws_a):
    _events(ws_a, 5)
    with audit.purge_scope():
        AuditEvent.objects.filter(workspace=ws_a, seq=2).delete()
    problems = find_chain_problems(ws_a.pk)
    assert [(p.seq, p.kind) for p in problems] == [(2, "missing")]


def test_it_finds_reordered_rows(ws_a):
    _events(ws_a, 4)
    with as_dba():
        AuditEvent.objects.filter(workspace=ws_a, seq=2).update(seq=1000)
        AuditEvent.objects.filter(workspace=ws_a, seq=3).update(seq=2)
        AuditEvent.objects.filter(workspace=ws_a, seq=1000).update(seq=3)
    problems = find_chain_problems(ws_a.pk)
    assert [(p.seq, p.kind) for p in problems] == [(2, "out_of_order")]


def test_the_chain_survives_deleting_the_actor_account(ws_a):
    user = User.objects.create_user(username="gone@alpha.test", email="gone@alpha.test")
    record(ws_a.pk, audit.EXPORT_CREATED, actor=user)
    record(ws_a.pk, audit.EXPORT_CREATED, actor=user)
    user_pk = user.pk
    user.delete()
    event = AuditEvent.objects.get(workspace=ws_a, seq=1)
    assert event.actor_id is None and audit.actor_ref(event) == str(user_pk)
    assert verify_chain(ws_a.pk) == []


def test_pointing_a_row_at_another_user_is_detected(ws_a, owner_a):
    other = User.objects.create_user(username="x@alpha.test", email="x@alpha.test")
    record(ws_a.pk, audit.EXPORT_CREATED, actor=other)
    with as_dba():
        AuditEvent.objects.filter(workspace=ws_a, seq=1).update(actor=owner_a.user)
    assert [(p.seq, p.kind) for p in find_chain_problems(ws_a.pk)] == [(1, "altered")]


def test_record_joins_the_callers_transaction(ws_a):
    with pytest.raises(RuntimeError), transaction.atomic():
        record(ws_a.pk, audit.INBOX_CREATED)
        raise RuntimeError("the audited change failed")
    assert not AuditEvent.objects.filter(workspace=ws_a).exists()
    assert record(ws_a.pk, audit.INBOX_CREATED).seq == 1


def test_record_refuses_an_unknown_workspace(db):
    with pytest.raises(ValueError, match="No workspace"):
        record(uuid.uuid4(), audit.INBOX_CREATED)


def test_record_request_takes_the_client_address(owner_a):
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    request.user = owner_a.user
    with override_settings(HOTRO_TRUSTED_PROXY=0):
        assert audit.record_request(request, owner_a, audit.CONTACT_VIEWED).ip == "10.1.1.1"
    with override_settings(HOTRO_TRUSTED_PROXY=1):
        event = audit.record_request(
            request, owner_a, audit.CONTACT_VIEWED, object_type="contact", object_id="c1"
        )
    assert event.ip == "203.0.113.9" and event.actor_id == owner_a.user_id and event.object_id == "c1"
    with override_settings(HOTRO_TRUSTED_PROXY=2):
        assert audit.record_request(request, owner_a, audit.CONTACT_VIEWED).ip == "6.6.6.6"
    assert verify_chain(owner_a.workspace_id) == []


def test_audit_verify_command_reports_tampering(ws_a):
    _events(ws_a, 3)
    call_command("audit_verify")
    with as_dba():
        AuditEvent.objects.filter(workspace=ws_a, seq=2).update(action=audit.EXPORT_CREATED)
    with pytest.raises(CommandError, match="1 audit chain"):
        call_command("audit_verify", workspace=str(ws_a.pk))


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_audit_rows(ws_a):
    _events(ws_a, 2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(workspace=ws_a, seq=1).update(data={"x": 1})
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(workspace=ws_a, seq=2).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Workspace.objects.filter(pk=ws_a.pk).delete()
    assert AuditEvent.objects.filter(workspace=ws_a).count() == 2 and verify_chain() == []


@pytest.mark.postgres
def test_a_workspace_purge_may_delete_its_audit_rows(ws_a, ws_b):
    _events(ws_a, 2)
    _events(ws_b, 2)
    with audit.purge_scope():
        Workspace.objects.filter(pk=ws_a.pk).delete()
    assert not AuditEvent.objects.filter(workspace_id=ws_a.pk).exists()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():  # only for that transaction
        AuditEvent.objects.filter(workspace=ws_b).delete()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_share_a_seq():
    from conftest import make_workspace

    ws = make_workspace("racing", "owner@racing.test")
    barrier = threading.Barrier(2)
    errors = []

    def write(tag):
        try:
            barrier.wait()
            for i in range(50):
                record(ws.pk, audit.CONTACT_VIEWED, object_id=f"{tag}{i}")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(tag,)) for tag in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = list(AuditEvent.objects.filter(workspace=ws).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 101))
    assert verify_chain(ws.pk) == []


def test_it_stores_no_e_mail_address_in_the_actor_label(ws_a, owner_a):
    from hotro.tenancy.actions import do_change_role
    from hotro.tenancy.models import Membership

    staff = User.objects.create_user(username="lan@alpha.test", email="lan@alpha.test", password=None)
    member = Membership.objects.create(workspace=ws_a, user=staff, role="agent", display_name="Lan")
    event = record(ws_a.pk, audit.CONTACT_VIEWED, actor=staff, object_type="contact", object_id="c1")
    assert event.actor_label == f"agent (#{staff.pk})"
    do_change_role(member, "admin", actor=owner_a)
    later = record(ws_a.pk, audit.CONTACT_VIEWED, actor=staff, object_type="contact", object_id="c2")
    assert later.actor_label == f"admin (#{staff.pk})"  # the role at the time
    system = record(ws_a.pk, audit.KEYS_ROTATED, actor_label="someone@alpha.test")
    assert system.actor_label == "system"
    labels = list(AuditEvent.objects.filter(workspace=ws_a).values_list("actor_label", flat=True))
    assert labels and not any("@" in label or "Lan" in label for label in labels)
    assert audit.actor_ref(event) == str(staff.pk)
    assert verify_chain(ws_a.pk) == []
