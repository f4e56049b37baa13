"""Live chats continue by e-mail: an agent's reply to a visitor who left (or who wrote through the
offline form) is e-mailed once, in the widget's language, over real SMTP; the visitor's e-mail reply
comes back through the SMTP receiver into the same chat and their widget; strangers' mail does not."""

from __future__ import annotations

import email
import email.policy
import smtplib

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.test import Client

from email_support import build_mail, customer_reply, deliver_raw, free_port, smtp_sink  # noqa: F401
from hotro.config.asgi import application
from hotro.connectors.email.config import receiving_address_for
from hotro.connectors.email.models import KnownMessageId, QuarantinedMail
from hotro.connectors.email.store import message_id_secret
from hotro.connectors.email.threading import parse_message_id
from hotro.connectors.livechat.connector import LiveChatConnector
from hotro.connectors.livechat.models import VisitorEvent, VisitorPresence
from hotro.connectors.models import Delivery
from hotro.connectors.outbox import retry_delivery
from hotro.contacts.models import ContactIdentity, IdentityStatus, SuppressionReason
from hotro.contacts.suppression import do_suppress
from hotro.conversations.actions import check_send_reply
from hotro.conversations.models import Conversation, Message
from livechat_helpers import make_inbox, post, say, start

pytestmark = pytest.mark.django_db(transaction=True)

SENDER = "hotro@hotro.test"
VISITOR = "an@example.vn"


def smtp_mailer(port: int) -> dict:
    return {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
    }


@pytest.fixture
def mailer(settings, smtp_sink):  # noqa: F811 - fixture
    """Django's mail goes over real SMTP to the sink."""
    settings.MAILERS = {"default": smtp_mailer(smtp_sink.port)}
    settings.DEFAULT_FROM_EMAIL = SENDER
    return smtp_sink


@pytest.fixture
def receiver():
    from hotro.connectors.email.receiver import start_in_thread

    controller = start_in_thread("127.0.0.1", free_port())
    yield controller
    controller.stop()


def offline_visitor(inbox, lang="vi", address=VISITOR):
    """A visitor who finds the chat offline: the form with name and e-mail, then a message."""
    client = Client()
    token = start(client, inbox, lang=lang).json()["token"]
    r = post(client, inbox, token, "prechat", {"name": "An", "email": address, "privacy_consent": True})
    assert r.status_code == 200
    assert say(client, inbox, token, "Tôi chưa nhận được hàng.").status_code == 201
    return client, token


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def widget_events(client, inbox, token, after=0) -> list[dict]:
    r = client.get(f"/widget/{inbox.public_key}/poll?after={after}&wait=0", HTTP_X_HOTRO_VISITOR=token)
    return [e["event"] for e in r.json()["events"]]


def socket(inbox) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    return WebsocketCommunicator(application, f"/ws/widget/{inbox.public_key}/", headers=headers)


@pytest.mark.parametrize(
    ("lang", "subject", "words"),
    [
        ("vi", "Phản hồi từ Alpha cho tin nhắn chat của bạn", "đã trả lời tin nhắn bạn gửi qua khung chat"),
        ("en", "Reply from Alpha to your chat message", "replied to your message in the chat"),
    ],
)
def test_a_reply_to_an_offline_chat_is_emailed_once_in_the_widget_language(
    ws_a, owner_a, mailer, lang, subject, words
):
    inbox = make_inbox(ws_a, offline=True, prechat={"enabled": False})
    client, token = offline_visitor(inbox, lang=lang)
    conversation = Conversation.objects.get(inbox=inbox)
    assert conversation.history.filter(kind="livechat_offline").exists()

    reply = check_send_reply(
        owner_a,
        conversation,
        "Chúng tôi sẽ gửi lại hàng hôm nay.",
        [("hoa-don.pdf", "application/pdf", b"%PDF-1.4 test")],
    )

    assert len(mailer.messages) == 1
    envelope, raw = mailer.messages[0]
    out = parse(raw)
    # bounces go to the inbox's own address (the envelope sender), not the operator's mailbox
    assert envelope["rcpt_tos"] == [VISITOR]
    assert envelope["mail_from"] == receiving_address_for(inbox.public_key)
    assert out["From"].addresses[0].addr_spec == SENDER
    assert out["From"].addresses[0].display_name == inbox.name
    reply_to = out["Reply-To"].addresses[0].addr_spec
    assert reply_to == receiving_address_for(inbox.public_key) and reply_to.endswith("@mail.localhost")
    secret = message_id_secret(ws_a.pk)
    assert parse_message_id(out["Message-ID"], secret, workspace_id=ws_a.pk) == conversation.pk
    assert "Auto-Submitted" not in out  # a person's reply
    # (Python's header folding may double a space between encoded words)
    assert " ".join(out["Subject"].split()) == f"{subject} [#{conversation.number}]"
    body = out.get_body(("plain",)).get_content()
    assert "Chúng tôi sẽ gửi lại hàng hôm nay." in body and words in body
    [attachment] = list(out.iter_attachments())
    assert attachment.get_filename() == "hoa-don.pdf" and attachment.get_content() == b"%PDF-1.4 test"

    delivery = Delivery.objects.get(message=reply)
    reply.refresh_from_db()
    assert delivery.status == "sent" and reply.status == "delivered"
    known = KnownMessageId.objects.get(message=reply, direction=KnownMessageId.OUT)
    assert f"<{known.value}>" == out["Message-ID"].strip()
    assert conversation.history.filter(kind="livechat_emailed", data__message_id=str(reply.pk)).count() == 1
    # the widget shows it too when the visitor comes back
    assert VisitorEvent.objects.filter(message=reply, kind="message").count() == 1
    texts = [e["message"]["text"] for e in widget_events(client, inbox, token) if e.get("message")]
    assert texts == ["Tôi chưa nhận được hàng.", "Chúng tôi sẽ gửi lại hàng hôm nay."]


def test_a_visitor_in_the_widget_gets_no_email_until_they_leave(ws_a, owner_a, mailer):
    inbox = make_inbox(ws_a, prechat={"enabled": True, "fields": ["email"], "required": ["email"]})
    client = Client()
    token = start(client, inbox, lang="en").json()["token"]
    post(client, inbox, token, "prechat", {"email": VISITOR, "privacy_consent": True})
    say(client, inbox, token, "Is the blue one in stock?")
    conversation = Conversation.objects.get(inbox=inbox)

    async def scenario():
        ws = socket(inbox)
        assert (await ws.connect())[0]
        await ws.send_json_to({"type": "hello", "token": token, "resume_from": None})
        while (await ws.receive_json_from(timeout=5)).get("type") != "ready":
            pass
        await database_sync_to_async(check_send_reply)(owner_a, conversation, "Yes, two left.")
        live = await ws.receive_json_from(timeout=5)
        assert live["event"]["message"]["text"] == "Yes, two left."
        await ws.disconnect()

    async_to_sync(scenario)()
    assert mailer.messages == []  # the visitor read it in the chat
    assert not VisitorPresence.objects.exists()  # the socket's presence left with it

    check_send_reply(owner_a, conversation, "Shall I reserve one for you?")
    [(envelope, raw)] = mailer.messages
    assert envelope["rcpt_tos"] == [VISITOR]
    assert "Shall I reserve one for you?" in parse(raw).get_body(("plain",)).get_content()
    assert parse(raw)["Subject"].startswith("Reply from Alpha")

    # a widget in long-poll mode counts as being in the chat as well
    widget_events(client, inbox, token)
    check_send_reply(owner_a, conversation, "It is reserved.")
    assert len(mailer.messages) == 1


def test_suppressed_addresses_get_no_email_but_the_widget_does(ws_a, owner_a, mailer):
    inbox = make_inbox(ws_a, offline=True, prechat={"enabled": False})
    client, token = offline_visitor(inbox)
    do_suppress(ws_a.pk, "email", "AN@example.vn", SuppressionReason.HARD_BOUNCE)
    conversation = Conversation.objects.get(inbox=inbox)
    reply = check_send_reply(owner_a, conversation, "Đã gửi lại.")
    assert mailer.messages == []
    assert Delivery.objects.get(message=reply).status == "sent"
    assert not KnownMessageId.objects.filter(message=reply).exists()
    assert "Đã gửi lại." in [e["message"]["text"] for e in widget_events(client, inbox, token)]


def test_a_failed_email_is_retried_and_then_sent_once_with_one_widget_event(
    ws_a, owner_a, settings, smtp_sink
):  # noqa: F811
    settings.DEFAULT_FROM_EMAIL = SENDER
    settings.MAILERS = {"default": smtp_mailer(free_port())}  # nothing listens there
    inbox = make_inbox(ws_a, offline=True, prechat={"enabled": False})
    offline_visitor(inbox)
    conversation = Conversation.objects.get(inbox=inbox)
    reply = check_send_reply(owner_a, conversation, "Xin lỗi vì sự chậm trễ.")
    delivery = Delivery.objects.get(message=reply)
    assert delivery.status == "retrying" and "ConnectionRefusedError" in delivery.last_error
    assert not KnownMessageId.objects.filter(message=reply).exists()
    assert not conversation.history.filter(kind="livechat_emailed").exists()

    settings.MAILERS = {"default": smtp_mailer(smtp_sink.port)}
    assert retry_delivery(str(delivery.pk))
    delivery.refresh_from_db()
    assert delivery.status == "sent" and len(smtp_sink.messages) == 1
    assert VisitorEvent.objects.filter(message=reply, kind="message").count() == 1

    # another attempt (a worker whose lease ran out, a re-run) sends nothing and records nothing
    delivery = Delivery.objects.select_related("inbox", "message__conversation").get(pk=delivery.pk)
    again = LiveChatConnector().send(delivery)
    assert again.external_id == delivery.external_id
    assert len(smtp_sink.messages) == 1
    assert VisitorEvent.objects.filter(message=reply, kind="message").count() == 1
    assert conversation.history.filter(kind="livechat_emailed").count() == 1


def test_the_visitors_email_reply_comes_back_into_the_chat_over_smtp(ws_a, owner_a, mailer, receiver):
    inbox = make_inbox(ws_a, offline=True, prechat={"enabled": False})
    client, token = offline_visitor(inbox)
    conversation = Conversation.objects.get(inbox=inbox)
    check_send_reply(owner_a, conversation, "Đơn của bạn đã được gửi lại.")
    [(_envelope, sent)] = mailer.messages
    seen = max(VisitorEvent.objects.values_list("id", flat=True))

    answer = customer_reply(sent, sender="An <an@example.vn>", body="Cảm ơn, tôi sẽ chờ.")
    address = parse(sent)["Reply-To"].addresses[0].addr_spec
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=10) as smtp:
        # on the wire lines end with CRLF (build_mail's bytes have bare LF)
        refused = smtp.sendmail(VISITOR, [address, "nobody@mail.localhost"], answer.replace(b"\n", b"\r\n"))
    assert list(refused) == ["nobody@mail.localhost"]

    assert Conversation.objects.filter(inbox=inbox).count() == 1
    latest = Message.objects.filter(conversation=conversation, direction="in").order_by("-created_at").first()
    assert latest.text == "Cảm ơn, tôi sẽ chờ."  # the quoted history is stripped
    assert "Đơn của bạn đã được gửi lại." in latest.extra["email"]["quoted_text"]
    assert latest.extra["email"]["matched_by"] == "our-message-id"
    assert latest.sender_identity.contact_id == conversation.contact_id
    # ... and shows in the visitor's widget when they come back
    [event] = widget_events(client, inbox, token, after=seen)
    assert event["message"]["text"] == "Cảm ơn, tôi sẽ chờ." and event["message"]["from"] == "visitor"
    history = start(client, inbox, token=token).json()
    assert [m["text"] for m in history["messages"]][-1] == "Cảm ơn, tôi sẽ chờ."

    # the next reply is e-mailed again (the visitor writes by e-mail now), threaded under theirs
    check_send_reply(owner_a, conversation, "Hàng sẽ đến vào thứ Sáu.")
    assert len(mailer.messages) == 2
    second = parse(mailer.messages[1][1])
    assert second["In-Reply-To"].strip() == parse(answer)["Message-ID"].strip()
    assert parse(sent)["Message-ID"].strip() in second["References"]


def test_strangers_mail_to_the_chat_address_starts_its_own_conversation(ws_a, owner_a, mailer):
    inbox = make_inbox(ws_a, offline=True, prechat={"enabled": False})
    client, token = offline_visitor(inbox)
    conversation = Conversation.objects.get(inbox=inbox)
    check_send_reply(owner_a, conversation, "Mã đơn của bạn là 4711.")
    [(_envelope, sent)] = mailer.messages
    before = list(Message.objects.filter(conversation=conversation).values_list("pk", flat=True))

    # someone the mail was forwarded to answers it, and someone else just writes to the address
    deliver_raw(inbox, customer_reply(sent, sender="Mallory <mallory@evil.test>", body="Cho tôi xem đơn"))
    deliver_raw(
        inbox, build_mail(sender="Bình <binh@example.vn>", to=receiving_address_for(inbox.public_key))
    )

    assert list(Message.objects.filter(conversation=conversation).values_list("pk", flat=True)) == before
    others = Conversation.objects.filter(inbox=inbox).exclude(pk=conversation.pk).order_by("number")
    assert [c.contact.email for c in others] == ["mallory@evil.test", "binh@example.vn"]
    assert others[0].messages.get().extra["email"]["matched_by"] == ""
    texts = [e["message"]["text"] for e in widget_events(client, inbox, token) if e.get("message")]
    assert "Cho tôi xem đơn" not in texts and len(texts) == 2

    # an agent answering such a conversation (no chat visitor) answers by e-mail
    reply = check_send_reply(owner_a, others[1], "Chào Bình, bạn cần giúp gì?")
    assert Delivery.objects.get(message=reply).status == "sent"
    assert mailer.messages[-1][0]["rcpt_tos"] == ["binh@example.vn"]


def test_automatic_mail_joins_for_agents_only_and_suspended_senders_are_quarantined(ws_a, owner_a, mailer):
    inbox = make_inbox(ws_a, offline=True, prechat={"enabled": False})
    client, token = offline_visitor(inbox)
    conversation = Conversation.objects.get(inbox=inbox)
    check_send_reply(owner_a, conversation, "Chúng tôi đã nhận yêu cầu.")
    [(_envelope, sent)] = mailer.messages
    out = parse(sent)

    vacation = build_mail(
        sender="An <an@example.vn>",
        subject="Tự động trả lời: " + out["Subject"],
        body="Tôi đang đi nghỉ đến thứ Hai.",
        in_reply_to=out["Message-ID"],
        headers={"Auto-Submitted": "auto-replied"},
    )
    deliver_raw(inbox, vacation)
    auto = Message.objects.filter(conversation=conversation, direction="in").order_by("-created_at").first()
    assert auto.text.startswith("Tôi đang đi nghỉ") and auto.extra["email"]["automatic"]
    texts = [e["message"]["text"] for e in widget_events(client, inbox, token) if e.get("message")]
    assert not any("đi nghỉ" in t for t in texts)
    assert not any("đi nghỉ" in m["text"] for m in start(client, inbox, token=token).json()["messages"])

    ContactIdentity.objects.filter(channel="email").update(status=IdentityStatus.SUSPENDED)
    count = Message.objects.count()
    deliver_raw(inbox, customer_reply(sent, sender="An <an@example.vn>", body="Đây là tôi."))
    assert Message.objects.count() == count
    assert QuarantinedMail.objects.filter(inbox=inbox).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.db_owner  # switches to a role of its own
def test_the_email_copy_and_the_email_reply_work_as_the_app_role(
    ws_a, owner_a, mailer, django_capture_on_commit_callbacks
):
    """Row-Level Security applies (an unprivileged role): the delivery's presence, suppression and
    Message-ID lookups and the reply's threading all run in the workspace's scope."""
    import uuid

    from django.db import connection

    from hotro.connectors import ingress, outbox
    from hotro.connectors.email.inbound import encode_raw
    from hotro.connectors.email.inboxes import find_inbox_by_address
    from hotro.conversations.actions import do_send_reply
    from hotro.privacy import keys
    from hotro.privacy.rls import ensure_app_role, tenant_scope

    inbox = make_inbox(ws_a, offline=True, prechat={"enabled": False})
    offline_visitor(inbox)
    conversation = Conversation.objects.get(inbox=inbox)
    with django_capture_on_commit_callbacks(execute=False):  # queued: nothing sends it yet
        reply = do_send_reply(owner_a, conversation, "Đã xử lý xong.")
    delivery = Delivery.objects.get(message=reply)

    role = f"hotro_app_lc_{uuid.uuid4().hex[:10]}"
    ensure_app_role(role)
    with connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{role}"')
    keys.forget_cached_keys()
    try:
        assert not Conversation.objects.exists()  # no scope: RLS hides everything
        assert outbox.run_delivery(str(delivery.pk)) == "sent"
        [(_envelope, sent)] = mailer.messages
        address = receiving_address_for(inbox.public_key)
        assert find_inbox_by_address(address, connectors=("livechat",)).pk == inbox.pk
        answer = customer_reply(sent, sender="An <an@example.vn>", body="Cảm ơn nhiều.")
        with django_capture_on_commit_callbacks(execute=False):
            raw, _created = ingress.accept_event(
                inbox, "smtp:app-role", encode_raw(answer), {"source": "smtp"}
            )
        assert ingress.run_raw_event(str(raw.pk)) == "processed"
        with tenant_scope(ws_a.pk):
            latest = Message.objects.filter(conversation=conversation, direction="in").order_by(
                "-created_at"
            )[0]
            assert latest.text == "Cảm ơn nhiều."
            assert VisitorEvent.objects.filter(message=latest, kind="message").count() == 1
            assert KnownMessageId.objects.filter(message=reply, direction=KnownMessageId.OUT).count() == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def test_a_bounce_of_the_emailed_copy_fails_the_reply_and_suppresses_the_address(ws_a, owner_a, mailer):
    inbox = make_inbox(ws_a, offline=True, prechat={"enabled": False})
    offline_visitor(inbox, lang="vi")
    conversation = Conversation.objects.get(inbox=inbox)
    reply = check_send_reply(owner_a, conversation, "Đơn hàng đã được gửi.")
    [(envelope, sent)] = mailer.messages
    our_id = email.message_from_bytes(sent)["Message-ID"]
    dsn = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.visitor.test>\n"
        f"To: {envelope['mail_from']}\nSubject: Undelivered Mail Returned to Sender\n"
        "Message-ID: <dsn-lc@mx.visitor.test>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nDelivery failed.\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.visitor.test\n\n"
        f"Final-Recipient: rfc822; {VISITOR}\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n"
        f"--B\nContent-Type: text/rfc822-headers\n\nMessage-ID: {our_id}\nSubject: x\n--B--\n"
    ).encode()
    deliver_raw(inbox, dsn)
    reply.refresh_from_db()
    assert reply.status == "failed"
    assert "5.1.1" in Delivery.objects.get(message=reply).last_error
    from hotro.contacts.suppression import is_suppressed

    assert is_suppressed(ws_a.pk, "email", VISITOR)
    # the bounce is for agents only: the visitor's widget stream never shows it
    bounce = Message.objects.filter(conversation=conversation, direction="in").order_by("-created_at").first()
    assert bounce.extra["email"]["bounce_of"] == str(reply.pk)
    assert not VisitorEvent.objects.filter(message=bounce).exists()
