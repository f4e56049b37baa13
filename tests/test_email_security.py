"""E-mail security against real servers: IMAP over TLS and STARTTLS (Dovecot with a throw-away CA
trusted through HOTRO_EMAIL_CA_FILE), XOAUTH2 with a token Dovecot checks by introspection,
refresh before expiry and a revoked grant; SMTP replies over STARTTLS with AUTH PLAIN / LOGIN,
implicit TLS and XOAUTH2 (aiosmtpd), and the errors admins see when something is wrong.

Everything runs through the product's own functions (``poll_inbox``, the outbox, the admin's
connection test); the servers only listen on 127.0.0.1 and every network wait has a timeout."""

from __future__ import annotations

import email
import email.policy
import time
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from email_support import (  # noqa: F401
    PASSWORD,
    SmtpSink,
    build_mail,
    deliver_raw,
    dovecot,
    dovecot_tls,
    email_ca,
    free_port,
    mailbox,
    make_email_inbox,
    oauth_provider,
    oauth_server,
    run_on_commit,
    throwaway_ca,
    tls_mailbox,
)
from hotro.connectors.base import ConnectorError
from hotro.connectors.email.imap import poll_inbox
from hotro.connectors.models import Delivery, Inbox, RawEvent
from hotro.conversations.models import Conversation, Message

pytestmark = pytest.mark.django_db(transaction=True)

USER = "support@example.test"
SMTP_LOGIN = "support@shop.test"
SMTP_PASSWORD = "smtp-pass"


def imap_inbox(workspace, server, *, security: str, port: int, **extra) -> Inbox:
    inbox = make_email_inbox(workspace, **extra)
    inbox.settings["imap"] = {
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "username": USER,
        "folders": ["INBOX"],
    }
    inbox.save(update_fields=["settings"])
    if "imap_password" not in inbox.credentials and extra.get("auth") != "oauth2":
        inbox.credentials = {**inbox.credentials, "imap_password": PASSWORD}
        inbox.save(update_fields=["credentials"])
    return inbox


def smtp_inbox(workspace, sink: SmtpSink, *, security: str, username: str = SMTP_LOGIN, **extra) -> Inbox:
    inbox = make_email_inbox(workspace, **extra)
    inbox.settings["smtp"] = {
        "host": "127.0.0.1",
        "port": sink.port,
        "security": security,
        "username": username,
    }
    inbox.save(update_fields=["settings"])
    return inbox


def oauth2_settings(oauth, **tokens) -> dict:
    expired = (timezone.now() - timedelta(minutes=1)).isoformat()
    return {
        "auth": "oauth2",
        "oauth2": {"token_url": oauth.url, "client_id": "hotro-test"},
        "oauth2_refresh_token": "refresh-1",
        "oauth2_access_token": "expired-token",
        "oauth2_expires_at": expired,
        **tokens,
    }


def poll(inbox: Inbox) -> int:
    with run_on_commit(), translation.override("en"):
        return poll_inbox(inbox)


def failed_poll(inbox: Inbox) -> ConnectorError:
    with pytest.raises(ConnectorError) as info, translation.override("en"):
        poll_inbox(inbox)
    return info.value


def new_log(server, offset: int, needle: str, timeout: float = 5.0) -> str:
    """Dovecot's log since ``offset``, once it mentions ``needle`` (its log process writes a
    moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        text = server.log()[offset:]
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def logins(log: str) -> list[str]:
    return [line for line in log.splitlines() if "imap-login: Info: Login:" in line]


def connection_check(inbox: Inbox):
    from hotro.inbox.email_admin import check_connection

    inbox.refresh_from_db()
    with translation.override("en"):
        return check_connection(inbox)


def reply_to_a_customer(inbox: Inbox):
    """A customer's mail, then an agent's reply: the outbox sends it at commit.  Returns the
    reply's delivery."""
    from hotro.conversations.actions import do_send_reply

    deliver_raw(inbox, build_mail())
    conversation = Conversation.objects.get(inbox=inbox)
    with translation.override("en"):
        reply = do_send_reply(None, conversation, "Chào chị Lan, đơn hàng đã được đổi.")
    return Delivery.objects.get(message=reply)


# -- IMAP --------------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_over_tls_and_starttls_with_a_private_ca_fetches_mail(
    ws_a, dovecot_tls, tls_mailbox, email_ca, security
):
    port = dovecot_tls.tls_port if security == "tls" else dovecot_tls.port
    inbox = imap_inbox(ws_a, dovecot_tls, security=security, port=port)
    dovecot_tls.append(build_mail(subject=f"Hỏi qua {security}"))
    offset = len(dovecot_tls.log())
    assert poll(inbox) == 1
    conversation = Conversation.objects.get(inbox=inbox)
    assert conversation.subject == f"Hỏi qua {security}"
    assert conversation.messages.get().sender_identity.address == "lan@customer.test"
    [login] = logins(new_log(dovecot_tls, offset, "Login:"))
    assert "method=PLAIN" in login and ", TLS," in login  # signed in inside the encrypted session
    inbox.refresh_from_db()
    assert inbox.health == "ok" and inbox.last_success_at is not None
    [check] = connection_check(inbox)
    assert check.ok and f"Signed in to 127.0.0.1:{port}" in check.words


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_an_untrusted_imap_certificate_is_a_clear_error_and_nothing_is_fetched(
    ws_a, dovecot_tls, tls_mailbox, settings, security
):
    settings.HOTRO_EMAIL_CA_FILE = ""  # only the system's CAs: the throw-away CA is unknown
    port = dovecot_tls.tls_port if security == "tls" else dovecot_tls.port
    inbox = imap_inbox(ws_a, dovecot_tls, security=security, port=port)
    dovecot_tls.append(build_mail())
    offset = len(dovecot_tls.log())
    error = failed_poll(inbox)
    expected = (
        f"The certificate of the mail server 127.0.0.1:{port} is not trusted "
        "(unable to get local issuer certificate); check the host name or ask the mail provider; will retry."
    )
    assert str(error) == expected and not error.permanent
    inbox.refresh_from_db()
    assert inbox.health == "degraded" and inbox.last_error == expected
    assert not RawEvent.objects.filter(inbox=inbox).exists()
    assert not Conversation.objects.filter(inbox=inbox).exists()
    assert logins(new_log(dovecot_tls, offset, "alert unknown ca")) == []  # the password never left
    [check] = connection_check(inbox)
    assert not check.ok and check.words == expected


def test_starttls_against_a_server_without_it_is_refused_before_signing_in(ws_a, dovecot, mailbox):
    inbox = imap_inbox(ws_a, dovecot, security="starttls", port=dovecot.port)
    dovecot.append(build_mail())
    offset = len(dovecot.log())
    error = failed_poll(inbox)
    expected = (
        f"The mail server 127.0.0.1:{dovecot.port} does not offer STARTTLS; choose TLS (usually port 993) "
        "or ask the mail provider."
    )
    assert str(error) == expected and error.permanent
    inbox.refresh_from_db()
    assert inbox.health == "needs_attention" and inbox.last_error == expected
    assert inbox.last_error_code == ""  # a settings problem, not "reconnect needed"
    assert not Conversation.objects.filter(inbox=inbox).exists()
    assert logins(new_log(dovecot, offset, "no auth attempts")) == []  # no sign-in without encryption
    [check] = connection_check(inbox)
    assert not check.ok and check.words == expected


def test_xoauth2_refreshes_an_expired_token_and_dovecot_accepts_the_fresh_one(
    ws_a, dovecot_tls, tls_mailbox, email_ca, oauth_server
):
    inbox = imap_inbox(
        ws_a, dovecot_tls, security="tls", port=dovecot_tls.tls_port, **oauth2_settings(oauth_server)
    )
    dovecot_tls.append(build_mail(subject="Qua OAuth2"))
    offset = len(dovecot_tls.log())
    assert poll(inbox) == 1
    [call] = oauth_server.calls
    assert call["grant_type"] == "refresh_token" and call["refresh_token"] == "refresh-1"
    inbox.refresh_from_db()
    fresh = inbox.credentials["oauth2_access_token"]
    assert fresh != "expired-token" and oauth_server.active_user(fresh) == USER
    assert oauth_server.introspections == [fresh]  # Dovecot asked the provider about the new token
    [login] = logins(new_log(dovecot_tls, offset, "Login:"))
    assert "method=XOAUTH2" in login and ", TLS," in login
    assert Conversation.objects.get(inbox=inbox).subject == "Qua OAuth2"
    assert inbox.health == "ok"
    [check] = connection_check(inbox)  # the admin's connection test signs in the same way
    assert check.ok and oauth_server.introspections == [fresh, fresh]

    dovecot_tls.append(build_mail(subject="Lần hai"))
    assert poll(inbox) == 1
    assert len(oauth_server.calls) == 1 and oauth_server.introspections == [fresh] * 3  # still valid


def test_xoauth2_with_a_token_the_provider_does_not_know_is_refused_by_dovecot(
    ws_a, dovecot_tls, tls_mailbox, email_ca, oauth_server
):
    valid_for_an_hour = (timezone.now() + timedelta(hours=1)).isoformat()
    inbox = imap_inbox(
        ws_a,
        dovecot_tls,
        security="tls",
        port=dovecot_tls.tls_port,
        **oauth2_settings(oauth_server, oauth2_access_token="forged", oauth2_expires_at=valid_for_an_hour),
    )
    dovecot_tls.append(build_mail())
    error = failed_poll(inbox)
    assert error.permanent and error.code == "reconnect" and "refused the sign-in" in str(error)
    assert oauth_server.calls == [] and oauth_server.introspections == ["forged"]
    assert not Conversation.objects.filter(inbox=inbox).exists()
    inbox.refresh_from_db()
    assert inbox.health == "needs_attention"


def test_a_revoked_grant_asks_to_reconnect_once_without_a_retry_storm(
    ws_a, dovecot_tls, tls_mailbox, email_ca, oauth_server
):
    from hotro.connectors.email.tasks import poll_email_inbox

    oauth_server.refuse = True
    inbox = imap_inbox(
        ws_a, dovecot_tls, security="tls", port=dovecot_tls.tls_port, **oauth2_settings(oauth_server)
    )
    dovecot_tls.append(build_mail(subject="Sau khi kết nối lại"))
    offset = len(dovecot_tls.log())
    error = failed_poll(inbox)
    expected = "The mail provider refused to renew access (invalid_grant); reconnect the mailbox."
    assert str(error) == expected and error.permanent and error.code == "reconnect"
    inbox.refresh_from_db()
    assert inbox.health == "needs_attention" and inbox.last_error == expected
    assert inbox.last_error_code == "reconnect"
    assert len(oauth_server.calls) == 1

    # The scheduled polls go on (every minute), but the refused grant is not sent again and no
    # IMAP connection is made: the provider and the mail server see nothing until a reconnect.
    for _attempt in range(3):
        with translation.override("en"):
            assert poll_email_inbox.call(str(inbox.pk)) == 0
    assert len(oauth_server.calls) == 1
    inbox.refresh_from_db()
    assert inbox.health == "needs_attention" and inbox.last_error == expected
    time.sleep(0.3)
    assert "imap-login" not in dovecot_tls.log()[offset:]
    assert not Conversation.objects.filter(inbox=inbox).exists()

    # Reconnecting stores a new grant (as the OAuth connect flow does): mail flows again.
    oauth_server.refuse = False
    inbox.credentials = {**inbox.credentials, "oauth2_refresh_token": "refresh-2"}
    inbox.save(update_fields=["credentials"])
    assert poll(inbox) == 1
    assert [c["refresh_token"] for c in oauth_server.calls] == ["refresh-1", "refresh-2"]
    inbox.refresh_from_db()
    assert inbox.health == "ok" and "oauth2_refused" not in inbox.credentials
    assert Conversation.objects.get(inbox=inbox).subject == "Sau khi kết nối lại"


# -- SMTP --------------------------------------------------------------------------------------


@pytest.fixture
def sinks():
    started: list[SmtpSink] = []

    def start(**kwargs) -> SmtpSink:
        sink = SmtpSink(**kwargs).start()
        started.append(sink)
        return sink

    yield start
    for sink in started:
        sink.stop()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_a_reply_is_sent_over_starttls_after_auth(ws_a, email_ca, sinks, mechanism):
    sink = sinks(auth={SMTP_LOGIN: SMTP_PASSWORD}, tls=email_ca, mechanisms=(mechanism,))
    inbox = smtp_inbox(ws_a, sink, security="starttls", smtp_password=SMTP_PASSWORD)
    delivery = reply_to_a_customer(inbox)
    [(envelope, raw)] = sink.wait_for(1)
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.last_error == ""
    assert envelope["tls"] and envelope["login"] == SMTP_LOGIN
    assert envelope["rcpt_tos"] == ["lan@customer.test"]
    sent = email.message_from_bytes(raw, policy=email.policy.default)
    assert "đơn hàng đã được đổi" in sent.get_body(("plain",)).get_content()
    assert sink.auth_attempts == [(mechanism, SMTP_LOGIN, True, True)]
    [check] = connection_check(inbox)
    assert check.ok and check.words == f"Signed in to 127.0.0.1:{sink.port}."
    assert len(sink.auth_attempts) == 2 and sink.auth_attempts[1] == (mechanism, SMTP_LOGIN, True, True)


def test_a_reply_is_sent_over_implicit_tls(ws_a, email_ca, sinks):
    sink = sinks(auth={SMTP_LOGIN: SMTP_PASSWORD}, tls=email_ca, implicit_tls=True)
    inbox = smtp_inbox(ws_a, sink, security="tls", smtp_password=SMTP_PASSWORD)
    delivery = reply_to_a_customer(inbox)
    [(envelope, _raw)] = sink.wait_for(1)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert envelope["tls"] and envelope["login"] == SMTP_LOGIN
    assert [a[0] for a in sink.auth_attempts] == ["PLAIN"] and sink.auth_attempts[0][2:] == (True, True)


def test_a_reply_is_sent_with_xoauth2_and_a_refreshed_token(ws_a, email_ca, sinks, oauth_server):
    sink = sinks(oauth2=oauth_server, tls=email_ca, mechanisms=())
    inbox = smtp_inbox(ws_a, sink, security="starttls", username=USER, **oauth2_settings(oauth_server))
    delivery = reply_to_a_customer(inbox)
    [(envelope, _raw)] = sink.wait_for(1)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert len(oauth_server.calls) == 1
    assert sink.auth_attempts == [("XOAUTH2", USER, True, True)] and envelope["login"] == USER
    [check] = connection_check(inbox)
    assert check.ok and sink.auth_attempts[1:] == [("XOAUTH2", USER, True, True)]


def test_a_refused_xoauth2_token_fails_the_delivery_and_answers_the_error_challenge(
    ws_a, email_ca, sinks, oauth_server
):
    sink = sinks(oauth2=oauth_server, tls=email_ca, mechanisms=())
    valid_for_an_hour = (timezone.now() + timedelta(hours=1)).isoformat()
    inbox = smtp_inbox(
        ws_a,
        sink,
        security="starttls",
        username=USER,
        **oauth2_settings(oauth_server, oauth2_access_token="forged", oauth2_expires_at=valid_for_an_hour),
    )
    delivery = reply_to_a_customer(inbox)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "refused the sign-in" in delivery.last_error
    # the client answered the JSON error challenge with an empty line (no second attempt sent)
    assert sink.auth_attempts == [("XOAUTH2", USER, False, True)]
    assert sink.messages == []


def test_a_wrong_smtp_password_is_a_permanent_error_on_the_delivery(ws_a, email_ca, sinks):
    sink = sinks(auth={SMTP_LOGIN: SMTP_PASSWORD}, tls=email_ca)
    inbox = smtp_inbox(ws_a, sink, security="starttls", smtp_password="wrong")
    delivery = reply_to_a_customer(inbox)
    delivery.refresh_from_db()
    expected = "The outgoing mail server refused the sign-in; check the password or reconnect the mailbox."
    assert delivery.status == "failed" and delivery.last_error == expected
    assert Message.objects.get(pk=delivery.message_id).status == "failed"
    inbox.refresh_from_db()
    assert inbox.health == "needs_attention" and inbox.last_error == expected
    assert inbox.last_error_code == "reconnect"  # the outbox keeps the connector's code
    assert sink.messages == []
    # smtplib tries each mechanism the server offers before giving up; each got an answer (535)
    assert sink.auth_attempts == [("PLAIN", SMTP_LOGIN, False, True), ("LOGIN", SMTP_LOGIN, False, True)]


def test_an_untrusted_smtp_certificate_is_retried_and_no_password_is_sent(
    ws_a, sinks, settings, throwaway_ca
):
    settings.HOTRO_EMAIL_CA_FILE = ""
    sink = sinks(auth={SMTP_LOGIN: SMTP_PASSWORD}, tls=throwaway_ca)
    inbox = smtp_inbox(ws_a, sink, security="starttls", smtp_password=SMTP_PASSWORD)
    delivery = reply_to_a_customer(inbox)
    delivery.refresh_from_db()
    expected = (
        "The certificate of the outgoing mail server is not trusted (unable to get local issuer "
        "certificate); check the host name or ask the mail provider; will retry."
    )
    assert delivery.status == "retrying" and delivery.last_error == expected
    assert sink.messages == [] and sink.auth_attempts == []
    inbox.refresh_from_db()
    assert inbox.health == "degraded" and inbox.last_error == expected
    [check] = connection_check(inbox)
    assert not check.ok and check.words == f"127.0.0.1:{sink.port}: {expected}"


def test_smtp_starttls_against_a_server_without_it_is_refused_before_signing_in(ws_a, email_ca, sinks):
    sink = sinks(auth={SMTP_LOGIN: SMTP_PASSWORD})  # no TLS at all
    inbox = smtp_inbox(ws_a, sink, security="starttls", smtp_password=SMTP_PASSWORD)
    delivery = reply_to_a_customer(inbox)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.last_error == (
        "The outgoing mail server does not offer STARTTLS; choose TLS (usually port 465) "
        "or ask the mail provider."
    )
    assert sink.messages == [] and sink.auth_attempts == []


def test_a_revoked_grant_fails_a_reply_without_connecting(ws_a, email_ca, sinks, oauth_server):
    oauth_server.refuse = True
    sink = sinks(oauth2=oauth_server, tls=email_ca, mechanisms=())
    inbox = smtp_inbox(ws_a, sink, security="starttls", username=USER, **oauth2_settings(oauth_server))
    delivery = reply_to_a_customer(inbox)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "reconnect the mailbox" in delivery.last_error
    assert len(oauth_server.calls) == 1 and sink.auth_attempts == [] and sink.messages == []
