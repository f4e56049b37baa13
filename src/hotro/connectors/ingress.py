"""Durable inbound: store every provider event before acknowledging it, then process it in a task.

``accept_event`` is one INSERT and a commit (idempotent on inbox + provider event id).
``process_raw_event`` claims the row with a conditional UPDATE (so two workers never process the
same event at once), parses it with the inbox's connector and hands each message to
``conversations.actions.do_receive_message`` (itself idempotent on the message's external id), so
running it twice is harmless.  Unparseable events end ``malformed`` (kept, with the reason); other
failures are retried with exponential backoff and end ``dead`` after
``HOTRO_RAW_EVENT_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone

from hotro.privacy.rls import system_scope, tenant_scope

from .base import MalformedEvent
from .models import Inbox, RawEvent, RawEventStatus
from .registry import get_connector
from .scheduling import backoff_delay, enqueue_on_commit, lease

log = logging.getLogger(__name__)

MAX_EVENT_ID = 255
MAX_ERROR = 1000


def normalize_event_id(event_id: str) -> str:
    """Provider ids are opaque strings; ids too long for the column are replaced by their hash."""
    event_id = str(event_id)
    if len(event_id) <= MAX_EVENT_ID:
        return event_id
    return "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()


def accept_event(
    inbox: Inbox, event_id: str, payload: str, headers: dict, *, malformed: str = ""
) -> tuple[RawEvent, bool]:
    """Store one raw provider event (payload and headers encrypted) and enqueue its processing
    after commit.  Returns ``(raw_event, created)``; a duplicate delivery by the provider returns the
    existing row and enqueues nothing.  With ``malformed`` (the reason, in words) the event is kept
    with status ``malformed`` and not processed."""
    event_id = normalize_event_id(event_id)
    try:
        with tenant_scope(inbox.workspace_id), transaction.atomic():
            raw = RawEvent.objects.create(
                workspace_id=inbox.workspace_id,
                inbox=inbox,
                event_id=event_id,
                payload=payload,
                headers=headers or {},
                status=RawEventStatus.MALFORMED if malformed else RawEventStatus.RECEIVED,
                error=malformed[:MAX_ERROR],
            )
            if not malformed:
                enqueue_on_commit(process_raw_event, str(raw.pk))
    except IntegrityError:
        with tenant_scope(inbox.workspace_id):
            return RawEvent.objects.get(inbox=inbox, event_id=event_id), False
    if malformed:
        log.warning("malformed raw event %s kept for inbox %s", raw.pk, inbox.pk)
    return raw, True


@task
def process_raw_event(raw_event_id: str) -> str:
    return run_raw_event(raw_event_id)


def claim_raw_event(raw_event_id: str) -> bool:
    """Conditional UPDATE: received/failed (and due) or processing with an expired lease -> processing."""
    now = timezone.now()
    due = Q(status__in=[RawEventStatus.RECEIVED, RawEventStatus.FAILED]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=RawEventStatus.PROCESSING, claimed_until__lt=now)
    with system_scope():
        return bool(
            RawEvent.objects.filter(pk=raw_event_id)
            .filter(due | abandoned)
            .update(status=RawEventStatus.PROCESSING, claimed_until=now + lease(), attempts=F("attempts") + 1)
        )


def run_raw_event(raw_event_id: str) -> str:
    """Process one raw event if this worker wins the claim; returns the resulting status."""
    if not claim_raw_event(raw_event_id):
        with system_scope():
            return (
                RawEvent.objects.filter(pk=raw_event_id).values_list("status", flat=True).first() or "missing"
            )
    with system_scope():
        raw = RawEvent.objects.select_related("inbox").get(pk=raw_event_id)
    try:
        connector = get_connector(raw.inbox.connector)
        messages = connector.parse(raw)
    except ValueError as exc:  # MalformedEvent, JSON and validation errors: retrying cannot help
        reason = str(exc) if isinstance(exc, MalformedEvent) else f"{type(exc).__name__}: {exc}"
        return _finish(raw, RawEventStatus.MALFORMED, error=reason)
    except Exception as exc:
        return _fail(raw, exc)
    try:
        with tenant_scope(raw.workspace_id), transaction.atomic():
            for message in messages:
                connector.receive(raw.inbox, message)
            return _finish(raw, RawEventStatus.PROCESSED)
    except Exception as exc:
        return _fail(raw, exc)


def _finish(raw: RawEvent, status: str, error: str = "") -> str:
    now = timezone.now()
    with tenant_scope(raw.workspace_id):
        RawEvent.objects.filter(pk=raw.pk, status=RawEventStatus.PROCESSING).update(
            status=status, error=error[:MAX_ERROR], processed_at=now, claimed_until=None, next_attempt_at=None
        )
    if status == RawEventStatus.MALFORMED:
        log.warning("raw event %s is malformed; kept for an admin", raw.pk)
    return status


def _fail(raw: RawEvent, exc: Exception) -> str:
    """A transient failure: retry later with backoff, or give up (``dead``) after the last attempt."""
    raw.refresh_from_db(fields=["attempts"])
    error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    log.warning("raw event %s failed (attempt %s): %s", raw.pk, raw.attempts, type(exc).__name__)
    with tenant_scope(raw.workspace_id):
        qs = RawEvent.objects.filter(pk=raw.pk, status=RawEventStatus.PROCESSING)
        if raw.attempts >= settings.HOTRO_RAW_EVENT_MAX_ATTEMPTS:
            qs.update(status=RawEventStatus.DEAD, error=error, claimed_until=None, next_attempt_at=None)
            return RawEventStatus.DEAD
        when = timezone.now() + backoff_delay(raw.attempts)
        if qs.update(status=RawEventStatus.FAILED, error=error, claimed_until=None, next_attempt_at=when):
            enqueue_on_commit(process_raw_event, str(raw.pk), when)
    return RawEventStatus.FAILED


def retry_raw_event(raw_event_id: str) -> bool:
    """Admin action: put a failed, dead or malformed event back to ``received`` (attempts reset) and
    enqueue it.  The caller has checked that the admin may see this event's workspace.  Returns
    whether the event was reset (an event being processed or already processed is left alone)."""
    with system_scope():
        changed = (
            RawEvent.objects.filter(pk=raw_event_id)
            .filter(status__in=[RawEventStatus.FAILED, RawEventStatus.DEAD, RawEventStatus.MALFORMED])
            .update(
                status=RawEventStatus.RECEIVED, attempts=0, error="", next_attempt_at=None, claimed_until=None
            )
        )
        if changed:
            enqueue_on_commit(process_raw_event, str(raw_event_id))
    return bool(changed)
