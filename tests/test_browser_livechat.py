"""The live-chat widget in a real browser: a host page on a *different* origin embeds it with one
<script> tag; a visitor chats live with an agent using the inbox UI in another browser context; a
reload keeps the history; a verified visitor sees it on a second device, an unverified one does not;
the visitor's browser talks to nobody but hotro and the host page."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("livechat-browser")
    port, site_port = free_port(), free_port()
    base, site = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{site_port}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "HOTRO_MASTER_KEY", "DATABASE_URL"}},
        "HOTRO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "hotro.config.settings_test",
        "DATABASE_URL": f"sqlite:///{tmp / 'browser.sqlite3'}",
        "HOTRO_VAR_DIR": str(tmp),
        "HOTRO_MASTER_KEY_FILE": str(tmp / "master.key"),
        "HOTRO_FILE_ROOT": str(tmp / "files"),
        "HOTRO_TASK_BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HOTRO_PUBLIC_URL": base,
        "PYTHONPATH": str(ROOT / "src"),
    }
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=tmp
    )
    out = subprocess.run(
        [sys.executable, "-c", SETUP % {"password": PASSWORD, "site": site}],
        env=env,
        check=True,
        cwd=tmp,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out.strip().splitlines()[-1])
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
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
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
                if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start:\n" + (tmp / "server.log").read_text())
            time.sleep(0.2)
        yield {"base": base, "site": site, **info}
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Network:
    def __init__(self, page):
        self.urls = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("websocket", lambda ws: self.urls.append(ws.url))

    def foreign(self, *origins):
        allowed = [o + "/" for o in origins] + [o.replace("http://", "ws://") + "/" for o in origins]
        return [
            u
            for u in self.urls
            if not any(u.startswith(a) for a in allowed) and not u.startswith(("data:", "blob:"))
        ]


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
    network = Network(page)
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
    agent.goto(world["base"] + "/")
    agent.fill("input[name=login]", "chi@demo.test")
    agent.fill("input[name=password]", PASSWORD)
    agent.press("input[name=password]", "Enter")
    agent.wait_for_url(world["base"] + "/w/demo/**")
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
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "livechat-visitor-390.png"), caret="initial")

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
    network = Network(page)
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
