"""The product comments widget in a real browser: a shop's page on one loopback origin embeds the
widget served by hotro on another; a visitor asks a question, an agent sees it in the inbox (with the
product link) and answers in public, and the answer shows on the shop's page.  The page's network
log holds only the two origins; the shop page runs a strict CSP of its own and a hostile stylesheet.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from django.conf import settings

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "test-results"
CHROMIUM = os.environ.get("HOTRO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery-9"
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(tmp: Path):
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return f"sqlite:///{tmp / 'comments.sqlite3'}", lambda: None
    import psycopg

    name = f"hotro_comments_{secrets.token_hex(4)}"
    admin = dict(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER"),
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{admin['host']}:{admin['port']}/{name}", drop


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """hotro on http://127.0.0.1:<p>, the shop on http://localhost:<q> (another origin)."""
    tmp = tmp_path_factory.mktemp("comments-browser")
    url, drop = database_url(tmp)
    port, shop_port = free_port(), free_port()
    hotro, shop = f"http://127.0.0.1:{port}", f"http://localhost:{shop_port}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "HOTRO_MASTER_KEY"}},
        "HOTRO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "hotro.config.settings_test",
        "DATABASE_URL": url,
        "HOTRO_VAR_DIR": str(tmp),
        "HOTRO_MASTER_KEY_FILE": str(tmp / "master.key"),
        "HOTRO_FILE_ROOT": str(tmp / "files"),
        "HOTRO_TASK_BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HOTRO_PUBLIC_URL": hotro,
        "PYTHONPATH": str(ROOT / "src"),
    }
    python = sys.executable
    subprocess.run([python, "-m", "django", "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=tmp)
    setup = subprocess.run(
        [python, "-c", SETUP % {"password": PASSWORD, "shop": shop}],
        env=env,
        check=True,
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    key = json.loads(setup.stdout.strip().splitlines()[-1])["public_key"]
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
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            python,
            "-m",
            "uvicorn",
            "hotro.config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--lifespan",
            "off",
        ],
        env=env,
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{hotro}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start:\n" + (tmp / "server.log").read_text())
            time.sleep(0.2)
        yield {"hotro": hotro, "shop": shop, "key": key, "env": env, "tmp": tmp, "log": tmp / "server.log"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        shop_server.shutdown()
        drop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Recorder:
    def __init__(self, page):
        self.urls, self.problems = [], []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(str(e)))

    def assert_only(self, *origins):
        foreign = [
            u
            for u in self.urls
            if not u.startswith("data:") and not any(u.startswith(o + "/") for o in origins)
        ]
        assert not foreign, f"requests to other origins: {foreign}"
        assert not self.problems, f"console errors / CSP violations: {self.problems}"


def shot(page, name):
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)


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
    shot(page, "comments-question-390")

    # an agent sees it in the inbox, with the product's link
    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    agent = agent_ctx.new_page()
    agent.goto(f"{sites['hotro']}/")
    agent.fill("input[name=login]", "chi@demo.test")
    agent.fill("input[name=password]", PASSWORD)
    agent.press("input[name=password]", "Enter")
    agent.wait_for_url(f"{sites['hotro']}/w/demo/**", timeout=10_000)
    agent.goto(f"{sites['hotro']}/w/demo/c/1/")
    agent.get_by_text("Áo có size XL không ạ?").first.wait_for(timeout=10_000)
    assert f"{sites['shop']}/product/ao-dai" in agent.content()
    agent_ctx.close()

    # the agent answers in public
    subprocess.run(
        [sys.executable, "-c", ANSWER, "Dạ shop còn size XL ạ, chị đặt hàng nhé!"],
        env=sites["env"],
        cwd=sites["tmp"],
        check=True,
    )

    # the answer shows on the shop's page, under the shop's name; another visitor sees both
    page.reload()
    answered = page.locator(".hc-item", has_text="Áo có size XL không ạ?")
    answered.locator(".hc-business", has_text="Dạ shop còn size XL ạ").wait_for(timeout=10_000)
    assert answered.locator(".hc-answered").count() == 1
    assert answered.locator(".hc-business .hc-author").inner_text() == "Cửa hàng Demo"
    assert answered.locator(".hc-pending").count() == 0
    shot(page, "comments-answered-390")

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
    shot(other, "comments-1280")

    recorder.assert_only(sites["shop"], sites["hotro"])
    other_recorder.assert_only(sites["shop"], sites["hotro"])
    assert any(u.startswith(sites["hotro"] + "/comments/api/") for u in recorder.urls)
    other_ctx.close()
    visitor_ctx.close()
