"""The e-mail channel end to end, in a real browser: real Dovecot (IMAP IDLE), the embedded server
(uvicorn + the IMAP IDLE supervisor + the SMTP receiver, ``hotro.config.embedded.serve``) in its own
process on its own committed database, and a capturing SMTP server for replies.

A customer's mail APPENDed to the mailbox shows up live in the agent's list; the agent replies in the
UI; the reply reaches the SMTP server with our own Message-ID; the customer's client answers with
quoting, and that answer lands in the same conversation showing only the new words.
"""

from __future__ import annotations

import email
import email.policy

import pytest

from browser_support import PASSWORD, browser, embedded_command, free_port, serving, shot, sign_in  # noqa: F401
from email_support import PASSWORD as IMAP_PASSWORD
from email_support import SmtpSink, build_mail, customer_reply, dovecot, mailbox  # noqa: F401

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

SETUP = """
import django
django.setup()
from hotro.connectors.email.inboxes import create_email_inbox
from hotro.tenancy.actions import do_create_workspace

workspace = do_create_workspace(slug="demo", name="Cửa hàng Demo", owner_email="chi@demo.test",
                                password=%(password)r)
create_email_inbox(
    workspace, "Hỗ trợ qua email", from_name="Shop Support", from_address="support@shop.test",
    imap={"host": "127.0.0.1", "port": %(imap_port)d, "security": "none",
          "username": "support@example.test", "folders": ["INBOX"]},
    imap_password=%(imap_password)r,
    smtp={"host": "127.0.0.1", "port": %(smtp_port)d, "security": "none"},
)
"""

SERVE = """
import django
django.setup()
from hotro.config.embedded import serve
serve("127.0.0.1", %(port)d, worker=False, scheduler=False, mail=True, log_level="warning")
"""


@pytest.fixture
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def server(tmp_path, dovecot, mailbox, sink):  # noqa: F811 - fixtures
    setup = SETUP % {
        "password": PASSWORD,
        "imap_port": dovecot.port,
        "imap_password": IMAP_PASSWORD,
        "smtp_port": sink.port,
    }
    serve = lambda port: embedded_command(SERVE % {"port": port})  # noqa: E731
    with serving(tmp_path, setup, serve, name="the server", SMTP_PORT=str(free_port())) as instance:
        yield instance


def test_mail_in_live_reply_out_and_the_quoted_answer_threads(server, browser, dovecot, sink):  # noqa: F811
    context, page, recorder = sign_in(browser, server.url, "chi@demo.test", 1280, 800)
    assert page.locator(".conv-row").count() == 0

    # the customer's mail arrives in the mailbox: IMAP IDLE fetches it, the row appears live
    first = build_mail(
        sender="Lan Nguyễn <lan@customer.test>",
        to="support@shop.test",
        subject="Đơn hàng 1234 bị lỗi",
        body="Xin chào, đơn hàng 1234 của tôi bị giao thiếu một món.",
    )
    dovecot.append(first)
    row = page.locator(".conv-row", has_text="Lan Nguyễn")
    row.wait_for(timeout=30_000)
    shot(page, "email-inbox-list-1280")

    # the agent opens it and replies from the UI
    row.click()
    page.wait_for_url("**/c/1/")
    page.locator(".msg-body", has_text="giao thiếu một món").wait_for()
    page.wait_for_selector("#live-status[data-state=live]")
    page.keyboard.press("r")
    page.keyboard.type("Chào chị Lan, shop sẽ gửi bù món còn thiếu ngay hôm nay.")
    page.click("form[data-tab=reply] button[type=submit]")
    page.locator(".msg-out", has_text="gửi bù món còn thiếu").wait_for(timeout=10_000)

    # the reply went out over SMTP, to the customer, with our own Message-ID and threading headers
    [(envelope, raw)] = sink.wait_for(1, timeout=20)
    assert envelope["rcpt_tos"] == ["lan@customer.test"]
    sent = email.message_from_bytes(raw, policy=email.policy.default)
    assert sent["Message-ID"].strip().startswith("<hotro.")
    original_id = email.message_from_bytes(first, policy=email.policy.default)["Message-ID"]
    assert sent["In-Reply-To"].strip() == original_id.strip()
    assert "[#1]" in sent["Subject"] and "gửi bù món còn thiếu" in sent.get_body(("plain",)).get_content()

    # the customer's client answers with the usual "On ... wrote:" quoting
    answer = customer_reply(
        raw, sender="Lan Nguyễn <lan@customer.test>", body="Cảm ơn shop, tôi đã nhận được thông báo."
    )
    assert b"wrote:" in answer and sent["Message-ID"].strip().encode() in answer
    dovecot.append(answer)

    # it lands in the same conversation, live, showing only the new words
    page.locator(".msg-body", has_text="tôi đã nhận được thông báo").wait_for(timeout=30_000)
    assert page.url.endswith("/c/1/")
    bodies = page.locator(".msg-body").all_inner_texts()
    newest = next(b for b in bodies if "tôi đã nhận được thông báo" in b)
    assert "wrote:" not in newest and "gửi bù món còn thiếu" not in newest
    quoted = page.locator(".msg-in details.msg-quoted").last
    expect(quoted).not_to_have_attribute("open", "")
    expect(quoted.locator(".msg-quoted-text")).to_be_hidden()  # collapsed, one click away
    quoted.locator("summary").click()
    expect(quoted.locator(".msg-quoted-text")).to_contain_text("gửi bù món còn thiếu")
    page.goto(f"{server.url}/w/demo/?status=all")
    expect(page.locator(".conv-row")).to_have_count(1)
    shot(page, "email-conversation-1280")

    recorder.assert_same_origin(server.url)
    context.close()
