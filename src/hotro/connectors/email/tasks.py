"""E-mail background jobs: the IMAP poll (fallback for IDLE) and confirmation mails."""

from __future__ import annotations

import logging

from crontask import cron
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from hotro.privacy.rls import system_scope, tenant_scope

from ..base import ConnectorError
from ..models import Inbox
from .config import load_settings
from .models import ImapLease

log = logging.getLogger(__name__)


@cron("* * * * *")
@task
def poll_email_inboxes() -> int:
    """Enqueue a poll for every active e-mail inbox with IMAP that no IDLE runner holds now."""
    return enqueue_polls()


def enqueue_polls() -> int:
    now = timezone.now()
    with system_scope():
        held = set(
            ImapLease.objects.filter(until__gt=now).filter(~Q(holder="")).values_list("inbox_id", flat=True)
        )
        inboxes = [i for i in Inbox.objects.filter(connector="email", is_active=True) if i.pk not in held]
    count = 0
    for inbox in inboxes:
        if load_settings(inbox).imap.configured:
            poll_email_inbox.enqueue(str(inbox.pk))
            count += 1
    return count


@task
def poll_email_inbox(inbox_id: str) -> int:
    from .imap import poll_inbox

    with system_scope():
        inbox = Inbox.objects.filter(pk=inbox_id, connector="email").first()
    if inbox is None:
        return 0
    try:
        return poll_inbox(inbox)
    except ConnectorError:
        return 0  # recorded on the inbox's health; the next poll tries again


@task
def send_confirmation(confirmation_id: str) -> bool:
    from .fraud import deliver_confirmation
    from .models import Confirmation

    with system_scope():
        workspace_id = (
            Confirmation.objects.filter(pk=confirmation_id).values_list("workspace_id", flat=True).first()
        )
    if workspace_id is None:
        return False
    with tenant_scope(workspace_id):
        try:
            return deliver_confirmation(confirmation_id)
        except ConnectorError as exc:
            log.warning("confirmation %s could not be mailed: %s", confirmation_id, exc.code or "error")
            return False
