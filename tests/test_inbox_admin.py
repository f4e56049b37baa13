"""Channel administration pages: health, API inbox creation (secret shown once), failures and retries."""

from __future__ import annotations

import pytest

from connectors_helpers import inbound_payload, signed_post
from hotro.connectors.models import Delivery, DeliveryStatus, Inbox, InboxHealth, RawEvent, RawEventStatus
from hotro.privacy.models import AuditEvent
from hotro.tenancy.models import Role
from inbox_helpers import add_member, make_inbox, receive

pytestmark = pytest.mark.django_db


def login(client, member):
    member.user.language = "en"
    member.user.save(update_fields=["language"])
    client.force_login(member.user)


@pytest.fixture
def admin_a(ws_a):
    return add_member(ws_a, "admin@alpha.test", Role.ADMIN)


@pytest.mark.parametrize("role", [Role.AGENT, Role.VIEWER])
def test_agents_and_viewers_are_refused(client, ws_a, role):
    inbox = make_inbox(ws_a)
    login(client, add_member(ws_a, f"{role}@alpha.test", role))
    for path in (
        "/w/alpha/admin/inboxes/",
        "/w/alpha/admin/inboxes/new/",
        f"/w/alpha/admin/inboxes/{inbox.pk}/",
    ):
        assert client.get(path).status_code == 403
    assert "Channels" not in client.get("/w/alpha/").content.decode().split("</header>")[0]


def test_list_shows_health_in_plain_words(client, admin_a, ws_a):
    broken = make_inbox(ws_a, "Zalo shop")
    Inbox.objects.filter(pk=broken.pk).update(
        health=InboxHealth.NEEDS_ATTENTION, last_error="The access token was revoked: reconnect the account."
    )
    make_inbox(ws_a, "Fine API")
    login(client, admin_a)
    body = client.get("/w/alpha/admin/inboxes/").content.decode()
    assert "Needs attention: reconnect the channel" in body and "Working" in body
    assert "The access token was revoked: reconnect the account." in body


def test_creating_an_api_inbox_shows_the_secret_once_and_it_signs_webhooks(client, admin_a, ws_a):
    login(client, admin_a)
    response = client.post("/w/alpha/admin/inboxes/new/", {"name": "CRM", "webhook_url": ""})
    assert response.status_code == 200  # the secret is in the POST's own response
    assert "no-store" in response["Cache-Control"]
    inbox = Inbox.objects.get(workspace=ws_a, name="CRM")
    secret = inbox.credentials["webhook_secret"]
    assert secret in response.content.decode()
    detail = f"/w/alpha/admin/inboxes/{inbox.pk}/"
    assert secret not in client.get(detail).content.decode()  # once only
    assert AuditEvent.objects.filter(action="inbox.created", object_id=str(inbox.pk)).exists()
    client.logout()
    accepted = signed_post(client, inbox, secret, inbound_payload())
    assert accepted.status_code in (200, 202)


def test_creating_with_a_private_webhook_address_is_refused_in_a_sentence(client, admin_a, ws_a, settings):
    settings.HOTRO_ALLOW_PRIVATE_WEBHOOKS = False
    login(client, admin_a)
    response = client.post(
        "/w/alpha/admin/inboxes/new/", {"name": "CRM", "webhook_url": "http://127.0.0.1:9/x"}
    )
    assert response.status_code == 200
    assert "Enter a public http:// or https:// address" in response.content.decode()
    assert not Inbox.objects.filter(workspace=ws_a, name="CRM").exists()


def test_detail_lists_failures_and_retry_buttons_requeue_them(client, admin_a, owner_a, ws_a):
    from hotro.conversations.actions import do_send_reply

    inbox = make_inbox(ws_a)
    conversation = receive(inbox, "m1").conversation
    raw = RawEvent.objects.create(
        workspace=ws_a,
        inbox=inbox,
        event_id="bad-1",
        payload="{",
        status=RawEventStatus.MALFORMED,
        error="The body is not valid JSON.",
    )
    reply = do_send_reply(owner_a, conversation, "Xin chào")
    delivery = Delivery.objects.get(message=reply)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, last_error="Webhook answered 410."
    )
    login(client, admin_a)
    body = client.get(f"/w/alpha/admin/inboxes/{inbox.pk}/").content.decode()
    assert "The body is not valid JSON." in body and "Webhook answered 410." in body
    assert f"/events/{raw.pk}/retry/" in body and f"/deliveries/{delivery.pk}/retry/" in body
    client.post(f"/w/alpha/admin/inboxes/{inbox.pk}/events/{raw.pk}/retry/")
    raw.refresh_from_db()
    assert raw.status != RawEventStatus.MALFORMED and raw.attempts <= 1
    client.post(f"/w/alpha/admin/inboxes/{inbox.pk}/deliveries/{delivery.pk}/retry/")
    delivery.refresh_from_db()
    assert delivery.status != DeliveryStatus.FAILED


def test_other_workspaces_inboxes_events_and_deliveries_answer_404(client, admin_a, ws_b):
    inbox_b = make_inbox(ws_b, "B")
    raw_b = RawEvent.objects.create(
        workspace=ws_b, inbox=inbox_b, event_id="x", payload="{", status=RawEventStatus.MALFORMED
    )
    login(client, admin_a)
    assert client.get(f"/w/alpha/admin/inboxes/{inbox_b.pk}/").status_code == 404
    assert client.post(f"/w/alpha/admin/inboxes/{inbox_b.pk}/events/{raw_b.pk}/retry/").status_code == 404
    own = make_inbox(admin_a.workspace, "Own")
    assert client.post(f"/w/alpha/admin/inboxes/{own.pk}/events/{raw_b.pk}/retry/").status_code == 404
    raw_b.refresh_from_db()
    assert raw_b.status == RawEventStatus.MALFORMED


def test_it_never_stores_the_new_webhook_secret_in_the_session(client, admin_a, ws_a):
    from django.contrib.sessions.models import Session

    login(client, admin_a)
    response = client.post("/w/alpha/admin/inboxes/new/", {"name": "CRM", "webhook_url": ""})
    secret = Inbox.objects.get(workspace=ws_a, name="CRM").credentials["webhook_secret"]
    assert secret in response.content.decode()
    assert secret not in str(dict(client.session))
    for row in Session.objects.all():
        assert secret not in row.session_data and secret not in str(row.get_decoded())
