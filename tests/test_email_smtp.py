"""The forwarding receiver over real SMTP, outbound replies to a real SMTP server, and the whole
loop: a customer's mail over IMAP -> conversation -> agent reply over SMTP -> the customer's client
replies with quoting -> same conversation."""

from __future__ import annotations

import email
import email.policy
import smtplib

import pytest
from django.utils import translation

from email_support import (  # noqa: F401
    build_mail,
    customer_reply,
    dovecot,
    free_port,
    mailbox,
    make_email_inbox,
    run_on_commit,
    smtp_sink,
)
from hotro.connectors.email.inboxes import receiving_address
from hotro.connectors.models import Delivery, RawEvent
from hotro.conversations.models import Conversation, Message


@pytest.fixture
def receiver():
    from hotro.connectors.email.receiver import start_in_thread

    controller = start_in_thread("127.0.0.1", free_port())
    yield controller
    controller.stop()


@pytest.mark.django_db(transaction=True)
def test_it_receives_forwarded_mail_and_refuses_unknown_recipients(ws_a, receiver):
    inbox = make_email_inbox(ws_a)
    address = receiving_address(inbox)
    assert address.endswith("@mail.localhost") and inbox.public_key.lower() in address
    raw = build_mail(to="support@shop.test", subject="Chuyển tiếp: hỏi giá")
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=10) as client:
        refused = client.sendmail("lan@customer.test", [address, "nobody@mail.localhost"], raw)
        assert refused == {"nobody@mail.localhost": (550, b"5.1.1 No mailbox here by that name")}
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("lan@customer.test", ["nobody@mail.localhost"], raw)
    [event] = RawEvent.objects.filter(inbox=inbox)
    assert event.headers["source"] == "smtp" and event.headers["mail_from"] == "lan@customer.test"
    # stored before the 250 (the immediate task backend processed it at commit)
    conv = Conversation.objects.get(inbox=inbox)
    assert conv.subject == "Chuyển tiếp: hỏi giá"
    assert conv.messages.get().sender_identity.address == "lan@customer.test"


@pytest.mark.django_db(transaction=True)
def test_it_answers_451_when_the_mail_cannot_be_stored(ws_a, receiver, monkeypatch):
    from hotro.connectors.email import receiver as module

    inbox = make_email_inbox(ws_a)

    def broken(*args, **kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr(module, "store_mail", broken)
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as info:
            client.sendmail("lan@customer.test", [receiving_address(inbox)], build_mail())
    assert info.value.smtp_code == 451
    assert not RawEvent.objects.filter(inbox=inbox).exists()


@pytest.mark.django_db(transaction=True)
def test_a_customer_mail_an_agent_reply_and_the_customers_reply_share_one_conversation(
    ws_a, owner_a, dovecot, mailbox, smtp_sink
):
    from hotro.connectors.email.imap import poll_inbox
    from hotro.conversations.actions import check_send_reply

    inbox = make_email_inbox(ws_a, dovecot=dovecot, smtp=smtp_sink, signature="Shop.test — Hotline 1900")
    first = build_mail(cc="Minh <minh@customer.test>")
    dovecot.append(first)
    with run_on_commit():
        assert poll_inbox(inbox) == 1
    conv = Conversation.objects.get(inbox=inbox)

    with run_on_commit():
        reply = check_send_reply(owner_a, conv, "Chào chị Lan, chúng tôi đã đổi đơn hàng.")
    assert Delivery.objects.get(message=reply).last_error == ""
    [(envelope, sent)] = smtp_sink.wait_for(1)
    assert Delivery.objects.get(message=reply).status == "sent"
    out = email.message_from_bytes(sent, policy=email.policy.default)
    original_id = email.message_from_bytes(first)["Message-ID"]
    assert sorted(envelope["rcpt_tos"]) == ["lan@customer.test", "minh@customer.test"]  # reply to all
    assert out["In-Reply-To"] == original_id and original_id in out["References"]
    assert out["Message-ID"].strip().startswith("<hotro.")
    assert out["Subject"] == f"Re: Đơn hàng bị lỗi [#{conv.number}]"
    assert out["From"].addresses[0].addr_spec == "support@shop.test"
    assert "Auto-Submitted" not in out
    body = out.get_body(("plain",)).get_content()
    assert "đã đổi đơn hàng" in body and "Hotline 1900" in body

    # The customer's client rewrites nothing but quotes our text; it arrives over IMAP again.
    answer = customer_reply(sent, body="Cảm ơn, tôi đã nhận được hàng.")
    dovecot.append(answer)
    with run_on_commit():
        assert poll_inbox(inbox) == 1
    assert Conversation.objects.filter(inbox=inbox).count() == 1
    latest = Message.objects.filter(conversation=conv, direction="in").order_by("-created_at").first()
    assert latest.text == "Cảm ơn, tôi đã nhận được hàng."
    assert "đã đổi đơn hàng" in latest.extra["email"]["quoted_text"]
    assert latest.extra["email"]["matched_by"] == "our-message-id"


@pytest.mark.django_db(transaction=True)
def test_a_reply_keeps_its_message_id_when_it_is_sent_again(ws_a, smtp_sink):
    from email_support import deliver_raw
    from hotro.connectors.email.connector import EmailConnector
    from hotro.conversations.actions import do_send_reply

    inbox = make_email_inbox(ws_a, smtp=smtp_sink)
    deliver_raw(inbox, build_mail())
    conv = Conversation.objects.get(inbox=inbox)
    reply = do_send_reply(None, conv, "Xin chờ.", [("hoa-don.pdf", "application/pdf", b"%PDF-1.4 test")])
    delivery = Delivery.objects.select_related("inbox", "message__conversation").get(message=reply)
    first = EmailConnector().send(delivery)
    again = EmailConnector().send(delivery)
    assert first.external_id == again.external_id
    sent = [email.message_from_bytes(raw, policy=email.policy.default) for _e, raw in smtp_sink.wait_for(2)]
    assert sent[0]["Message-ID"] == sent[1]["Message-ID"]
    [attachment] = list(sent[0].iter_attachments())
    assert attachment.get_filename() == "hoa-don.pdf" and attachment.get_content() == b"%PDF-1.4 test"


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_smtp_server_is_retried_with_plain_words(ws_a):
    from email_support import deliver_raw
    from hotro.connectors.outbox import run_delivery
    from hotro.conversations.actions import do_send_reply

    inbox = make_email_inbox(ws_a)
    inbox.settings["smtp"] = {"host": "127.0.0.1", "port": free_port(), "security": "none", "username": ""}
    inbox.save(update_fields=["settings"])
    deliver_raw(inbox, build_mail())
    conv = Conversation.objects.get(inbox=inbox)
    reply = do_send_reply(None, conv, "Xin chờ.")
    delivery = Delivery.objects.get(message=reply)
    assert run_delivery(str(delivery.pk)) == "retrying"  # sent at commit already; waiting to retry
    delivery.refresh_from_db()
    assert delivery.status == "retrying" and "(ConnectionRefusedError)" in delivery.last_error


def test_a_refused_smtp_sign_in_is_permanent_and_asks_to_reconnect():
    from hotro.connectors.email.outbound import _smtp_error

    with translation.override("en"):
        error = _smtp_error(smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid"))
    assert error.permanent and error.code == "reconnect" and "refused the sign-in" in str(error)
    assert not _smtp_error(smtplib.SMTPResponseException(451, b"try later")).permanent
    assert _smtp_error(smtplib.SMTPResponseException(554, b"rejected")).permanent
