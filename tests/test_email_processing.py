"""Inbound processing against the database: threading, participants, noise, bounces, limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from email_support import build_mail, deliver_raw, make_email_inbox, run_on_commit, smtp_sink  # noqa: F401
from hotro.connectors.models import Delivery
from hotro.conversations.models import Conversation, Direction, Message, Status

pytestmark = pytest.mark.django_db


def conversations(inbox):
    return list(Conversation.objects.filter(inbox=inbox).order_by("number"))


def test_it_turns_a_mail_into_a_conversation_with_the_new_text(ws_a):
    inbox = make_email_inbox(ws_a)
    raw = build_mail(
        body="Đơn hàng #55 bị lỗi.\n\nOn Mon, Jan 1, 2026 Shop <support@shop.test> wrote:\n> old text\n"
    )
    event = deliver_raw(inbox, raw)
    assert event.status == "processed"
    [conv] = conversations(inbox)
    message = Message.objects.get(conversation=conv)
    assert conv.subject == "Đơn hàng bị lỗi"
    assert message.text == "Đơn hàng #55 bị lỗi."
    assert "old text" in message.extra["email"]["quoted_text"]
    assert message.sender_identity.address == "lan@customer.test"


def test_it_never_stores_one_message_id_twice_in_an_inbox(ws_a):
    inbox = make_email_inbox(ws_a)
    raw = build_mail(message_id="<same@customer.test>")
    deliver_raw(inbox, raw, "INBOX:1:1")
    deliver_raw(inbox, raw, "INBOX:2:1")  # UIDVALIDITY changed: same mail, new event id
    deliver_raw(inbox, raw.replace(b"Subject:", b"X-Forwarded: yes\nSubject:"), "smtp:x")  # forwarded copy
    assert Message.objects.filter(inbox=inbox).count() == 1


def test_it_threads_a_reply_by_references_and_adds_cc_people(ws_a):
    inbox = make_email_inbox(ws_a)
    deliver_raw(inbox, build_mail(message_id="<first@customer.test>"))
    deliver_raw(
        inbox,
        build_mail(
            subject="Re: Đơn hàng bị lỗi",
            message_id="<second@customer.test>",
            in_reply_to="<first@customer.test>",
            references="<first@customer.test>",
            cc="Minh <minh@customer.test>, support@shop.test",
        ),
    )
    [conv] = conversations(inbox)
    assert conv.messages.count() == 2
    from hotro.connectors.email.store import participants_of

    addresses = {p.address for p in participants_of(conv)}
    assert addresses == {"lan@customer.test", "minh@customer.test"}  # our own address is not a participant


def test_it_refuses_to_merge_a_stranger_quoting_a_known_message_id(ws_a):
    inbox = make_email_inbox(ws_a)
    deliver_raw(inbox, build_mail(message_id="<first@customer.test>"))
    deliver_raw(
        inbox,
        build_mail(
            sender="Stranger <x@other.test>", subject="Re: [#1] hi", in_reply_to="<first@customer.test>"
        ),
    )
    assert len(conversations(inbox)) == 2


def test_it_threads_by_subject_tag_only_for_participants(ws_a):
    inbox = make_email_inbox(ws_a)
    deliver_raw(inbox, build_mail())
    [conv] = conversations(inbox)
    deliver_raw(
        inbox, build_mail(subject=f"Another question [#{conv.number}]", message_id="<t2@customer.test>")
    )
    deliver_raw(inbox, build_mail(sender="x@other.test", subject=f"Spam [#{conv.number}]"))
    assert conv.messages.count() == 2
    assert len(conversations(inbox)) == 2


def test_it_does_not_reopen_for_an_auto_reply_but_reopens_for_the_customer(ws_a):
    inbox = make_email_inbox(ws_a)
    deliver_raw(inbox, build_mail(message_id="<first@customer.test>"))
    [conv] = conversations(inbox)
    Conversation.objects.filter(pk=conv.pk).update(status=Status.RESOLVED, resolved_at=timezone.now())
    deliver_raw(
        inbox,
        build_mail(
            subject="Automatic reply: Đơn hàng",
            in_reply_to="<first@customer.test>",
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    conv.refresh_from_db()
    assert conv.status == Status.RESOLVED and conv.messages.count() == 2
    deliver_raw(inbox, build_mail(subject="Re: Đơn hàng bị lỗi", in_reply_to="<first@customer.test>"))
    conv.refresh_from_db()
    assert conv.status == Status.OPEN and conv.messages.count() == 3


def test_it_starts_a_new_conversation_after_the_reopen_window(ws_a):
    inbox = make_email_inbox(ws_a, reopen_days=7)
    deliver_raw(inbox, build_mail(message_id="<first@customer.test>"))
    [conv] = conversations(inbox)
    Conversation.objects.filter(pk=conv.pk).update(
        status=Status.RESOLVED, resolved_at=timezone.now() - timedelta(days=30)
    )
    deliver_raw(inbox, build_mail(subject="Re: Đơn hàng bị lỗi", in_reply_to="<first@customer.test>"))
    old, new = conversations(inbox)
    assert old.status == Status.RESOLVED and new.status == Status.OPEN
    assert new.history.filter(kind="follows_up", data__previous_number=old.number).exists()


def test_it_drops_automatic_mail_over_the_per_sender_limit(ws_a):
    inbox = make_email_inbox(ws_a, auto_limit=3)
    for i in range(6):
        deliver_raw(
            inbox, build_mail(subject=f"Out of office {i}", headers={"Auto-Submitted": "auto-replied"})
        )
    assert Message.objects.filter(inbox=inbox).count() == 3


def test_it_acknowledges_new_requests_once_and_never_automatic_mail(ws_a, smtp_sink):
    inbox = make_email_inbox(ws_a, smtp=smtp_sink, auto_ack=True)
    deliver_raw(inbox, build_mail(message_id="<m1@customer.test>"))
    deliver_raw(inbox, build_mail(message_id="<m2@customer.test>", headers={"Precedence": "bulk"}))
    deliver_raw(inbox, build_mail(message_id="<m3@customer.test>", headers={"List-Id": "<news.list>"}))
    acks = Message.objects.filter(inbox=inbox, direction=Direction.OUTBOUND)
    assert acks.count() == 1
    [(envelope, raw)] = smtp_sink.wait_for(1)
    assert envelope["rcpt_tos"] == ["lan@customer.test"]
    assert b"Auto-Submitted: auto-replied" in raw
    number = acks.get().conversation.number
    assert f"[#{number}]".encode() in raw and f"#{number}".encode() in raw


def test_it_marks_the_delivery_failed_when_a_bounce_reports_it(ws_a, smtp_sink):
    from hotro.conversations.actions import do_send_reply

    inbox = make_email_inbox(ws_a, smtp=smtp_sink)
    deliver_raw(inbox, build_mail())
    [conv] = conversations(inbox)
    with run_on_commit():
        reply = do_send_reply(None, conv, "Chúng tôi đang kiểm tra.")
    [(_env, sent)] = smtp_sink.wait_for(1)
    import email

    our_id = email.message_from_bytes(sent)["Message-ID"]
    dsn = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.customer.test>\n"
        "To: support@shop.test\nSubject: Undelivered Mail Returned to Sender\n"
        "Message-ID: <dsn1@mx.customer.test>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nDelivery failed.\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.customer.test\n\n"
        "Final-Recipient: rfc822; lan@customer.test\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n"
        f"--B\nContent-Type: text/rfc822-headers\n\nMessage-ID: {our_id}\nSubject: Re: x\n--B--\n"
    ).encode()
    deliver_raw(inbox, dsn)
    delivery = Delivery.objects.get(message=reply)
    reply.refresh_from_db()
    assert (
        delivery.status == "failed"
        and "5.1.1" in delivery.last_error
        and "User unknown" in delivery.last_error
    )
    assert reply.status == "failed"
    bounce = Message.objects.filter(conversation=conv, direction="in").order_by("-created_at").first()
    assert bounce.extra["email"]["bounce_of"] == str(reply.pk)
    assert len(conversations(inbox)) == 1
    from hotro.contacts.suppression import is_suppressed

    assert is_suppressed(ws_a.pk, "email", "Lan@Customer.test")  # hard bounce: no more automatic mail


def test_suppressed_addresses_get_no_automatic_acknowledgement(ws_a, smtp_sink):
    from hotro.contacts.suppression import do_suppress

    inbox = make_email_inbox(ws_a, smtp=smtp_sink, auto_ack=True)
    do_suppress(ws_a.pk, "email", "lan@customer.test", "hard_bounce")
    deliver_raw(inbox, build_mail(message_id="<s1@customer.test>"))
    assert len(conversations(inbox)) == 1  # the request itself is kept
    assert not Message.objects.filter(inbox=inbox, direction=Direction.OUTBOUND).exists()
