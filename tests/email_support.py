"""Reusable e-mail test fixtures: a real Dovecot IMAP server, an aiosmtpd capturing SMTP server,
a fake OAuth2 token endpoint, e-mail inboxes and mail builders.

Use from a test module with ``from email_support import *  # noqa: F403`` (the fixtures must be in
the module namespace) or import what you need.  Dovecot follows TESTING.md: a private config in a
temp dir on a free loopback port, mail owned by the ``mail`` user.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
PASSWORD = "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def dovecot_available() -> bool:
    return os.path.exists(DOVECOT) and os.geteuid() == 0


class Dovecot:
    """A throw-away Dovecot (IMAP, IDLE, UIDPLUS) with users ``<name>@example.test`` / ``PASSWORD``."""

    users = ("support@example.test", "customer@example.test", "bench@example.test", "other@example.test")

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hotro-dovecot-"))
        self.dir.chmod(0o755)  # Dovecot's auth process (user dovecot) reads the users file
        self.port = free_port()
        self.conf = self.dir / "dovecot.conf"
        (self.dir / "run").mkdir()
        (self.dir / "mail").mkdir()
        (self.dir / "users").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in self.users))
        self.conf.write_text(
            f"""
base_dir = {self.dir}/run
state_dir = {self.dir}/run/state
log_path = {self.dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{self.dir}/mail/%u
first_valid_uid = 1
mail_fsync = never
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.dir}/users
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={self.dir}/mail/%u
}}
"""
        )
        mail = pwd.getpwnam("mail")
        for root, dirs, _files in os.walk(self.dir / "mail"):
            for d in dirs:
                os.chown(os.path.join(root, d), mail.pw_uid, mail.pw_gid)
        os.chown(self.dir / "mail", mail.pw_uid, mail.pw_gid)

    def start(self) -> Dovecot:
        subprocess.run(
            [DOVECOT, "-c", str(self.conf)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        pid_file = self.dir / "run" / "master.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().strip())
            subprocess.run(
                [DOVEADM, "-c", str(self.conf), "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self, user: str = "support@example.test"):
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        client.login(user, PASSWORD)
        return client

    def append(
        self, raw: bytes | list[bytes], user: str = "support@example.test", folder: str = "INBOX"
    ) -> None:
        items = raw if isinstance(raw, list) else [raw]
        with self.client(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            for item in items:
                c.append(folder, item)

    def doveadm(self, *args: str) -> str:
        result = subprocess.run(
            [DOVEADM, "-c", str(self.conf), *args], check=True, capture_output=True, text=True
        )
        return result.stdout

    def set_uidvalidity(self, user: str, value: int, folder: str = "INBOX") -> None:
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)


@pytest.fixture(scope="session")
def dovecot():
    if not dovecot_available():
        if os.environ.get("HOTRO_REQUIRE_SERVICES") == "1":
            pytest.fail("Dovecot is not installed (apt-get install -y dovecot-imapd) or not running as root.")
        pytest.skip("Dovecot is not installed (apt-get install -y dovecot-imapd)")
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(dovecot):
    """An empty INBOX for support@example.test (emptied before the test)."""
    user = "support@example.test"
    with dovecot.client(user) as c:
        for folder in ("INBOX",):
            c.select_folder(folder)
            uids = c.search(["ALL"])
            if uids:
                c.delete_messages(uids)
                c.expunge()
    return user


# -- SMTP ---------------------------------------------------------------------------------------


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives: ``messages`` of (envelope, bytes)."""

    def __init__(self, *, auth: dict | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[tuple[dict, bytes]] = []
        self.received = threading.Condition()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink.received:
                    sink.messages.append(
                        (
                            {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)},
                            envelope.original_content,
                        )
                    )
                    sink.received.notify_all()
                return "250 OK"

        self.port = free_port()
        kwargs = {}
        if auth is not None:
            kwargs = {"authenticator": self._authenticator(auth), "auth_require_tls": False}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)

    @staticmethod
    def _authenticator(accounts: dict):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        def check(server, session, envelope, mechanism, auth_data):
            if isinstance(auth_data, LoginPassword):
                ok = accounts.get(auth_data.login.decode()) == auth_data.password.decode()
                return AuthResult(success=ok)
            return AuthResult(success=False)

        return check

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[dict, bytes]]:
        deadline = time.monotonic() + timeout
        with self.received:
            while len(self.messages) < count and time.monotonic() < deadline:
                self.received.wait(0.1)
        return list(self.messages)


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


# -- OAuth2 token endpoint -----------------------------------------------------------------------


class FakeTokenEndpoint:
    """``POST /token`` (grant_type=refresh_token) -> a new access token; counts calls; can refuse."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.refuse = False
        self.expires_in = 3600
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                endpoint.calls.append(form)
                if endpoint.refuse or form.get("grant_type") != "refresh_token":
                    status, body = 400, {"error": "invalid_grant"}
                else:
                    body = {"access_token": f"token-{len(endpoint.calls)}", "expires_in": endpoint.expires_in}
                    status = 200
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token_endpoint():
    endpoint = FakeTokenEndpoint()
    yield endpoint
    endpoint.stop()


# -- inboxes and mail ----------------------------------------------------------------------------


def make_email_inbox(workspace, *, dovecot=None, smtp=None, user="support@example.test", **extra):
    from hotro.connectors.email.inboxes import create_email_inbox

    data = {"from_address": "support@shop.test", "from_name": "Shop Support", **extra}
    if dovecot is not None:
        data["imap"] = {"host": "127.0.0.1", "port": dovecot.port, "security": "none", "username": user}
        data["imap_password"] = PASSWORD
    if smtp is not None:
        data["smtp"] = {"host": "127.0.0.1", "port": smtp.port, "security": "none", "username": ""}
    return create_email_inbox(workspace, "Support mail", **data)


def build_mail(
    *,
    sender="Lan Nguyen <lan@customer.test>",
    to="support@shop.test",
    subject="Đơn hàng bị lỗi",
    body="Xin chào, đơn hàng của tôi bị lỗi.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    cc: str | None = None,
    headers: dict | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain="customer.test")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def run_on_commit():
    """Run on-commit callbacks (task enqueues: processing, deliveries) at the end of the block, also
    inside a test's transaction; callbacks added by callbacks run too."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


def deliver_raw(inbox, raw: bytes, event_id: str | None = None):
    """Store and process one mail as the IMAP fetcher or the receiver would (one raw event)."""
    import hashlib

    from hotro.connectors.email.inbound import encode_raw
    from hotro.connectors.ingress import accept_event

    with run_on_commit():
        raw_event, _created = accept_event(
            inbox, event_id or "test:" + hashlib.sha256(raw).hexdigest(), encode_raw(raw), {"source": "test"}
        )
    raw_event.refresh_from_db()
    return raw_event


def customer_reply(
    sent: bytes, *, sender="Lan Nguyen <lan@customer.test>", body="Cảm ơn, vẫn còn lỗi."
) -> bytes:
    """What a mail client makes when the customer presses Reply on ``sent``: Re: subject, threading
    headers, and the original quoted below an attribution line."""
    import email
    import email.policy

    original = email.message_from_bytes(sent, policy=email.policy.default)
    text = original.get_body(("plain",)).get_content()
    quoted = "\n".join("> " + line for line in text.splitlines())
    refs = (original.get("References", "") + " " + original["Message-ID"]).strip()
    return build_mail(
        sender=sender,
        to=str(original["From"]),
        subject="Re: " + str(original["Subject"]),
        body=f"{body}\n\nOn Mon, 1 Jan 2026 at 10:00, Shop Support <support@shop.test> wrote:\n{quoted}\n",
        in_reply_to=original["Message-ID"],
        references=refs,
    )
