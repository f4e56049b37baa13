"""The agent inbox in a real browser against a real ASGI server (uvicorn), on loopback only.

The server runs in its own process with its own committed database (a SQLite file, or a throw-away
PostgreSQL database on PostgreSQL runs), set up by a small script; everything the test does goes
through HTTP and the browser: signing in on the login page, a customer message posted to the API
channel's signed webhook, replying and resolving from the UI.  Screenshots at 1280 px and 390 px are
saved under test-results/.
"""

from __future__ import annotations

import json

import httpx
import pytest

from browser_support import PASSWORD, browser, serving, shot, sign_in  # noqa: F401 - browser: a fixture

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

SETUP = """
import json
import django
django.setup()
from hotro.accounts.models import User
from hotro.connectors.api import create_api_inbox
from hotro.privacy.rls import system_scope
from hotro.tenancy.actions import do_add_member, do_create_workspace

workspace = do_create_workspace(slug="demo", name="Cửa hàng Demo", owner_email="chi@demo.test",
                                password=%(password)r)
with system_scope():
    minh = User.objects.create_user(username="minh@demo.test", email="minh@demo.test", password=%(password)r)
    do_add_member(workspace, minh, "agent", display_name="Minh")
inbox, secret = create_api_inbox(workspace, "Website", "")
print(json.dumps({"secret": secret, "public_key": inbox.public_key}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("browser-server"), SETUP % {"password": PASSWORD}) as instance:
        instance.secret, instance.public_key = instance.info["secret"], instance.info["public_key"]
        yield instance


def post_inbound(server, external_id: str, text: str, name="Nguyễn Thị Lan", customer="crm-cust-42"):
    from hotro.connectors.api.signing import signature_header

    body = json.dumps(
        {"external_id": external_id, "contact": {"name": name, "external_id": customer}, "text": text},
        ensure_ascii=False,
    ).encode()
    response = httpx.post(
        f"{server.url}/hooks/api/{server.public_key}/",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hotro-Signature": signature_header(server.secret, body),
        },
        timeout=10,
    )
    assert response.status_code < 300, response.text


def test_live_inbox_reply_and_resolve_across_two_browsers(server, browser):
    context, page, recorder = sign_in(browser, server.url, "chi@demo.test", 1280, 800)
    assert page.locator(".conv-row").count() == 0

    # a customer writes: the conversation appears without reloading the page
    post_inbound(server, "crm-msg-1", "Xin chào, đơn hàng #1234 của tôi chưa tới. Tôi muốn hoàn tiền.")
    row = page.locator(".conv-row", has_text="Nguyễn Thị Lan")
    row.wait_for(timeout=10_000)
    expect(page.locator("#view-counts [data-view=unassigned] .count")).to_have_text("1")
    for i, (name, text) in enumerate(
        [("Trần Văn Bình", "Cho tôi hỏi giờ mở cửa?"), ("Lê Thị Hoa", "Sản phẩm còn hàng không ạ?")]
    ):
        post_inbound(server, f"crm-other-{i}", text, name=name, customer=f"cust-{i}")
    page.locator(".conv-row", has_text="Lê Thị Hoa").wait_for(timeout=10_000)
    shot(page, "inbox-list-1280")

    # keyboard: j selects the first row, Enter opens it
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/c/*/")
    page.locator(".conv-row", has_text="Nguyễn Thị Lan").click()
    page.wait_for_url("**/c/1/")
    page.wait_for_selector("#live-status[data-state=live]")

    # reply from the UI (sent through htmx, the thread updates in place)
    page.keyboard.press("r")
    page.keyboard.type("Chào chị Lan, chúng tôi đã hoàn tiền cho đơn #1234.")
    page.click("form[data-tab=reply] button[type=submit]")
    page.locator(".msg-out", has_text="chúng tôi đã hoàn tiền").wait_for(timeout=10_000)
    expect(page.locator("#reply-text")).to_have_value("")
    shot(page, "conversation-1280")

    # an internal note: "@" lists members (a listbox), arrows + Enter pick one, Ctrl+Enter saves
    page.click(".composer-tab[data-tab=note]")
    page.keyboard.type("Nhờ @Mi")
    option = page.locator("#mention-list [role=option]", has_text="Minh")
    option.wait_for(timeout=5_000)
    expect(page.locator("#note-text")).to_have_attribute("aria-expanded", "true")
    expect(option).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(page.locator("#note-text")).to_have_value("Nhờ @Minh ")
    expect(page.locator("#mention-list")).to_be_hidden()
    page.keyboard.type("xem giúp")
    page.keyboard.press("Control+Enter")
    page.locator(".msg-note", has_text="@Minh xem giúp").wait_for(timeout=10_000)

    # a second agent on a phone has the conversation open; the first resolves it; the phone sees it live
    context_b, phone, recorder_b = sign_in(browser, server.url, "minh@demo.test", 390, 844)
    shot(phone, "inbox-list-390")
    phone.goto(f"{server.url}/w/demo/c/1/")
    phone.wait_for_selector("#live-status[data-state=live]", state="attached")
    expect(phone.locator("#conv-live")).to_have_attribute("data-status", "open")
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    page.wait_for_selector("#conv-live[data-status=resolved]", timeout=10_000)
    phone.wait_for_selector("#conv-live[data-status=resolved]", timeout=10_000)
    phone.locator(".msg-out", has_text="chúng tôi đã hoàn tiền").wait_for()
    shot(phone, "conversation-390")

    # the customer writes again: a new conversation (the old one stays resolved) shows up in the list
    post_inbound(server, "crm-msg-2", "Cảm ơn shop!")
    page.locator(".conv-row", has_text="Cảm ơn shop!").wait_for(timeout=10_000)
    expect(phone.locator("#conv-live")).to_have_attribute("data-status", "resolved")

    # the owner's channel page: the API inbox failed to deliver (no webhook set), shown in plain words
    page.goto(f"{server.url}/w/demo/admin/inboxes/")
    expect(page.locator(".inbox-table tbody tr")).to_have_count(1)
    shot(page, "admin-inboxes-1280")

    # adding a live chat shows the snippet to paste, with a copy button
    page.goto(f"{server.url}/w/demo/admin/inboxes/new/?channel=livechat")
    page.fill("input[name=name]", "Chat web")
    page.fill("textarea[name=allowed_origins]", "https://shop.example.vn")
    page.click("form.form button[type=submit]")
    expect(page.locator("#embed-snippet")).to_contain_text("/widget/")
    expect(page.locator("button.js-copy[data-copy-target=embed-snippet]")).to_be_visible()

    recorder.assert_same_origin(server.url)
    recorder_b.assert_same_origin(server.url)
    context_b.close()
    context.close()


RECEIVE_WHILE_DOWN = """
import django
django.setup()
from hotro.connectors.base import InboundMessage
from hotro.connectors.models import Inbox
from hotro.conversations.actions import do_receive_message
from hotro.privacy.rls import system_scope

with system_scope():
    inbox = Inbox.objects.get(public_key=%(key)r)
message = InboundMessage(external_id="while-down-1", channel="api", sender_address="cust-down",
                         sender_name="Phạm Minh Châu", text="Tin nhắn khi máy chủ khởi động lại")
do_receive_message(inbox, message)
"""


def test_the_page_replays_what_it_missed_while_the_server_was_down(server, browser):
    context, page, recorder = sign_in(browser, server.url, "minh@demo.test", 1280, 800)
    page.goto(f"{server.url}/w/demo/?status=all")
    page.wait_for_selector("#live-status[data-state=live]")
    server.stop()
    page.wait_for_selector("#live-status[data-state=offline]", timeout=10_000)
    # the message arrives while no server can push it (stored with its realtime event only)
    server.run_python(RECEIVE_WHILE_DOWN % {"key": server.public_key})
    server.start()
    # the page reconnects by itself and replays the missed event: the row appears without a reload
    page.locator(".conv-row", has_text="Phạm Minh Châu").wait_for(timeout=45_000)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    recorder.assert_same_origin(server.url)
    context.close()
