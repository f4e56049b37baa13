"""IMAP against a real Dovecot: exactly-once fetch, UIDVALIDITY resync, read flags, IDLE, health."""

from __future__ import annotations

import time

import pytest
from django.utils import translation

from email_support import (  # noqa: F401
    PASSWORD,
    build_mail,
    dovecot,
    mailbox,
    make_email_inbox,
    run_on_commit,
)
from hotro.connectors.email.imap import poll_inbox
from hotro.connectors.email.models import ImapFolderState
from hotro.connectors.models import RawEvent
from hotro.conversations.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def poll(inbox):
    with run_on_commit():
        return poll_inbox(inbox)


def test_it_fetches_each_message_once_and_leaves_it_unread(ws_a, dovecot, mailbox):
    inbox = make_email_inbox(ws_a, dovecot=dovecot)
    dovecot.append([build_mail(subject=f"Hỏi {i}", sender=f"c{i}@customer.test") for i in range(3)])
    assert poll(inbox) == 3
    assert poll(inbox) == 0
    events = RawEvent.objects.filter(inbox=inbox)
    state = ImapFolderState.objects.get(inbox=inbox, folder="INBOX")
    assert sorted(e.event_id for e in events) == [f"INBOX:{state.uidvalidity}:{u}" for u in (1, 2, 3)]
    assert set(events.values_list("status", flat=True)) == {"processed"}
    assert Message.objects.filter(inbox=inbox).count() == 3
    with dovecot.client() as c:
        c.select_folder("INBOX", readonly=True)
        assert c.search(["UNSEEN"]) == [1, 2, 3]


def test_it_marks_mail_read_only_when_set_to(ws_a, dovecot, mailbox):
    inbox = make_email_inbox(ws_a, dovecot=dovecot)
    inbox.settings["imap"]["mark_read"] = True
    inbox.save(update_fields=["settings"])
    dovecot.append(build_mail())
    poll(inbox)
    with dovecot.client() as c:
        c.select_folder("INBOX", readonly=True)
        assert c.search(["UNSEEN"]) == []


def test_it_resyncs_after_a_uidvalidity_change_without_duplicates(ws_a, dovecot, mailbox):
    inbox = make_email_inbox(ws_a, dovecot=dovecot)
    dovecot.append([build_mail(subject="one"), build_mail(subject="two")])
    poll(inbox)
    before = ImapFolderState.objects.get(inbox=inbox).uidvalidity
    dovecot.set_uidvalidity("support@example.test", before + 1000)
    dovecot.append(build_mail(subject="three"))
    assert poll(inbox) == 1  # the two known messages are skipped by Message-ID, not re-fetched
    state = ImapFolderState.objects.get(inbox=inbox)
    assert state.uidvalidity == before + 1000 and state.resyncs == 1
    assert Message.objects.filter(inbox=inbox).count() == 3


def test_it_says_reconnect_needed_when_the_password_is_refused(ws_a, dovecot, mailbox):
    from hotro.connectors.base import ConnectorError

    inbox = make_email_inbox(ws_a, dovecot=dovecot, imap_password="wrong")
    inbox.credentials = {**inbox.credentials, "imap_password": "wrong"}
    inbox.save(update_fields=["credentials"])
    with pytest.raises(ConnectorError), translation.override("en"):
        poll_inbox(inbox)
    inbox.refresh_from_db()
    assert inbox.health == "needs_attention"
    assert "refused the sign-in" in inbox.last_error and PASSWORD not in inbox.last_error
    inbox.credentials = {**inbox.credentials, "imap_password": PASSWORD}
    inbox.save(update_fields=["credentials"])
    poll(inbox)
    inbox.refresh_from_db()
    assert inbox.health == "ok" and inbox.last_success_at is not None


def test_it_describes_an_unreachable_server_in_plain_words(ws_a, dovecot):
    from email_support import free_port
    from hotro.connectors.base import ConnectorError

    inbox = make_email_inbox(ws_a, dovecot=dovecot)
    inbox.settings["imap"]["port"] = free_port()
    inbox.save(update_fields=["settings"])
    with pytest.raises(ConnectorError) as info, translation.override("en"):
        poll_inbox(inbox)
    assert not info.value.permanent and "Could not connect" in str(info.value)
    inbox.refresh_from_db()
    assert inbox.health == "degraded"


def stored_messages(inbox) -> int:
    """How many messages the inbox holds, read while the IDLE runner's thread writes: the test
    SQLite database is an in-memory shared cache, whose table locks fail a reader at once instead
    of waiting, so a reader that meets one asks again."""
    from django.db import OperationalError

    for _attempt in range(50):
        try:
            return Message.objects.filter(inbox=inbox).count()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    return Message.objects.filter(inbox=inbox).count()


def test_it_notices_new_mail_through_idle(ws_a, dovecot, mailbox):
    from hotro.connectors.email.idle import IdleRunner

    inbox = make_email_inbox(ws_a, dovecot=dovecot)
    runner = IdleRunner(inbox.pk)
    runner.start()
    try:
        assert runner.idling.wait(15), "the runner never started idling"
        dovecot.append(build_mail(subject="Gấp: cần hỗ trợ"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not stored_messages(inbox):
            time.sleep(0.1)
        assert stored_messages(inbox) == 1
        assert runner.wakeups >= 1
        from hotro.connectors.email.imap import acquire_lease

        assert not acquire_lease(inbox, "poll", 60, holder="someone-else")  # one IMAP talker per inbox
    finally:
        runner.stop()
        runner.join(30)
    assert not runner.is_alive()
