"""The inbound SMTP/LMTP receiver (aiosmtpd): a business forwards its support address here, or
points a domain's MX at hotro.  Each e-mail inbox has its own address ``<public_key>@HOTRO_MAIL_DOMAIN``,
and so has each live-chat inbox (visitors answer the e-mailed copies of agents' replies there).

Unknown recipients are refused at RCPT with 550.  Accepted mail is stored as a ``RawEvent`` (one per
recipient inbox, committed) *before* the server answers 250, so nothing acknowledged is ever lost; a
storage failure answers 451 and the sending server retries.  The event id is the hash of the bytes,
so a retry after a lost 250 is not stored twice (and processing dedupes on Message-ID anyway).
"""

from __future__ import annotations

import hashlib
import logging

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from ..ingress import accept_event
from .inbound import encode_raw
from .inboxes import find_inbox_by_address

log = logging.getLogger(__name__)


def store_mail(inbox_ids: list[str], raw: bytes, mail_from: str, rcpt_tos: list[str]) -> int:
    """Store one received mail for each recipient inbox; returns how many were new."""
    from hotro.privacy.rls import system_scope

    from ..models import Inbox

    close_old_connections()
    digest = hashlib.sha256(raw).hexdigest()
    created_count = 0
    try:
        with system_scope():
            inboxes = list(Inbox.objects.filter(pk__in=inbox_ids))
        for inbox in inboxes:
            _raw, created = accept_event(
                inbox,
                f"smtp:{digest}",
                encode_raw(raw),
                {"source": "smtp", "mail_from": mail_from, "rcpt_to": rcpt_tos},
            )
            created_count += int(created)
    finally:
        close_old_connections()
    return created_count


def _lookup(address: str):
    close_old_connections()
    try:
        # a live-chat inbox's address takes the visitors' e-mail replies (docs/channels/livechat.md)
        return find_inbox_by_address(address, connectors=("email", "livechat"))
    finally:
        close_old_connections()


class ReceiverHandler:
    """aiosmtpd handler: RCPT checks the address, DATA stores the mail before answering."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        try:
            inbox = await sync_to_async(_lookup, thread_sensitive=False)(address)
        except Exception:  # noqa: BLE001 - the database is away: let the sender retry
            log.exception("receiver: recipient lookup failed")
            return "451 4.3.0 Temporary failure, please try again later"
        if inbox is None:
            return "550 5.1.1 No mailbox here by that name"
        envelope.rcpt_tos.append(address)
        inboxes = getattr(envelope, "hotro_inboxes", [])
        if str(inbox.pk) not in inboxes:
            inboxes.append(str(inbox.pk))
        envelope.hotro_inboxes = inboxes
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        mail_from = envelope.mail_from or ""
        if not raw.lstrip().lower().startswith(b"return-path:"):
            raw = f"Return-Path: <{mail_from}>\r\n".encode("utf-8", "surrogateescape") + raw
        try:
            await sync_to_async(store_mail, thread_sensitive=False)(
                getattr(envelope, "hotro_inboxes", []), raw, mail_from, list(envelope.rcpt_tos)
            )
        except Exception:  # noqa: BLE001
            log.exception("receiver: could not store a mail")
            return "451 4.3.0 Could not store the message, please try again later"
        return "250 2.0.0 Message accepted for delivery"


class LMTPController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


def make_controller(host: str, port: int, *, lmtp: bool = False) -> Controller:
    cls = LMTPController if lmtp else Controller
    return cls(
        ReceiverHandler(),
        hostname=host,
        port=port,
        data_size_limit=settings.HOTRO_EMAIL_MAX_BYTES,
        enable_SMTPUTF8=True,
        ident="hotro",
        server_hostname=settings.HOTRO_MAIL_DOMAIN,
    )


def start_in_thread(host: str | None = None, port: int | None = None, *, lmtp: bool = False) -> Controller:
    """Start the receiver in a background thread (embedded mode: 127.0.0.1, ``SMTP_PORT`` or 2525).
    Returns the aiosmtpd controller; call ``.stop()`` on shutdown."""
    controller = make_controller(
        host or settings.HOTRO_SMTP_HOST, port if port is not None else settings.HOTRO_SMTP_PORT, lmtp=lmtp
    )
    controller.start()
    log.info(
        "e-mail receiver listening on %s:%s (%s)",
        controller.hostname,
        controller.port,
        "LMTP" if lmtp else "SMTP",
    )
    return controller
