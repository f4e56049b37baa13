"""The API channel end to end in a real browser, against the embedded server (uvicorn + the
django-tasks-db worker thread, ``hotro.config.embedded.serve``) in its own process on its own
committed database.

A customer message is posted to ``POST /api/v1/inboxes/{id}/inbound`` with an API token; it shows up
live in two signed-in browsers (1280 px in Vietnamese, 390 px in English); the agent replies from the
UI; the worker posts the signed webhook to a ``FakeReceiver`` on loopback exactly once and the reply
turns "sent" live in both browsers; resolving on the phone shows live on the desktop.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from browser_support import PASSWORD, browser, embedded_command, serving, shot, sign_in  # noqa: F401 - fixture
from hotro.connectors.api import verify_signature
from hotro.connectors.api.fake import FakeReceiver
from hotro.connectors.api.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

SETUP = """
import json
import django
django.setup()
from hotro.accounts.models import User
from hotro.api.tokens import create_token
from hotro.connectors.api import create_api_inbox
from hotro.privacy.rls import system_scope
from hotro.tenancy.actions import do_add_member, do_create_workspace

workspace = do_create_workspace(slug="demo", name="Cửa hàng Demo", owner_email="chi@demo.test",
                                password=%(password)r)
with system_scope():
    User.objects.filter(email="chi@demo.test").update(language="vi")
    minh = User.objects.create_user(username="minh@demo.test", email="minh@demo.test",
                                    password=%(password)r, language="en")
    do_add_member(workspace, minh, "agent", display_name="Minh")
    token, plaintext = create_token(workspace, "CRM")
inbox, secret = create_api_inbox(workspace, "CRM", %(webhook_url)r)
print(json.dumps({"inbox_id": str(inbox.pk), "secret": secret, "token": plaintext}))
"""

SERVE = """
import django
django.setup()
from hotro.config.embedded import serve, task_backend_is_database
assert task_backend_is_database(), "the embedded worker needs the database task backend"
serve("127.0.0.1", %(port)d, worker=True, scheduler=False, mail=False, log_level="warning")
"""


class RecordingReceiver(FakeReceiver):
    """The fake webhook receiver, also keeping every request's headers and raw body."""

    def __init__(self):
        super().__init__(secret="")  # the inbox's secret is known once the inbox exists
        self.requests: list[tuple[dict, bytes]] = []

    def _handle(self, handler, body: bytes) -> None:
        with self.lock:
            self.requests.append((dict(handler.headers.items()), body))
        super()._handle(handler, body)


@pytest.fixture
def receiver():
    with RecordingReceiver() as rx:
        yield rx


@pytest.fixture
def server(tmp_path, receiver):
    with serving(
        tmp_path,
        SETUP % {"password": PASSWORD, "webhook_url": receiver.url},
        lambda port: embedded_command(SERVE % {"port": port}),
        name="the server",
        # tasks (processing the inbound event, posting the webhook) run in the server's worker thread
        HOTRO_TASK_BACKEND="django_tasks_db.DatabaseBackend",
        HOTRO_ALLOW_PRIVATE_WEBHOOKS="true",  # the receiver listens on loopback
    ) as instance:
        info = instance.info
        receiver.secret = info["secret"]
        instance.inbox_id, instance.secret, instance.token = info["inbox_id"], info["secret"], info["token"]
        yield instance


def post_inbound(server, payload: dict) -> dict:
    response = httpx.post(
        f"{server.url}/api/v1/inboxes/{server.inbox_id}/inbound",
        json=payload,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return response.json()


def test_api_message_in_live_reply_out_signed_once_and_resolve_across_browsers(server, browser, receiver):
    context_a, desk, recorder_a = sign_in(browser, server.url, "chi@demo.test", 1280, 800, "vi-VN")
    expect(desk.locator("html")).to_have_attribute("lang", "vi")
    context_b, phone, recorder_b = sign_in(browser, server.url, "minh@demo.test", 390, 844, "en-US")
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    assert desk.locator(".conv-row").count() == 0
    assert phone.locator(".conv-row").count() == 0

    # the customer's message comes in through the REST API; both lists show it without a reload
    accepted = post_inbound(
        server,
        {
            "external_id": "crm-msg-1001",
            "contact": {"name": "Nguyễn Thị Lan", "external_id": "crm-cust-42"},
            "text": "Xin chào, đơn hàng #1234 của tôi chưa tới.",
        },
    )
    assert accepted["duplicate"] is False
    desk.locator(".conv-row", has_text="Nguyễn Thị Lan").wait_for(timeout=10_000)
    phone.locator(".conv-row", has_text="Nguyễn Thị Lan").wait_for(timeout=10_000)
    assert receiver.attempts == []  # an inbound message is not echoed back to the webhook

    # the phone opens the conversation; the desk opens it too and replies from the UI
    phone.locator(".conv-row", has_text="Nguyễn Thị Lan").click()
    phone.wait_for_url("**/c/1/")
    phone.wait_for_selector("#live-status[data-state=live]", state="attached")
    desk.locator(".conv-row", has_text="Nguyễn Thị Lan").click()
    desk.wait_for_url("**/c/1/")
    desk.wait_for_selector("#live-status[data-state=live]")
    reply = "Chào chị Lan, đơn #1234 sẽ tới trong hôm nay."
    desk.keyboard.press("r")
    desk.keyboard.type(reply)
    desk.click("form[data-tab=reply] button[type=submit]")
    sent_desk = desk.locator(".msg-out", has_text=reply)
    sent_desk.wait_for(timeout=10_000)

    # the worker posts the signed webhook once; nothing more arrives afterwards
    assert receiver.wait_for(lambda rx: len(rx.requests) >= 1, timeout=15), (
        "no webhook arrived:\n" + Path(server.log_path).read_text()
    )
    time.sleep(2)
    with receiver.lock:
        requests = list(receiver.requests)
        attempts, delivered, rejected = list(receiver.attempts), list(receiver.delivered), receiver.rejected
    assert len(requests) == 1, requests
    assert rejected == 0
    assert attempts == delivered and len(delivered) == 1
    headers, body = requests[0]
    verify_signature(server.secret, headers[SIGNATURE_HEADER], body)  # raises if it does not verify
    assert headers[DELIVERY_HEADER] == delivered[0]
    assert headers[EVENT_HEADER] == "message.created"
    payload = json.loads(body)
    assert payload["id"] == delivered[0]
    assert payload["event"] == "message.created"
    assert payload["message"]["text"] == reply
    assert payload["conversation"]["number"] == 1
    assert payload["contact"]["external_id"] == "crm-cust-42"

    # the reply turns "sent" live: in Vietnamese on the desk, in English on the phone
    expect(sent_desk).to_have_attribute("data-status", "sent", timeout=10_000)
    expect(sent_desk.locator(".msg-status")).to_contain_text("Đã gửi")
    sent_phone = phone.locator(".msg-out", has_text=reply)
    sent_phone.wait_for(timeout=10_000)
    expect(sent_phone).to_have_attribute("data-status", "sent", timeout=10_000)
    expect(sent_phone.locator(".msg-status")).to_contain_text("Sent")
    shot(desk, "api-flow-conversation-1280")
    shot(phone, "api-flow-conversation-390")

    # the phone resolves; the desk sees it without a reload
    expect(desk.locator("#conv-live")).to_have_attribute("data-status", "open")
    phone.click("#resolve-form button[type=submit]")
    phone.wait_for_selector("#conv-live[data-status=resolved]", timeout=10_000)
    desk.wait_for_selector("#conv-live[data-status=resolved]", timeout=10_000)
    expect(desk.locator("#conv-status")).to_have_text("Đã giải quyết")
    expect(phone.locator("#conv-status")).to_have_text("Resolved")
    assert len(receiver.requests) == 1  # resolving sends no webhook

    recorder_a.assert_same_origin(server.url)
    recorder_b.assert_same_origin(server.url)
    context_b.close()
    context_a.close()
