"""What the admin pages do with an e-mail inbox: save its settings, test its servers in plain words,
and list, release or discard its quarantined mail.

The connection test signs in to IMAP and greets (and signs in to) SMTP with short timeouts, so the
admin gets an answer within seconds; it reports, it does not change the inbox's recorded health.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hotro.connectors.base import ConnectorError
from hotro.connectors.models import Inbox, InboxHealth
from hotro.privacy.rls import tenant_scope

CHECK_TIMEOUT = 10
REASON_WORDS = {
    "authentication_failed": gettext_lazy("The sender's server failed the SPF / DKIM / DMARC checks"),
    "display_name_spoofing": gettext_lazy("The sender's name pretends to be your business"),
    "sudden_volume": gettext_lazy("Sudden volume of mail from this address"),
    "identity_suspended": gettext_lazy("The address was already suspended"),
}
STATUS_WORDS = {
    "active": gettext_lazy("Active"),
    "suspended": gettext_lazy("Suspended"),
    "pending_confirmation": gettext_lazy("Suspended, confirmation link sent"),
}


@dataclass
class CheckResult:
    server: str
    ok: bool
    words: str


def save_email_inbox(inbox: Inbox, name: str, data: dict, *, actor=None) -> Inbox:
    """New settings from the admin form; settings the form does not show (OAuth2, fraud limits ...)
    are kept, and so are stored passwords that were left blank."""
    from hotro.connectors.email.inboxes import update_email_inbox

    kept = {k: v for k, v in (inbox.settings or {}).items() if k not in ("imap", "smtp")}
    with tenant_scope(inbox.workspace_id), transaction.atomic():
        update_email_inbox(inbox, actor=actor, **{**kept, **data})
        name = (name or "").strip()[:200]
        if name and name != inbox.name:
            Inbox.objects.filter(pk=inbox.pk).update(name=name)
            inbox.name = name
    return inbox


def health_words(inbox: Inbox) -> str:
    """The inbox's connection state in plain words."""
    from hotro.connectors.email.config import load_settings
    from hotro.connectors.email.oauth_connect import is_connected

    cfg = load_settings(inbox)
    if inbox.health == InboxHealth.NEEDS_ATTENTION:
        if inbox.last_error and inbox.last_error_code != "reconnect":  # e.g. a server without STARTTLS
            return _("Needs attention: %(error)s") % {"error": inbox.last_error}
        if cfg.auth == "oauth2":
            return _(
                "Reconnect needed: the mail provider refused the sign-in or the access was revoked. "
                "Connect the mailbox again."
            )
        return _("Reconnect needed: the mail server refused the sign-in. Check the password and save.")
    if inbox.health == InboxHealth.DEGRADED:
        return _("Connection problems; hotro keeps retrying.")
    if cfg.auth == "oauth2" and not is_connected(inbox):
        return _("Not connected: this inbox signs in with OAuth2 but holds no token. Connect the mailbox.")
    if not cfg.imap.configured:
        return _("Forwarding only: mail forwarded to the receiving address arrives at once.")
    if inbox.last_success_at is None:
        return _("Not connected yet: the first fetch is pending.")
    return _("Connected: mail is fetched.")


def check_imap(inbox: Inbox, cfg) -> CheckResult:
    from imapclient.exceptions import IMAPClientError

    from hotro.connectors.email.imap import describe_error, open_client, sign_in
    from hotro.connectors.email.oauth import access_token

    server = cfg.imap
    where = f"{server.host}:{server.port}"
    try:
        client = open_client(cfg, CHECK_TIMEOUT)
        try:
            sign_in(client, inbox, cfg, access_token(inbox) if cfg.auth == "oauth2" else None)
            missing = [f for f in cfg.folders if not client.folder_exists(f)]
        finally:
            try:
                client.logout()
            except Exception:  # noqa: BLE001, S110 - the connection may already be gone
                pass
    except (ConnectorError, IMAPClientError, OSError) as exc:
        return CheckResult("IMAP", False, str(describe_error(exc, cfg)))
    if missing:
        return CheckResult(
            "IMAP",
            False,
            _("Signed in to %(where)s, but these folders do not exist: %(folders)s.")
            % {"where": where, "folders": ", ".join(missing)},
        )
    return CheckResult("IMAP", True, _("Signed in to %(where)s; the folders exist.") % {"where": where})


def check_smtp(inbox: Inbox, cfg) -> CheckResult:
    from hotro.connectors.email.oauth import access_token
    from hotro.connectors.email.outbound import _smtp_error, smtp_connection, smtp_sign_in

    server = cfg.smtp
    where = f"{server.host}:{server.port}"
    creds = inbox.credentials or {}
    try:
        with smtp_connection(cfg, timeout=CHECK_TIMEOUT) as client:
            username = server.username
            if not username:
                return CheckResult(
                    "SMTP", True, _("%(where)s answered; it will relay without sign-in.") % {"where": where}
                )
            if not client.has_extn("auth"):
                return CheckResult(
                    "SMTP",
                    False,
                    _("%(where)s does not offer sign-in here; choose TLS or STARTTLS.") % {"where": where},
                )
            smtp_sign_in(
                client,
                username,
                token=access_token(inbox) if cfg.auth == "oauth2" else None,
                password=creds.get("smtp_password") or creds.get("imap_password"),
            )
    except ConnectorError as exc:
        return CheckResult("SMTP", False, str(exc))
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return CheckResult("SMTP", False, f"{where}: {_smtp_error(exc)}")
    return CheckResult("SMTP", True, _("Signed in to %(where)s.") % {"where": where})


def check_connection(inbox: Inbox) -> list[CheckResult]:
    """Sign in to the inbox's IMAP and SMTP servers (those it has) and say how it went."""
    from hotro.connectors.email.config import load_settings

    cfg = load_settings(inbox)
    results = []
    if cfg.imap.configured:
        results.append(check_imap(inbox, cfg))
    if cfg.smtp.configured:
        results.append(check_smtp(inbox, cfg))
    if not results:
        results.append(
            CheckResult(
                "",
                True,
                _(
                    "Nothing to test: this inbox has no servers; it receives forwarded mail and replies "
                    "through hotro's own mail server."
                ),
            )
        )
    return results


@dataclass
class HeldMail:
    pk: str
    subject: str
    received_at: object
    reasons: list[str]


@dataclass
class HeldSender:
    identity_id: str
    address: str
    status: str
    mails: list[HeldMail]


def quarantine_of(inbox: Inbox) -> list[HeldSender]:
    """The inbox's held mail, grouped by suspended sender (oldest first within a sender)."""
    from hotro.connectors.email.inbound import decode_raw
    from hotro.connectors.email.models import QuarantinedMail, QuarantineStatus

    items = (
        QuarantinedMail.objects.filter(
            workspace_id=inbox.workspace_id, inbox=inbox, status=QuarantineStatus.HELD
        )
        .select_related("identity")
        .order_by("received_at", "id")
    )
    groups: dict[str, HeldSender] = {}
    for item in items:
        group = groups.get(str(item.identity_id))
        if group is None:
            group = groups[str(item.identity_id)] = HeldSender(
                str(item.identity_id),
                item.identity.address,
                str(STATUS_WORDS.get(item.identity.status, item.identity.status)),
                [],
            )
        try:
            headers = BytesHeaderParser(policy=default_policy).parsebytes(decode_raw(item.raw))
            subject = str(headers.get("Subject") or "")
        except Exception:  # noqa: BLE001 - a broken header must not break the page
            subject = ""
        reasons = [str(REASON_WORDS.get(r, r)) for r in item.reasons or []]
        group.mails.append(HeldMail(str(item.pk), subject or _("(no subject)"), item.received_at, reasons))
    return list(groups.values())
