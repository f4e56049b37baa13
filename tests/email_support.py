"""Reusable e-mail test fixtures: a real Dovecot IMAP server, an aiosmtpd capturing SMTP server,
a fake OAuth2 token endpoint, e-mail inboxes and mail builders.

Use from a test module with ``from email_support import *  # noqa: F403`` (the fixtures must be in
the module namespace) or import what you need.  Dovecot follows TESTING.md: a private config in a
temp dir on a free loopback port, mail owned by the ``mail`` user.

Security: ``ThrowawayCA`` makes a CA and a server certificate for 127.0.0.1 / localhost at test time;
``dovecot_tls`` is a second Dovecot with implicit TLS (``tls_port``), STARTTLS on ``port`` and an
``oauth2`` passdb (XOAUTH2 / OAUTHBEARER) that asks the session's fake OAuth provider
(``oauth_server``) whether a token is active; ``SmtpSink`` can speak STARTTLS or implicit TLS, sign
in with PLAIN / LOGIN and check XOAUTH2 tokens.  Every network wait has a timeout.
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
from datetime import UTC, datetime, timedelta
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


def require_dovecot() -> None:
    """Skip without Dovecot, or fail when services are required (CI: HOTRO_REQUIRE_SERVICES=1)."""
    if dovecot_available():
        return
    if os.environ.get("HOTRO_REQUIRE_SERVICES", "") in {"1", "true", "yes"}:
        pytest.fail("Dovecot is not installed (apt-get install -y dovecot-imapd) or not running as root.")
    pytest.skip("Dovecot is not installed (apt-get install -y dovecot-imapd)")


class ThrowawayCA:
    """A CA made for one test session and a server certificate it signed for 127.0.0.1 and
    localhost: ``ca_file`` (to trust), ``cert_file`` / ``key_file`` (for servers)."""

    def __init__(self, directory: Path, name: str = "hotro throw-away test CA") -> None:
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.now(UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o755)
        self.ca_file = directory / "ca.pem"
        self.cert_file = directory / "server.pem"
        self.key_file = directory / "server.key"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.key_file.chmod(0o600)

    def server_context(self):
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self):
        import ssl

        return ssl.create_default_context(cafile=str(self.ca_file))


class Dovecot:
    """A throw-away Dovecot (IMAP, IDLE, UIDPLUS) with users ``<name>@example.test`` / ``PASSWORD``.

    With ``tls`` (a ``ThrowawayCA``): implicit TLS on ``tls_port`` and STARTTLS on ``port`` (plain
    sign-in stays allowed there, so the test helpers can append mail).  With ``introspection_url``:
    XOAUTH2 / OAUTHBEARER sign-in through an ``oauth2`` passdb that POSTs the token to that URL
    (RFC 7662: ``{"active": true, "username": ...}``)."""

    users = ("support@example.test", "customer@example.test", "bench@example.test", "other@example.test")

    def __init__(self, *, tls: ThrowawayCA | None = None, introspection_url: str | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hotro-dovecot-"))
        self.dir.chmod(0o755)  # Dovecot's auth process (user dovecot) reads the users file
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.conf = self.dir / "dovecot.conf"
        (self.dir / "run").mkdir()
        (self.dir / "mail").mkdir()
        (self.dir / "users").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in self.users))
        if tls:
            ssl_conf = f"ssl = yes\nssl_cert = <{tls.cert_file}\nssl_key = <{tls.key_file}\n"
            # refused sign-ins are part of these tests: answer them at once (no brute-force delay)
            ssl_conf += "auth_failure_delay = 0\nservice anvil {\n  unix_listener anvil-auth-penalty {\n"
            ssl_conf += "    mode = 0\n  }\n}\n"
            imaps = f"address = 127.0.0.1\n    port = {self.tls_port}\n    ssl = yes"
        else:
            ssl_conf, imaps = "ssl = no\n", "port = 0"
        mechanisms, oauth2_passdb = "plain login", ""
        if introspection_url:
            (self.dir / "oauth2.conf.ext").write_text(
                f"introspection_mode = post\nintrospection_url = {introspection_url}\n"
                "force_introspection = yes\nusername_attribute = username\n"
                "active_attribute = active\nactive_value = true\ntimeout_msecs = 5000\n"
            )
            mechanisms += " xoauth2 oauthbearer"
            oauth2_passdb = (
                "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {self.dir}/oauth2.conf.ext\n}}\n"
            )
        self.conf.write_text(
            f"""
base_dir = {self.dir}/run
state_dir = {self.dir}/run/state
log_path = {self.dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl_conf}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
mail_location = maildir:{self.dir}/mail/%u
first_valid_uid = 1
mail_fsync = never
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    {imaps}
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
{oauth2_passdb}userdb {{
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
            [DOVECOT, "-c", str(self.conf)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        wait_port(self.port)
        if self.tls_port:
            wait_port(self.tls_port)
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
                timeout=30,
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
            [DOVEADM, "-c", str(self.conf), *args], check=True, capture_output=True, text=True, timeout=30
        )
        return result.stdout

    def set_uidvalidity(self, user: str, value: int, folder: str = "INBOX") -> None:
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def empty(self, user: str = "support@example.test", folder: str = "INBOX") -> str:
        with self.client(user) as c:
            c.select_folder(folder)
            uids = c.search(["ALL"])
            if uids:
                c.delete_messages(uids)
                c.expunge()
        return user


@pytest.fixture(scope="session")
def dovecot():
    require_dovecot()
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(dovecot):
    """An empty INBOX for support@example.test (emptied before the test)."""
    return dovecot.empty("support@example.test")


@pytest.fixture(scope="session")
def throwaway_ca(tmp_path_factory):
    """A throw-away CA with a server certificate for 127.0.0.1 / localhost."""
    return ThrowawayCA(tmp_path_factory.mktemp("hotro-ca"))


@pytest.fixture
def email_ca(throwaway_ca, settings):
    """Trust ``throwaway_ca`` for mail servers, as a deployment with a private CA would
    (``HOTRO_EMAIL_CA_FILE``)."""
    settings.HOTRO_EMAIL_CA_FILE = str(throwaway_ca.ca_file)
    return throwaway_ca


@pytest.fixture(scope="session")
def oauth_provider():
    """One fake OAuth2 provider for the session (Dovecot's oauth2 passdb asks it); tests use
    ``oauth_server``, which starts each test from a clean state."""
    endpoint = FakeTokenEndpoint()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def oauth_server(oauth_provider):
    oauth_provider.reset()
    yield oauth_provider
    oauth_provider.reset()


@pytest.fixture(scope="session")
def dovecot_tls(throwaway_ca, oauth_provider):
    """Dovecot with TLS (``tls_port``), STARTTLS (``port``) and XOAUTH2 checked against
    ``oauth_provider``'s introspection endpoint."""
    require_dovecot()
    server = Dovecot(tls=throwaway_ca, introspection_url=oauth_provider.introspect_url).start()
    yield server
    server.stop()


@pytest.fixture
def tls_mailbox(dovecot_tls):
    """An empty INBOX for support@example.test on ``dovecot_tls``."""
    return dovecot_tls.empty("support@example.test")


# -- SMTP ---------------------------------------------------------------------------------------


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives: ``messages`` of (envelope, bytes).

    ``auth``: accounts ``{login: password}`` for AUTH PLAIN / LOGIN (``mechanisms`` limits what is
    offered, e.g. ``("LOGIN",)``); ``oauth2``: a ``FakeTokenEndpoint`` whose issued tokens AUTH
    XOAUTH2 accepts (a refused token gets Gmail's JSON challenge, then 535).  ``tls``: a
    ``ThrowawayCA`` whose server certificate the sink presents, with STARTTLS required before MAIL
    and AUTH (``implicit_tls=False``), or TLS from the first byte (``implicit_tls=True``, port 465
    style).  Each envelope records ``tls`` (whether the session was encrypted) and ``login``;
    ``auth_attempts`` lists ``(mechanism, login, accepted, encrypted)``.

    aiosmtpd only counts STARTTLS as encryption for ``auth_require_tls`` (an implicit-TLS session
    would get "538 Encryption required" and never see AUTH in EHLO), so the sink checks encryption
    itself from the transport's ``ssl_object``."""

    def __init__(
        self,
        *,
        auth: dict | None = None,
        oauth2: FakeTokenEndpoint | None = None,
        tls: ThrowawayCA | None = None,
        implicit_tls: bool = False,
        mechanisms: tuple[str, ...] | None = None,
    ) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[tuple[dict, bytes]] = []
        self.auth_attempts: list[tuple[str, str, bool, bool]] = []
        self.received = threading.Condition()
        self.tls = tls
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink.received:
                    sink.messages.append(
                        (
                            {
                                "mail_from": envelope.mail_from,
                                "rcpt_tos": list(envelope.rcpt_tos),
                                "tls": sink.encrypted(server),
                                "login": session.auth_data,
                            },
                            envelope.original_content,
                        )
                    )
                    sink.received.notify_all()
                return "250 OK"

        class OAuthHandler(Handler):
            async def auth_XOAUTH2(self, server, args):
                """RFC-less but documented (CHANNELS.md 4.4): base64("user=U^Aauth=Bearer T^A^A")."""
                import base64
                import binascii

                if len(args) > 1:
                    blob = args[1].encode()
                else:
                    blob = await server.challenge_auth("", encode_to_b64=False)
                    if not isinstance(blob, bytes):
                        return AuthResult(success=False, handled=True)
                try:
                    fields = base64.b64decode(blob, validate=True).decode().split("\x01")
                except (binascii.Error, UnicodeDecodeError):
                    return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
                values = dict(f.split("=", 1) for f in fields if "=" in f)
                user, bearer = values.get("user", ""), values.get("auth", "")
                token = bearer[7:] if bearer.startswith("Bearer ") else ""
                ok = sink.encrypted(server) or sink.tls is None
                ok = ok and oauth2.active_user(token) == user
                sink.auth_attempts.append(("XOAUTH2", user, ok, sink.encrypted(server)))
                if ok:
                    return AuthResult(success=True, auth_data=user)
                error = json.dumps(
                    {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
                )
                # The client must answer the error challenge with an empty line before the 535.
                answer = await server.challenge_auth(error)
                if answer not in (b"",):
                    sink.auth_attempts.append(("XOAUTH2-error-answer", user, False, sink.encrypted(server)))
                return AuthResult(success=False, handled=False)  # -> 535

        handler = OAuthHandler() if oauth2 is not None else Handler()
        self.port = free_port()
        kwargs: dict = {"ready_timeout": 10.0}
        if auth is not None or oauth2 is not None:
            offered = set(mechanisms or ()) | ({"XOAUTH2"} if oauth2 is not None else set())
            kwargs.update(
                authenticator=self._authenticator(auth or {}),
                auth_require_tls=False,  # enforced by the authenticator (see the class docstring)
                auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if mechanisms and m not in offered],
            )
        if tls is not None and implicit_tls:
            kwargs["ssl_context"] = tls.server_context()
        elif tls is not None:
            kwargs.update(tls_context=tls.server_context(), require_starttls=True)
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @staticmethod
    def encrypted(server) -> bool:
        transport = getattr(server, "transport", None)
        return bool(transport is not None and transport.get_extra_info("ssl_object"))

    def _authenticator(self, accounts: dict):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        sink = self

        def check(server, session, envelope, mechanism, auth_data):
            # A refusal must say handled=False: AuthResult's default (handled=True) means "the reply
            # was already sent", so aiosmtpd answers nothing and the client waits until it times
            # out -- the hang an earlier AUTH test ran into.
            if not isinstance(auth_data, LoginPassword):
                return AuthResult(success=False, handled=False)
            login = auth_data.login.decode()
            encrypted = sink.encrypted(server)
            if sink.tls is not None and not encrypted:
                sink.auth_attempts.append((mechanism, login, False, False))
                return AuthResult(success=False, handled=False, message="538 5.7.11 Encryption required")
            ok = accounts.get(login) == auth_data.password.decode()
            sink.auth_attempts.append((mechanism, login, ok, encrypted))
            return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

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
    """A fake OAuth2 provider on 127.0.0.1.

    ``POST /token`` (grant_type=refresh_token) -> a new access token for ``username``; counts
    calls in ``calls``; ``refuse = True`` answers 400 invalid_grant (a revoked grant).
    ``POST /introspect`` (RFC 7662, form ``token=``) -> ``{"active": true, "username": ...}`` for a
    token it issued (or ``grant()`` added), ``{"active": false}`` for any other; asked tokens are
    kept in ``introspections``."""

    def __init__(self, username: str = "support@example.test") -> None:
        import itertools

        self.username = username
        self.calls: list[dict] = []
        self.introspections: list[str] = []
        self.issued: dict[str, str] = {}
        self.refuse = False
        self.expires_in = 3600
        self.serial = itertools.count(1)
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path.startswith("/introspect"):
                    status, body = 200, endpoint.introspect(form.get("token", ""))
                else:
                    status, body = endpoint.token(form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.timeout = 10
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{base}/token"
        self.introspect_url = f"{base}/introspect"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token(self, form: dict) -> tuple[int, dict]:
        with self.lock:
            self.calls.append(form)
            if self.refuse or form.get("grant_type") != "refresh_token":
                return 400, {"error": "invalid_grant"}
            token = f"token-{next(self.serial)}"
            self.issued[token] = self.username
            return 200, {"access_token": token, "expires_in": self.expires_in}

    def introspect(self, token: str) -> dict:
        with self.lock:
            self.introspections.append(token)
            user = self.issued.get(token)
        return {"active": True, "username": user} if user else {"active": False}

    def grant(self, token: str, username: str | None = None) -> None:
        """Make ``token`` valid (as if issued earlier) for ``username``."""
        with self.lock:
            self.issued[token] = username or self.username

    def active_user(self, token: str) -> str | None:
        with self.lock:
            return self.issued.get(token)

    def reset(self) -> None:
        """Forget calls and issued tokens (token numbers keep counting, so none is reused)."""
        with self.lock:
            self.calls.clear()
            self.introspections.clear()
            self.issued.clear()
            self.refuse = False
            self.expires_in = 3600

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
