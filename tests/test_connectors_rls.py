"""The connector worker and webhook paths work as the unprivileged application role.

Data is seeded as the owner; then the connection switches (``SET LOCAL ROLE``) to a role that is
neither superuser nor table owner, so Row-Level Security applies: a path that reads or decrypts
without a workspace scope finds nothing (not even the workspace keys) and fails these tests.  The
key cache is emptied first so decryption really reads ``hotro_workspace_key`` under the role.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone, translation

from connectors_helpers import inbound_payload, signed_post
from hotro.connectors import ingress, outbox, registry
from hotro.connectors.api import create_api_inbox
from hotro.connectors.api.fake import FakeReceiver
from hotro.connectors.base import Connector, InboundMessage
from hotro.connectors.models import Delivery, DeliveryStatus, Inbox, RawEvent, RawEventStatus
from hotro.connectors.tasks import recover_stalled
from hotro.conversations.actions import do_receive_message, do_send_reply
from hotro.conversations.models import Message
from hotro.privacy import keys
from hotro.privacy.rls import ensure_app_role, system_scope

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.db_owner]  # switches role itself


@pytest.fixture
def as_app_role(db):
    name = f"hotro_app_conn_{uuid.uuid4().hex[:10]}"
    ensure_app_role(name)

    def switch():
        with connection.cursor() as cursor:
            cursor.execute(f'SET LOCAL ROLE "{name}"')
        keys.forget_cached_keys()

    yield switch
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


class BrokenConnector(Connector):
    """Decrypts the payload (needs the workspace key), then fails transiently every time."""

    key = "broken-rls"

    def verify(self, request, inbox):
        return None

    def parse(self, raw_event):
        assert raw_event.payload  # decrypts
        raise ConnectionError("provider said: customer lan@example.vn is unknown")


@pytest.fixture
def broken(ws_a, settings):
    settings.HOTRO_RAW_EVENT_MAX_ATTEMPTS = 2
    registry.register(BrokenConnector)
    yield Inbox.objects.create(workspace=ws_a, connector=BrokenConnector.key, name="Broken", credentials={})
    registry.unregister(BrokenConnector.key)


def stored_event(inbox, ext="rls-1", django_capture_on_commit_callbacks=None):
    with django_capture_on_commit_callbacks(execute=False):  # kept received: nothing processes it yet
        raw, created = ingress.accept_event(inbox, ext, json.dumps({"external_id": ext}), {})
    assert created
    return raw


def test_it_processes_a_raw_event_as_the_app_role(ws_a, as_app_role, django_capture_on_commit_callbacks):
    inbox, _secret = create_api_inbox(ws_a, "Shop API", "")
    with django_capture_on_commit_callbacks(execute=False):
        raw, _ = ingress.accept_event(inbox, "rls-1", json.dumps(inbound_payload("rls-1")), {})
    as_app_role()
    with django_capture_on_commit_callbacks(execute=True):
        assert ingress.run_raw_event(str(raw.pk)) == RawEventStatus.PROCESSED
    with system_scope():
        assert RawEvent.objects.get(pk=raw.pk).status == RawEventStatus.PROCESSED
        assert Message.objects.filter(workspace=ws_a, external_id="rls-1").count() == 1


def test_a_failing_event_ends_dead_as_the_app_role(broken, as_app_role, django_capture_on_commit_callbacks):
    raw = stored_event(broken, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    as_app_role()
    with django_capture_on_commit_callbacks(execute=True):
        assert ingress.run_raw_event(str(raw.pk)) == RawEventStatus.FAILED
    with system_scope():
        RawEvent.objects.filter(pk=raw.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    keys.forget_cached_keys()
    with django_capture_on_commit_callbacks(execute=True):
        assert ingress.run_raw_event(str(raw.pk)) == RawEventStatus.DEAD
    with system_scope():
        row = RawEvent.objects.get(pk=raw.pk)
    assert row.status == RawEventStatus.DEAD and row.attempts == 2 and row.claimed_until is None
    assert "lan@example.vn" not in row.error and "ConnectionError" in row.error


def test_the_webhook_stores_and_processes_as_the_app_role(
    ws_a, as_app_role, client, django_capture_on_commit_callbacks
):
    inbox, secret = create_api_inbox(ws_a, "Shop API", "")
    as_app_role()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_post(client, inbox, secret, inbound_payload("hook-1"))
    assert response.status_code == 200, response.content
    assert response.json()["duplicate"] is False
    bad = signed_post(client, inbox, "whsec_wrong", inbound_payload("hook-2"))
    assert bad.status_code == 403
    with system_scope():
        assert RawEvent.objects.get(pk=response.json()["id"]).status == RawEventStatus.PROCESSED
        assert not RawEvent.objects.filter(event_id="hook-2").exists()
        assert Message.objects.filter(workspace=ws_a, external_id="hook-1").count() == 1


def test_the_recovery_job_processes_abandoned_events_as_the_app_role(
    ws_a, as_app_role, django_capture_on_commit_callbacks
):
    inbox, _secret = create_api_inbox(ws_a, "Shop API", "")
    with django_capture_on_commit_callbacks(execute=False):
        raw, _ = ingress.accept_event(inbox, "rec-1", json.dumps(inbound_payload("rec-1")), {})
    RawEvent.objects.filter(pk=raw.pk).update(
        status=RawEventStatus.PROCESSING, attempts=1, claimed_until=timezone.now() - timedelta(seconds=5)
    )
    as_app_role()
    with django_capture_on_commit_callbacks(execute=True):
        assert recover_stalled()["raw_events"] == 1
    with system_scope():
        assert RawEvent.objects.get(pk=raw.pk).status == RawEventStatus.PROCESSED


@pytest.fixture
def receiver():
    rx = FakeReceiver("placeholder").start()
    yield rx
    rx.stop()


def queued_reply(inbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = do_receive_message(
            inbox, InboundMessage(external_id="in-1", channel="api", sender_address="c-7", text="Chào shop")
        )
        reply = do_send_reply(None, message.conversation, "Dạ, shop đã nhận")
    return Delivery.objects.get(message=reply)


def test_it_sends_a_delivery_as_the_app_role(ws_a, receiver, as_app_role, django_capture_on_commit_callbacks):
    inbox, receiver.secret = create_api_inbox(ws_a, "CRM", receiver.url)
    delivery = queued_reply(inbox, django_capture_on_commit_callbacks)
    as_app_role()
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.run_delivery(str(delivery.pk)) == DeliveryStatus.SENT
    assert receiver.delivered == [str(delivery.pk)]
    with system_scope():
        assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENT
        assert Message.objects.get(pk=delivery.message_id).status == "sent"


def test_a_refused_delivery_ends_failed_as_the_app_role(
    ws_a, receiver, as_app_role, django_capture_on_commit_callbacks
):
    inbox, receiver.secret = create_api_inbox(ws_a, "CRM", receiver.url)
    delivery = queued_reply(inbox, django_capture_on_commit_callbacks)
    receiver.fail_next(1, status=410)
    as_app_role()
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.run_delivery(str(delivery.pk)) == DeliveryStatus.FAILED
    with system_scope():
        row = Delivery.objects.get(pk=delivery.pk)
        assert row.status == DeliveryStatus.FAILED and row.claimed_until is None and row.last_error
        assert Message.objects.get(pk=delivery.message_id).status == "failed"
        assert Inbox.objects.get(pk=inbox.pk).health == "needs_attention"
