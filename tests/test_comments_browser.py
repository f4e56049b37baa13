"""The product comments widget in a real browser: a shop's page on one loopback origin embeds the
widget served by hotro on another; a visitor asks a question, an agent sees it in the inbox (with the
product link) and answers in public, and the answer shows on the shop's page.  The page's network
log holds only the two origins; the shop page runs a strict CSP of its own and a hostile stylesheet.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from browser_support import PASSWORD, Recorder, browser, free_port, log_in, run_python, serving, shot  # noqa: F401

pytestmark = pytest.mark.browser

PRODUCT_ID = "ao-dai-42"

SETUP = """
import json
import django
django.setup()
from hotro.connectors.comments.inboxes import create_comments_inbox, update_comments_settings
from hotro.tenancy.actions import do_create_workspace

workspace = do_create_workspace(slug="demo", name="Cửa hàng Demo", owner_email="chi@demo.test",
                                password=%(password)r)
inbox = create_comments_inbox(workspace, "Bình luận sản phẩm", [%(shop)r], "pending")
update_comments_settings(inbox, color="#9a3412")
print(json.dumps({"public_key": inbox.public_key}))
"""

ANSWER = """
import sys
import django
django.setup()
from hotro.conversations.actions import do_send_reply
from hotro.conversations.models import Conversation
from hotro.privacy.rls import system_scope, tenant_scope
from hotro.tenancy.models import Membership

with system_scope():
    conversation = Conversation.objects.select_related("inbox").get(number=1)
with tenant_scope(conversation.workspace_id):
    owner = Membership.objects.get(workspace_id=conversation.workspace_id, role="owner")
    do_send_reply(owner, conversation, sys.argv[1], extra={"public": True})
"""

SHOP_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self' {hotro}; \
connect-src 'self' {hotro}; style-src 'self' {hotro}; img-src 'self' data:">
<title>Áo dài lụa — Shop Demo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/shop.css">
</head><body>
<h1>Áo dài lụa</h1><p>450.000 ₫</p>
<div id="hotro-comments"></div>
<script src="{hotro}/comments/{key}.js" data-product-id="{product}" data-product-url="{shop}/product/ao-dai"
 data-product-title="Áo dài lụa" async></script>
</body></html>
"""
# a careless (or hostile) shop stylesheet: it must not reach into the widget
SHOP_CSS = "* { color: rgb(255, 0, 0) !important; font-family: serif !important; } body { font-size: 30px; }"


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """hotro on http://127.0.0.1:<p>, the shop on http://localhost:<q> (another origin)."""
    tmp = tmp_path_factory.mktemp("comments-browser")
    shop_port = free_port()
    shop = f"http://localhost:{shop_port}"
    with serving(tmp, SETUP % {"password": PASSWORD, "shop": shop}, db="comments") as server:
        hotro, key = server.url, server.info["public_key"]
        page = SHOP_PAGE.format(hotro=hotro, shop=shop, key=key, product=PRODUCT_ID).encode()

        class Shop(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                body, kind = {
                    "/product/ao-dai": (page, "text/html; charset=utf-8"),
                    "/shop.css": (SHOP_CSS.encode(), "text/css"),
                }.get(self.path, (b"not found", "text/plain"))
                self.send_response(200 if body != b"not found" else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        shop_server = ThreadingHTTPServer(("127.0.0.1", shop_port), Shop)
        threading.Thread(target=shop_server.serve_forever, daemon=True).start()
        try:
            yield {
                "hotro": hotro,
                "shop": shop,
                "key": key,
                "env": server.env,
                "tmp": tmp,
                "log": server.log_path,
            }
        finally:
            shop_server.shutdown()


def test_a_product_question_is_answered_from_the_inbox_and_shows_on_the_page(sites, browser):
    shop_url = f"{sites['shop']}/product/ao-dai"
    visitor_ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = visitor_ctx.new_page()
    recorder = Recorder(page)
    page.goto(shop_url)
    page.locator(".hc-title").wait_for(timeout=10_000)  # Playwright's CSS pierces the open shadow root
    page.get_by_text("Chưa có bình luận nào").wait_for()
    # the shop's stylesheet does not reach into the widget
    colour = page.locator(".hc-title").evaluate("e => getComputedStyle(e).color")
    assert colour != "rgb(255, 0, 0)"

    # a visitor asks a question (with an HTML payload that must stay text)
    page.get_by_text("Đặt câu hỏi").click()
    question = 'Áo có size XL không ạ? <img src=x onerror="window.__pwned=1">'
    page.get_by_label("Câu hỏi của bạn").fill(question)
    page.get_by_label("Tên hiển thị").fill("Lan")
    page.get_by_label("E-mail (không bắt buộc)").fill("lan@example.vn")
    page.get_by_role("button", name="Gửi").click()
    page.get_by_text("Bình luận sẽ hiển thị sau khi được duyệt").wait_for(timeout=10_000)
    item = page.locator(".hc-item", has_text="Áo có size XL không ạ?")
    item.wait_for()
    assert item.locator(".hc-pending").count() == 1  # only its author sees it while it waits
    assert item.locator(".hc-text").inner_text() == question
    assert page.evaluate("window.__pwned") is None
    shot(page, "comments-question-390", full_page=True, caret="hide")

    # an agent sees it in the inbox, with the product's link
    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    agent = agent_ctx.new_page()
    log_in(agent, sites["hotro"], "chi@demo.test", timeout=10_000)
    agent.goto(f"{sites['hotro']}/w/demo/c/1/")
    agent.get_by_text("Áo có size XL không ạ?").first.wait_for(timeout=10_000)
    assert f"{sites['shop']}/product/ao-dai" in agent.content()
    agent_ctx.close()

    # the agent answers in public
    run_python(ANSWER, sites["env"], sites["tmp"], "Dạ shop còn size XL ạ, chị đặt hàng nhé!")

    # the answer shows on the shop's page, under the shop's name; another visitor sees both
    page.reload()
    answered = page.locator(".hc-item", has_text="Áo có size XL không ạ?")
    answered.locator(".hc-business", has_text="Dạ shop còn size XL ạ").wait_for(timeout=10_000)
    assert answered.locator(".hc-answered").count() == 1
    assert answered.locator(".hc-business .hc-author").inner_text() == "Cửa hàng Demo"
    assert answered.locator(".hc-pending").count() == 0
    shot(page, "comments-answered-390", full_page=True, caret="hide")

    other_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    other = other_ctx.new_page()
    other_recorder = Recorder(other)
    other.goto(shop_url)
    other.locator(".hc-business", has_text="Dạ shop còn size XL ạ").wait_for(timeout=10_000)
    vote = other.locator(".hc-item", has_text="Áo có size XL không ạ?").locator(".hc-vote").first
    vote.click()
    other.wait_for_function(
        "() => document.querySelector('#hotro-comments').shadowRoot"
        ".querySelector('.hc-vote[aria-pressed=true]') !== null",
        timeout=10_000,
    )
    assert "(1)" in vote.inner_text()
    shot(other, "comments-1280", full_page=True, caret="hide")

    recorder.assert_only(sites["shop"], sites["hotro"])
    other_recorder.assert_only(sites["shop"], sites["hotro"])
    assert any(u.startswith(sites["hotro"] + "/comments/api/") for u in recorder.urls)
    other_ctx.close()
    visitor_ctx.close()
