"""Durable inbound: the generic webhook, RawEvent storage, processing, retries and recovery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors_helpers import inbound_payload, signed_post
from hotro.connectors import ingress, registry
from hotro.connectors.api import create_api_inbox
from hotro.connectors.base import Connector, InboundMessage
from hotro.connectors.models import RawEvent, RawEventStatus
from hotro.connectors.tasks import recover_stalled
from hotro.conversations.models import Conversation, Message


@pytest.fixture
def api_inbox(ws_a):
    return create_api_inbox(ws_a, "Shop API", "http://127.0.0.1:9/hook")


class FlakyConnector(Connector):
    """Parses fine but fails transiently the first ``failures`` times."""

    key = "flaky"
    failures = 0

    def verify(self, request, inbox):
        return None

    def parse(self, raw_event):
        if FlakyConnector.failures > 0:
            FlakyConnector.failures -= 1
            raise ConnectionError("provider hiccup")
        return [
            InboundMessage(external_id=raw_event.event_id, channel="flaky", sender_address="u1", text="hi")
        ]


@pytest.fixture
def flaky(ws_a, settings):
    from hotro.connectors.models import Inbox

    settings.HOTRO_RAW_EVENT_MAX_ATTEMPTS = 3
    registry.register(FlakyConnector)
    yield Inbox.objects.create(workspace=ws_a, connector="flaky", name="Flaky", credentials={})
    registry.unregister("flaky")
    FlakyConnector.failures = 0


def make_due(raw):
    RawEvent.objects.filter(pk=raw.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_it_stores_the_event_with_one_insert_before_answering(
    api_inbox, client, django_capture_on_commit_callbacks
):
    inbox, secret = api_inbox
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as callbacks:
        response = signed_post(client, inbox, secret, inbound_payload())
    assert response.status_code == 200
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and "hotro_raw_event" in inserts[0]
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(callbacks) == 1  # processing is enqueued after commit, not run in the request
    raw = RawEvent.objects.get(pk=response.json()["id"])
    assert raw.event_id == "crm-1" and raw.status == RawEventStatus.RECEIVED
    stored = RawEvent.objects.filter(pk=raw.pk).values_list("payload", flat=True).get()
    assert b"Xin ch" not in bytes(stored)  # encrypted at rest
    assert "Xin chào" in raw.payload


def test_it_answers_a_duplicate_delivery_without_storing_or_enqueueing_again(
    api_inbox, client, django_capture_on_commit_callbacks
):
    inbox, secret = api_inbox
    first = signed_post(client, inbox, secret, inbound_payload())
    with django_capture_on_commit_callbacks() as callbacks:
        again = signed_post(client, inbox, secret, inbound_payload())
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"] and again.json()["duplicate"]
    assert callbacks == [] and RawEvent.objects.count() == 1


def test_it_refuses_bad_signatures_with_403_and_keeps_nothing(api_inbox, client):
    inbox, _secret = api_inbox
    before = ingress_views_count()
    response = signed_post(client, inbox, "wrong-secret", inbound_payload())
    missing = signed_post(client, inbox, "", inbound_payload(), header="")
    assert response.status_code == 403 and missing.status_code == 403
    assert response.json()["code"] == "invalid_signature" and response.json()["message"]
    assert RawEvent.objects.count() == 0
    assert ingress_views_count() == before + 2


def ingress_views_count():
    from hotro.connectors import views

    return views.rejected_signatures


def test_it_answers_404_for_unknown_connectors_and_inboxes(api_inbox, client):
    inbox, secret = api_inbox
    assert signed_post(client, inbox, secret, inbound_payload(), connector="nope").status_code == 404
    assert signed_post(client, inbox, secret, inbound_payload(), key="no-such-key").status_code == 404
    assert signed_post(client, inbox, secret, inbound_payload(), key=str(inbox.pk)).status_code == 200


def test_unknown_connector_key_is_a_clear_error():
    with pytest.raises(registry.UnknownConnector, match="no channel connector named 'fax'"):
        registry.get_connector("fax")
    assert registry.get_connector("api").key == "api"


@pytest.mark.django_db(transaction=True)
def test_it_processes_the_event_into_a_conversation(api_inbox, client):
    inbox, secret = api_inbox
    response = signed_post(client, inbox, secret, inbound_payload(text="Đơn hàng chưa tới"))
    raw = RawEvent.objects.get(pk=response.json()["id"])
    assert raw.status == RawEventStatus.PROCESSED and raw.attempts == 1 and raw.processed_at
    message = Message.objects.get(inbox=inbox, external_id="crm-1")
    assert message.text == "Đơn hàng chưa tới"
    assert Conversation.objects.filter(inbox=inbox).count() == 1
    # running the task again is harmless
    assert ingress.run_raw_event(str(raw.pk)) == RawEventStatus.PROCESSED
    assert Message.objects.filter(inbox=inbox).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_keeps_malformed_events_with_the_reason(api_inbox, client):
    inbox, secret = api_inbox
    bad_json = signed_post(client, inbox, secret, '{"external_id": "x1", "text": ')
    no_sender = signed_post(
        client, inbox, secret, {"external_id": "x2", "contact": {"name": "A"}, "text": "hi"}
    )
    first = RawEvent.objects.get(pk=bad_json.json()["id"])
    second = RawEvent.objects.get(pk=no_sender.json()["id"])
    # the API channel's sender is told at once (400: not JSON, 422: fields), and the body is kept
    assert (bad_json.status_code, no_sender.status_code) == (400, 422)
    assert bad_json.json()["code"] == no_sender.json()["code"] == "malformed"
    assert first.status == second.status == RawEventStatus.MALFORMED
    assert "not valid JSON" in first.error
    assert "external_id, email or phone" in second.error
    assert first.payload.startswith('{"external_id": "x1"')  # kept, never dropped
    assert not Message.objects.filter(inbox=inbox).exists()


@pytest.mark.django_db(transaction=True)
def test_it_retries_transient_failures_with_backoff_then_gives_up(flaky, settings):
    FlakyConnector.failures = 10
    raw, created = ingress.accept_event(flaky, "ev-1", "{}", {})
    raw.refresh_from_db()
    assert created and raw.status == RawEventStatus.FAILED and raw.attempts == 1
    assert "ConnectionError" in raw.error and "hiccup" not in raw.error  # the class, never the message
    first_delay = raw.next_attempt_at - timezone.now()
    assert timedelta(seconds=settings.HOTRO_RETRY_BASE_SECONDS * 0.7) < first_delay
    # not due yet: a second run does nothing
    assert ingress.run_raw_event(str(raw.pk)) == RawEventStatus.FAILED
    raw.refresh_from_db()
    assert raw.attempts == 1
    make_due(raw)
    assert ingress.run_raw_event(str(raw.pk)) == RawEventStatus.FAILED
    raw.refresh_from_db()
    assert raw.next_attempt_at - timezone.now() > first_delay * 1.3  # exponential
    make_due(raw)
    assert ingress.run_raw_event(str(raw.pk)) == RawEventStatus.DEAD
    raw.refresh_from_db()
    assert raw.status == RawEventStatus.DEAD and raw.attempts == 3


@pytest.mark.django_db(transaction=True)
def test_admin_retry_brings_a_dead_event_back(flaky):
    FlakyConnector.failures = 3
    raw, _ = ingress.accept_event(flaky, "ev-2", "{}", {})
    for _i in range(2):
        make_due(raw)
        ingress.run_raw_event(str(raw.pk))
    raw.refresh_from_db()
    assert raw.status == RawEventStatus.DEAD
    assert ingress.retry_raw_event(str(raw.pk)) is True  # immediate backend: processed on commit
    raw.refresh_from_db()
    assert raw.status == RawEventStatus.PROCESSED and raw.attempts == 1
    assert Message.objects.filter(inbox=flaky, external_id="ev-2").exists()
    assert ingress.retry_raw_event(str(raw.pk)) is False


@pytest.mark.django_db(transaction=True)
def test_recovery_processes_events_whose_enqueue_was_lost(flaky):
    raw = RawEvent.objects.create(
        workspace=flaky.workspace, inbox=flaky, event_id="lost", payload="{}", headers={}
    )
    assert recover_stalled()["raw_events"] == 0  # fresh: its task may still be on its way
    RawEvent.objects.filter(pk=raw.pk).update(received_at=timezone.now() - timedelta(minutes=5))
    abandoned = RawEvent.objects.create(
        workspace=flaky.workspace,
        inbox=flaky,
        event_id="abandoned",
        payload="{}",
        headers={},
        status=RawEventStatus.PROCESSING,
        claimed_until=timezone.now() - timedelta(seconds=1),
    )
    assert recover_stalled()["raw_events"] == 2
    assert set(RawEvent.objects.values_list("status", flat=True)) == {RawEventStatus.PROCESSED}
    assert RawEvent.objects.get(pk=abandoned.pk).attempts == 1


class LeakyConnector(Connector):
    """Raises errors whose messages quote the payload (as real libraries do)."""

    key = "leaky"

    def verify(self, request, inbox):
        return None

    def parse(self, raw_event):
        if raw_event.event_id == "bad-value":
            raise ValueError(f"cannot read {raw_event.payload}")
        raise KeyError(raw_event.payload)


@pytest.mark.django_db(transaction=True)
def test_error_columns_keep_class_names_never_payload_content(ws_a):
    from hotro.connectors.models import Inbox

    registry.register(LeakyConnector)
    try:
        inbox = Inbox.objects.create(workspace=ws_a, connector="leaky", name="Leaky", credentials={})
        secret = "Nguyễn Thị Lan, lan@example.vn"
        unreadable, _ = ingress.accept_event(inbox, "bad-value", secret, {})
        failing, _ = ingress.accept_event(inbox, "crash", secret, {})
    finally:
        registry.unregister("leaky")
    unreadable.refresh_from_db()
    failing.refresh_from_db()
    assert unreadable.status == RawEventStatus.MALFORMED and "ValueError" in unreadable.error
    assert failing.status == RawEventStatus.FAILED and "KeyError" in failing.error
    for row in (unreadable, failing):
        assert "lan@example.vn" not in row.error and "Lan" not in row.error
