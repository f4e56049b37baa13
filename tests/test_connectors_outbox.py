"""The outbox: signed webhook deliveries to a fake receiver, retries, permanent errors, claims."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from hotro.connectors import outbox
from hotro.connectors.api import create_api_inbox, verify_signature
from hotro.connectors.api.fake import FakeReceiver
from hotro.connectors.base import InboundMessage
from hotro.connectors.models import Delivery, DeliveryStatus, InboxHealth
from hotro.connectors.tasks import recover_stalled
from hotro.conversations.actions import do_receive_message, do_send_reply
from hotro.conversations.models import MessageStatus
from hotro.realtime.models import RealtimeEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _english():
    """Errors are stored in the language active when they happen; these tests read English."""
    with translation.override("en"):
        yield


@pytest.fixture
def receiver():
    rx = FakeReceiver("placeholder").start()
    yield rx
    rx.stop()


@pytest.fixture
def inbox(ws_a, receiver, settings):
    settings.HOTRO_HTTP_TIMEOUT_SECONDS = 1.0
    inbox, secret = create_api_inbox(ws_a, "CRM", receiver.url)
    receiver.secret = secret
    return inbox


def conversation_of(inbox):
    message, _ = do_receive_message(
        inbox,
        InboundMessage(external_id="in-1", channel="api", sender_address="crm-cust-7", text="Chào shop"),
    )
    return message.conversation


def reply(inbox, text="Dạ, shop đã nhận"):
    message = do_send_reply(None, conversation_of(inbox), text)
    return message, Delivery.objects.get(message=message)


def make_due(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def status_events(message):
    return [
        e.payload["status"]
        for e in RealtimeEvent.objects.filter(type="message.status_changed").order_by("id")
        if e.payload["message_id"] == str(message.pk)
    ]


def test_it_delivers_a_signed_webhook_once(inbox, receiver):
    message, delivery = reply(inbox)  # the immediate backend delivers on commit
    delivery.refresh_from_db()
    message.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1 and delivery.sent_at
    assert message.status == MessageStatus.SENT
    assert receiver.delivered == [str(delivery.pk)] and receiver.rejected == 0
    body = receiver.bodies[str(delivery.pk)]
    assert body["event"] == "message.created" and body["id"] == str(delivery.pk)
    assert body["message"]["text"] == "Dạ, shop đã nhận" and body["message"]["id"] == str(message.pk)
    assert body["conversation"] == {"id": str(message.conversation_id), "number": 1}
    assert body["contact"] == {"external_id": "crm-cust-7"}
    assert status_events(message) == ["sent"]
    inbox.refresh_from_db()
    assert inbox.health == InboxHealth.OK and inbox.last_success_at
    # running the task again sends nothing
    assert outbox.run_delivery(str(delivery.pk)) == DeliveryStatus.SENT
    assert receiver.attempts == [str(delivery.pk)]


def test_the_receiver_can_verify_what_it_got(inbox, receiver):
    seen = {}
    original = receiver._handle

    def spy(handler, body):
        seen["ts"] = verify_signature(receiver.secret, handler.headers["X-Hotro-Signature"], body)
        seen["event"] = handler.headers["X-Hotro-Event"]
        original(handler, body)

    receiver._handle = spy
    reply(inbox)
    assert seen["event"] == "message.created" and abs(seen["ts"] - timezone.now().timestamp()) < 60


def test_it_retries_with_backoff_until_acknowledged(inbox, receiver, settings):
    receiver.fail_next(1, status=503)
    receiver.fail_next(1, mode="timeout", seconds=1.5)
    message, delivery = reply(inbox)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING and "503" in delivery.last_error
    first_wait = delivery.next_attempt_at - timezone.now()
    assert first_wait > timedelta(seconds=settings.HOTRO_RETRY_BASE_SECONDS * 0.7)
    inbox.refresh_from_db()
    assert inbox.health == InboxHealth.DEGRADED
    assert outbox.run_delivery(str(delivery.pk)) == DeliveryStatus.RETRYING  # not due yet: no attempt
    make_due(delivery)
    assert outbox.run_delivery(str(delivery.pk)) == DeliveryStatus.RETRYING
    delivery.refresh_from_db()
    assert "did not answer" in delivery.last_error and delivery.attempts == 2
    assert delivery.next_attempt_at - timezone.now() > first_wait * 1.3
    make_due(delivery)
    assert outbox.run_delivery(str(delivery.pk)) == DeliveryStatus.SENT
    assert receiver.delivered == [str(delivery.pk)] and len(receiver.attempts) == 3
    inbox.refresh_from_db()
    message.refresh_from_db()
    assert inbox.health == InboxHealth.OK and message.status == MessageStatus.SENT


def test_it_honours_retry_after(inbox, receiver, monkeypatch):
    from hotro.connectors.api import client

    assert client.parse_retry_after("120") == 120.0
    receiver.fail_next(1, status=429)
    monkeypatch.setattr(client, "parse_retry_after", lambda value: 3000.0)
    _message, delivery = reply(inbox)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.next_attempt_at - timezone.now() > timedelta(seconds=2900)


def test_it_gives_up_after_the_last_attempt(inbox, receiver, settings):
    settings.HOTRO_DELIVERY_MAX_ATTEMPTS = 2
    receiver.fail_next(5, status=500)
    message, delivery = reply(inbox)
    make_due(delivery)
    assert outbox.run_delivery(str(delivery.pk)) == DeliveryStatus.FAILED
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and status_events(message) == ["failed"]
    assert receiver.delivered == []


def test_a_permanent_refusal_fails_at_once_and_flags_the_inbox(inbox, receiver):
    receiver.fail_next(1, status=410)
    message, delivery = reply(inbox)
    delivery.refresh_from_db()
    message.refresh_from_db()
    inbox.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert message.status == MessageStatus.FAILED
    assert inbox.health == InboxHealth.NEEDS_ATTENTION
    assert "refused the message (HTTP 410)" in inbox.last_error
    # an admin fixes the receiver and retries: it goes out, and the inbox is healthy again
    assert outbox.retry_delivery(str(delivery.pk)) is True
    delivery.refresh_from_db()
    inbox.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and receiver.delivered == [str(delivery.pk)]
    assert inbox.health == InboxHealth.OK
    assert status_events(message) == ["failed", "queued", "sent"]


def test_a_missing_webhook_url_is_a_permanent_error(ws_a):
    inbox, _ = create_api_inbox(ws_a, "No URL", "")
    _message, delivery = reply(inbox)
    delivery.refresh_from_db()
    inbox.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and inbox.health == InboxHealth.NEEDS_ATTENTION
    assert "no webhook URL" in inbox.last_error


def test_a_claimed_delivery_is_not_sent_twice_until_its_lease_expires(inbox, receiver):
    receiver.fail_next(1, status=500)
    _message, delivery = reply(inbox)
    make_due(delivery)
    assert outbox.DELIVERIES.claim(str(delivery.pk), "worker-a") is not None
    assert outbox.DELIVERIES.claim(str(delivery.pk), "worker-b") is None
    assert outbox.run_delivery(str(delivery.pk)) == DeliveryStatus.SENDING
    assert recover_stalled()["deliveries"] == 0  # lease still running
    Delivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert recover_stalled()["deliveries"] == 1  # worker-a died: the recovery job re-sends
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert receiver.delivered == [str(delivery.pk)]


def test_recovery_sends_deliveries_whose_enqueue_was_lost(inbox, receiver, monkeypatch):
    from hotro.connectors import delivery as delivery_module

    monkeypatch.setattr(delivery_module, "schedule_delivery", lambda d: None)
    _message, delivery = reply(inbox)
    assert recover_stalled()["deliveries"] == 0
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    assert recover_stalled()["deliveries"] == 1
    assert receiver.delivered == [str(delivery.pk)]
