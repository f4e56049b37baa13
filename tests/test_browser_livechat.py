"""The live-chat widget in a real browser: a host page on a *different* origin embeds it with one
<script> tag; a visitor chats live with an agent using the inbox UI in another browser context; a
reload keeps the history; a verified visitor sees it on a second device, an unverified one does not;
the visitor's browser talks to nobody but hotro and the host page."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from browser_support import PASSWORD, Recorder, browser, free_port, log_in, serving, shot  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

SETUP = """
import json
import django
django.setup()
from hotro.connectors.livechat import create_livechat_inbox
from hotro.connectors.widget.identity import identity_secret, user_hash
from hotro.tenancy.actions import do_create_workspace

workspace = do_create_workspace(slug="demo", name="Cửa hàng Demo", owner_email="chi@demo.test",
                                password=%(password)r)
inbox = create_livechat_inbox(workspace, "Website", [%(site)r], greeting={"vi": "Chào bạn!", "en": "Hi!"},
                              prechat={"enabled": True, "fields": ["name", "email"], "required": []})
print(json.dumps({"public_key": inbox.public_key, "hash": user_hash(identity_secret(inbox), "cust-9")}))
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("livechat-browser")
    site_port = free_port()
    site = f"http://127.0.0.1:{site_port}"
    with serving(tmp, SETUP % {"password": PASSWORD, "site": site}, db="livechat") as server:
        base, info = server.url, server.info
        pages = tmp / "site"
        pages.mkdir()
        tag = f'<script src="{base}/widget/{info["public_key"]}.js" async'
        (pages / "index.html").write_text(
            f'<!doctype html><html lang="vi"><title>Shop</title><h1>Shop</h1>{tag}></script>'
        )
        (pages / "account.html").write_text(
            f'<!doctype html><html lang="vi"><title>Account</title><h1>Account</h1>'
            f'{tag} data-user-id="cust-9" data-user-hash="{info["hash"]}"></script>'
        )
        handler = functools.partial(QuietHandler, directory=str(pages))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", site_port), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            yield {"base": base, "site": site, **info}
        finally:
            httpd.shutdown()


def open_widget(page, url):
    page.goto(url)
    frame = page.frame_locator("iframe[title]")
    frame.locator("#hw-launcher").click()
    return frame


def send(frame, text):
    frame.locator("#hw-text").fill(text)
    frame.locator("#hw-text").press("Enter")


def test_visitor_and_agent_chat_live_across_origins(world, browser):
    from playwright.sync_api import expect

    visitor_ctx = browser.new_context(viewport={"width": 390, "height": 760}, locale="vi-VN")
    page = visitor_ctx.new_page()
    network = Recorder(page)
    frame = open_widget(page, world["site"] + "/index.html")
    expect(frame.locator("#hw-sub")).to_have_text("Chào bạn!")
    frame.locator("#hw-f-name").fill("Lan")
    frame.locator("#hw-f-email").fill("lan@example.vn")
    frame.locator("input[name=privacy_consent]").check()
    frame.locator("#hw-prechat button[type=submit]").click()
    send(frame, "Áo này còn size M không?")
    expect(frame.locator("#hw-log li.hw-visitor")).to_contain_text(["Áo này còn size M"])

    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    agent = agent_ctx.new_page()
    log_in(agent, world["base"], "chi@demo.test")
    agent.goto(world["base"] + "/w/demo/c/1/")
    expect(agent.locator(".msg-body", has_text="Áo này còn size M không?")).to_be_visible()
    agent.wait_for_selector("#live-status[data-state=live]")

    agent.fill("#reply-text", "Còn bạn nhé!")
    agent.click("form[data-tab=reply] button[type=submit]")
    expect(frame.locator("#hw-log li.hw-agent")).to_contain_text(["Còn bạn nhé!"], timeout=10_000)

    send(frame, "Cảm ơn shop")  # and back to the agent, live
    expect(agent.locator(".msg-body", has_text="Cảm ơn shop")).to_be_visible(timeout=10_000)

    page.reload()  # history survives a reload on the same device
    frame = open_widget(page, world["site"] + "/index.html")
    expect(frame.locator("#hw-log li")).to_have_count(3)
    expect(frame.locator("#hw-log")).to_contain_text("Còn bạn nhé!")
    shot(page, "livechat-visitor-390")

    assert network.foreign(world["base"], world["site"]) == []
    visitor_ctx.close()
    agent_ctx.close()


def test_verified_history_follows_the_user_but_not_an_anonymous_device(world, browser):
    from playwright.sync_api import expect

    first = browser.new_context()
    page = first.new_page()
    frame = open_widget(page, world["site"] + "/account.html")
    frame.locator("#hw-f-name").fill("Khách 9")
    frame.locator("input[name=privacy_consent]").check()
    frame.locator("#hw-prechat button[type=submit]").click()
    send(frame, "Tra cứu đơn hàng của tôi")
    expect(frame.locator("#hw-log li.hw-visitor")).to_have_count(1)
    first.close()

    second = browser.new_context()  # another device, same signed-in user
    page = second.new_page()
    network = Recorder(page)
    frame = open_widget(page, world["site"] + "/account.html")
    expect(frame.locator("#hw-log")).to_contain_text("Tra cứu đơn hàng của tôi")
    assert network.foreign(world["base"], world["site"]) == []
    second.close()

    anonymous = browser.new_context()
    page = anonymous.new_page()
    frame = open_widget(page, world["site"] + "/index.html")
    expect(frame.locator("#hw-f-name")).to_be_visible()  # a fresh visitor: pre-chat form, no history
    expect(frame.locator("#hw-log li")).to_have_count(0)
    anonymous.close()
