"""Outgoing mail: replies with threading headers, From identity, signature and attachments, sent
over the inbox's SMTP server (TLS, STARTTLS or none; password or XOAUTH2) or, for a forwarding-only
inbox, through hotro's own mailer (``HOTRO_SMTP_URL``)."""

from __future__ import annotations

import smtplib
import ssl
from contextlib import contextmanager
from email.utils import format_datetime, formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.privacy.storage import open_file

from ..base import ConnectorError
from .config import EmailSettings, load_settings
from .models import KnownMessageId
from .oauth import access_token, xoauth2_responder
from .store import conversation_ids, message_id_secret, participants_of, remember_message_id
from .threading import add_subject_tag, make_message_id, strip_subject_prefixes

MAX_REFERENCES = 20


def ssl_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.HOTRO_EMAIL_CA_FILE:
        context.load_verify_locations(settings.HOTRO_EMAIL_CA_FILE)
    return context


def reply_subject(subject: str, number: int) -> str:
    base = strip_subject_prefixes(subject or "")
    return add_subject_tag(f"Re: {base}" if base else "", number)


def our_message_id(message, conversation, inbox, cfg: EmailSettings) -> str:
    """The Message-ID of an outgoing message: made once, reused by every retry (so a re-send after
    a crash is recognised as the same mail by the receiver)."""
    known = KnownMessageId.objects.filter(message=message, direction=KnownMessageId.OUT).first()
    if known is not None:
        return known.value
    domain = (cfg.reply_address.rpartition("@")[2] or settings.HOTRO_MAIL_DOMAIN).lower()
    mid = make_message_id(
        conversation.workspace_id, conversation.pk, message_id_secret(inbox.workspace_id), domain
    )
    remember_message_id(inbox, conversation, mid, KnownMessageId.OUT, message)
    return mid.strip("<>")


def threading_headers(conversation, mid: str) -> dict[str, str]:
    """``In-Reply-To`` (the latest mail we received) and ``References`` (the conversation's known
    Message-IDs, the first and the latest ``MAX_REFERENCES - 1``) of a mail ``mid`` (no brackets)."""
    known = [k for k in conversation_ids(conversation) if k.value != mid]
    inbound = [k.value for k in known if k.direction == KnownMessageId.IN]
    refs = [k.value for k in known]
    if len(refs) > MAX_REFERENCES:
        refs = refs[:1] + refs[-(MAX_REFERENCES - 1) :]
    headers = {}
    if inbound:
        headers["In-Reply-To"] = f"<{inbound[-1]}>"
    if refs:
        headers["References"] = " ".join(f"<{r}>" for r in refs)
    return headers


def recipients_for(message, conversation, cfg: EmailSettings) -> tuple[list[str], list[str]]:
    """To and Cc: the agent's choice if the message says so, else the customer and everyone else on
    the conversation (reply to all)."""
    chosen = ((message.extra or {}).get("email") or {}).get("recipients")
    if chosen:
        return list(chosen.get("to") or []), list(chosen.get("cc") or [])
    own = cfg.own_addresses
    people = [p for p in participants_of(conversation) if p.address and p.address.lower() not in own]
    contact_email = (conversation.contact.email or "").lower()
    to = [contact_email] if contact_email and contact_email not in own else []
    if not to:
        to = [p.address for p in people if p.role == "from"][:1] or [p.address for p in people][:1]
    cc = [p.address for p in people if p.address not in to]
    return to, cc


def build_email(delivery) -> EmailMultiAlternatives:
    message = delivery.message
    conversation = message.conversation
    inbox = delivery.inbox
    cfg = load_settings(inbox)
    if not cfg.reply_address:
        raise ConnectorError(
            _("This e-mail inbox has no sender address; set one in its settings."), permanent=True
        )
    to, cc = recipients_for(message, conversation, cfg)
    if not to and not cc:
        raise ConnectorError(
            _("Nobody to send this reply to: the conversation has no e-mail address; add one."),
            permanent=True,
        )
    mid = our_message_id(message, conversation, inbox, cfg)
    automatic = bool((message.extra or {}).get("auto"))
    headers = {
        "Message-ID": f"<{mid}>",
        "Date": format_datetime(timezone.now()),
        **threading_headers(conversation, mid),
    }
    if automatic:
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    body = message.text or ""
    if cfg.signature and not automatic:
        body = f"{body}\n\n-- \n{cfg.signature}"
    mail = EmailMultiAlternatives(
        subject=reply_subject(conversation.subject or "", conversation.number),
        body=body,
        from_email=formataddr((cfg.from_name or inbox.name, cfg.reply_address)),
        to=to,
        cc=cc,
        headers=headers,
    )
    for attachment in message.attachments.order_by("created_at"):
        mail.attach(
            attachment.filename,
            open_file(message.workspace_id, attachment.storage_key),
            attachment.content_type,
        )
    return mail


def _smtp_error(exc: Exception, *, refused: str = "", refused_code: str = "") -> ConnectorError:
    """An SMTP failure as a sentence.  ``refused`` (translated, with ``%(codes)s``) and
    ``refused_code`` word a refusal of the recipients for the caller."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return ConnectorError(
            _("The outgoing mail server refused the sign-in; check the password or reconnect the mailbox."),
            permanent=True,
            code="reconnect",
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = {code for code, _msg in exc.recipients.values()}
        permanent = all(500 <= c < 600 for c in codes)
        return ConnectorError(
            (refused or _("The mail server refused the recipients (%(codes)s)."))
            % {"codes": ", ".join(map(str, sorted(codes)))},
            permanent=permanent,
            code=refused_code,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return ConnectorError(
            _("The mail server answered %(code)s: %(text)s") % {"code": exc.smtp_code, "text": text[:200]},
            permanent=500 <= exc.smtp_code < 600,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # Never fall back to sending (and signing in) without encryption: the admin chooses.
        if "STARTTLS" in str(exc).upper():
            message = _(
                "The outgoing mail server does not offer STARTTLS; choose TLS (usually port 465) "
                "or ask the mail provider."
            )
        else:
            message = _("The outgoing mail server does not support what this inbox needs (%(e)s).") % {
                "e": str(exc)[:200]
            }
        return ConnectorError(message, permanent=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectorError(
            _(
                "The certificate of the outgoing mail server is not trusted (%(e)s); check the host "
                "name or ask the mail provider; will retry."
            )
            % {"e": exc.verify_message or exc.reason or type(exc).__name__},
            permanent=False,
        )
    if isinstance(exc, ssl.SSLError):
        return ConnectorError(
            _("A secure connection to the mail server failed (%(e)s); check the security setting.")
            % {"e": exc},
            permanent=False,
        )
    return ConnectorError(
        _("Could not reach the outgoing mail server (%(e)s); will retry.") % {"e": type(exc).__name__}
    )


@contextmanager
def smtp_connection(cfg: EmailSettings, timeout: float):
    """A greeted connection to the inbox's SMTP server (TLS, STARTTLS or none), closed on exit."""
    server = cfg.smtp
    if server.security == "tls":
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=ssl_context())
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=timeout)
    with client:
        client.ehlo()
        if server.security == "starttls":
            client.starttls(context=ssl_context())
            client.ehlo()
        yield client


def smtp_sign_in(client: smtplib.SMTP, username: str, *, token: str | None, password: str | None) -> None:
    """Sign in with XOAUTH2 when there is an access token, else with the password."""
    if token is not None:
        client.auth("XOAUTH2", xoauth2_responder(username, token), initial_response_ok=True)
    else:
        client.login(username, password or "")


def smtp_send(inbox, cfg: EmailSettings, mail: EmailMultiAlternatives) -> None:
    """Send through the inbox's own SMTP server; raise ConnectorError (permanent or not)."""
    server = cfg.smtp
    creds = inbox.credentials or {}
    # With OAuth2 the token comes first: a revoked grant needs no connection to the server.
    token = access_token(inbox) if cfg.auth == "oauth2" and (server.username or cfg.imap.username) else None
    try:
        with smtp_connection(cfg, timeout=30) as client:
            username = server.username or cfg.imap.username
            if username and not client.has_extn("auth"):
                if server.username:
                    raise ConnectorError(
                        _("The outgoing mail server does not offer sign-in here; choose TLS or STARTTLS."),
                        permanent=True,
                    )
                username = ""  # no SMTP account of its own: the server relays without sign-in
            password = creds.get("smtp_password") or creds.get("imap_password")
            if username and (token is not None or password):
                smtp_sign_in(client, username, token=token, password=password)
            recipients = list(dict.fromkeys(mail.recipients()))
            client.send_message(mail.message(), from_addr=cfg.reply_address, to_addrs=recipients)
    except ConnectorError:
        raise
    except (smtplib.SMTPException, OSError) as exc:
        raise _smtp_error(exc) from exc


def send_mail(inbox, mail: EmailMultiAlternatives) -> None:
    cfg = load_settings(inbox)
    if cfg.smtp.configured:
        smtp_send(inbox, cfg, mail)
        return
    try:
        mail.send()  # hotro's own mailer (HOTRO_SMTP_URL): forwarding-only inboxes
    except (smtplib.SMTPException, OSError) as exc:
        raise _smtp_error(exc) from exc


def system_mail(inbox, to: str, subject: str, body: str) -> EmailMultiAlternatives:
    """A notification from the inbox's identity (confirmation links): marked automatic."""
    cfg = load_settings(inbox)
    return EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=formataddr((cfg.from_name or inbox.name, cfg.reply_address)),
        to=[to],
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
