"""Inbox health as admins see it: working, errors but retrying, or needs attention (reconnect)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from hotro.privacy.rls import in_workspace

from .models import Inbox, InboxHealth

# Avoid writing the inbox row on every successful send of a busy inbox.
OK_REFRESH = timedelta(seconds=60)
MAX_ERROR_LENGTH = 1000


@in_workspace("inbox")
def mark_inbox_ok(inbox: Inbox) -> bool:
    """Record a success: health ``ok`` and ``last_success_at``.  Returns whether the row changed.

    A permanent problem (``needs_attention``) is cleared too: a success proves the channel works."""
    now = timezone.now()
    changed = (
        Inbox.objects.filter(pk=inbox.pk)
        .filter(
            ~Q(health=InboxHealth.OK)
            | Q(last_success_at__isnull=True)
            | Q(last_success_at__lt=now - OK_REFRESH)
        )
        .update(health=InboxHealth.OK, last_success_at=now)
    )
    if changed:
        inbox.health, inbox.last_success_at = InboxHealth.OK, now
    return bool(changed)


@in_workspace("inbox")
def mark_inbox_error(inbox: Inbox, message: str, permanent: bool, code: str = "") -> None:
    """Record a failure in plain words (and the ConnectorError ``code``, e.g. ``reconnect``).
    Permanent errors flag the inbox ``needs_attention``; transient ones ``degraded`` (never
    downgrading a ``needs_attention`` flag, whose code is kept)."""
    now = timezone.now()
    message = (message or "")[:MAX_ERROR_LENGTH]
    code = (code or "")[:40]
    qs = Inbox.objects.filter(pk=inbox.pk)
    if permanent:
        qs.update(
            health=InboxHealth.NEEDS_ATTENTION, last_error=message, last_error_at=now, last_error_code=code
        )
        inbox.health, inbox.last_error_code = InboxHealth.NEEDS_ATTENTION, code
    else:
        qs.update(last_error=message, last_error_at=now)
        if qs.exclude(health=InboxHealth.NEEDS_ATTENTION).update(
            health=InboxHealth.DEGRADED, last_error_code=code
        ):
            inbox.health, inbox.last_error_code = InboxHealth.DEGRADED, code
    inbox.last_error, inbox.last_error_at = message, now
