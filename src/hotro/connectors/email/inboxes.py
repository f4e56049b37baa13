"""Creating and changing e-mail inboxes (used by the REST API and the admin UI)."""

from __future__ import annotations

from django.db import transaction

from hotro.privacy.audit import record
from hotro.privacy.rls import tenant_scope

from ..models import Inbox
from .config import clean_settings, load_settings, receiving_address_for

CHANNEL = "email"


def create_email_inbox(workspace, name: str, *, actor=None, **data) -> Inbox:
    """Create an e-mail inbox.  ``data`` holds the settings (``imap``/``smtp`` dicts, ``from_address``,
    ``signature``, ``reopen_days``, ``auto_ack`` ...) and secrets (``imap_password``,
    ``smtp_password``, ``oauth2_*``); all optional, so a forwarding-only inbox needs just a name.
    The inbox gets its own receiving address ``<public_key>@HOTRO_MAIL_DOMAIN``.  Raises
    ``ValidationError`` (a sentence) on bad settings."""
    settings, credentials = clean_settings(data)
    with tenant_scope(workspace.pk), transaction.atomic():
        inbox = Inbox(workspace=workspace, connector=CHANNEL, name=(name or "").strip()[:200] or "E-mail")
        settings["receiving_address"] = receiving_address_for(inbox.public_key)
        inbox.settings = settings
        inbox.credentials = credentials
        inbox.save(force_insert=True)
        record(
            workspace.pk,
            "inbox.created",
            actor=actor,
            object_type="inbox",
            object_id=inbox.pk,
            data={"channel": CHANNEL, "imap": "imap" in settings, "smtp": "smtp" in settings},
        )
    return inbox


def update_email_inbox(inbox: Inbox, *, actor=None, **data) -> Inbox:
    """Replace the inbox's e-mail settings; secrets not given are kept (never shown back)."""
    settings, credentials = clean_settings(data)
    settings["receiving_address"] = receiving_address_for(inbox.public_key)
    with tenant_scope(inbox.workspace_id), transaction.atomic():
        inbox.settings = settings
        inbox.credentials = {**(inbox.credentials or {}), **credentials}
        inbox.save(update_fields=["settings", "credentials"])
        record(
            inbox.workspace_id,
            "inbox.settings_changed",
            actor=actor,
            object_type="inbox",
            object_id=inbox.pk,
            data={"fields": sorted(settings) + sorted(credentials)},
        )
    return inbox


def access_email_inbox(member, inbox_id) -> Inbox:
    """The member's e-mail inbox ``inbox_id`` (``access_inbox``); 404 for any other inbox."""
    from django.http import Http404

    from hotro.tenancy.access import access_inbox

    inbox = access_inbox(member, inbox_id)
    if inbox.connector != CHANNEL:
        raise Http404("Not an e-mail inbox.")
    return inbox


def receiving_address(inbox: Inbox) -> str:
    return load_settings(inbox).receiving_address or receiving_address_for(inbox.public_key)


def find_inbox_by_address(address: str, connectors: tuple[str, ...] = (CHANNEL,)) -> Inbox | None:
    """The active inbox of one of ``connectors`` whose receiving address this is (the SMTP receiver's
    RCPT check: e-mail inboxes, and live-chat inboxes whose visitors answer by e-mail)."""
    from django.conf import settings as django_settings

    from hotro.privacy.rls import system_scope

    local, _, domain = (address or "").strip().strip("<>").rpartition("@")
    if not local or domain.lower() != django_settings.HOTRO_MAIL_DOMAIN:
        return None
    local = local.split("+", 1)[0]
    if not local or len(local) > 32:  # a public key is at most 32 characters
        return None
    with system_scope():
        return Inbox.objects.filter(
            connector__in=connectors, is_active=True, public_key__iexact=local
        ).first()
