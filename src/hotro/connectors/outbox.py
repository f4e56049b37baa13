"""Running one delivery: claim it, send it through the inbox's connector, record the outcome.

A claim is a conditional UPDATE (queued/retrying and due, or ``sending`` whose lease expired ->
``sending`` with ``claimed_by`` / ``claimed_until``), so any number of worker processes can run
``deliver`` for the same row and only one sends.  A worker killed mid-send leaves the row
``sending``; once the lease expires the recovery job (``connectors.tasks``) enqueues it again and the
next worker re-sends it — receivers deduplicate by delivery id (at-least-once delivery).
"""

from __future__ import annotations

import logging

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.privacy.rls import system_scope, tenant_scope
from hotro.realtime.events import send_event_on_commit

from .base import ConnectorError
from .health import mark_inbox_error, mark_inbox_ok
from .models import Delivery, DeliveryStatus
from .registry import UnknownConnector, get_connector
from .scheduling import backoff_delay, enqueue_on_commit, lease, worker_id

log = logging.getLogger(__name__)

__all__ = ["mark_inbox_error", "mark_inbox_ok", "retry_delivery", "run_delivery"]

MAX_ERROR = 1000


def claim_delivery(delivery_id: str, worker: str) -> bool:
    now = timezone.now()
    due = (
        Q(status__in=[DeliveryStatus.QUEUED, DeliveryStatus.RETRYING])
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    )
    abandoned = Q(status=DeliveryStatus.SENDING, claimed_until__lt=now)
    with system_scope():
        return bool(
            Delivery.objects.filter(pk=delivery_id)
            .filter(due | abandoned)
            .update(
                status=DeliveryStatus.SENDING,
                claimed_by=worker[:64],
                claimed_until=now + lease(),
                attempts=F("attempts") + 1,
            )
        )


def run_delivery(delivery_id: str) -> str:
    """Send one delivery if this worker wins the claim; returns the delivery's resulting status.
    Safe to call any number of times, from any number of processes."""
    worker = worker_id()
    if not claim_delivery(delivery_id, worker):
        with system_scope():
            return (
                Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first() or "missing"
            )
    with system_scope():
        delivery = Delivery.objects.select_related("inbox", "message", "message__conversation").get(
            pk=delivery_id
        )
    if delivery.attempts > settings.HOTRO_DELIVERY_MAX_ATTEMPTS:
        # Only reachable when workers died mid-send again and again: stop trying.
        error = _("Sending was interrupted %(n)s times; retry it when the workers are healthy.") % {
            "n": delivery.attempts - 1
        }
        return _fail(delivery, worker, error, permanent=False, final=True)
    try:
        result = get_connector(delivery.inbox.connector).send(delivery)
    except ConnectorError as exc:
        return _fail(delivery, worker, str(exc), permanent=exc.permanent, retry_after=exc.retry_after)
    except UnknownConnector as exc:
        return _fail(delivery, worker, str(exc), permanent=True)
    except (httpx.HTTPError, OSError) as exc:
        return _fail(delivery, worker, _("Network error: %(e)s") % {"e": type(exc).__name__}, permanent=False)
    except Exception as exc:  # a bug in a connector: retried, then visible as failed
        log.exception("connector %s crashed sending delivery %s", delivery.inbox.connector, delivery.pk)
        return _fail(
            delivery, worker, _("Unexpected error: %(e)s") % {"e": type(exc).__name__}, permanent=False
        )
    with tenant_scope(delivery.workspace_id), transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_by=worker[:64]).update(
            status=DeliveryStatus.SENT,
            external_id=(result.external_id or "")[:255],
            sent_at=timezone.now(),
            claimed_until=None,
            next_attempt_at=None,
            last_error="",
        )
        _set_message_status(delivery, "sent")
        mark_inbox_ok(delivery.inbox)
    return DeliveryStatus.SENT


def _fail(
    delivery: Delivery,
    worker: str,
    error: str,
    *,
    permanent: bool,
    retry_after: float | None = None,
    final: bool = False,
) -> str:
    error = error[:MAX_ERROR]
    give_up = permanent or final or delivery.attempts >= settings.HOTRO_DELIVERY_MAX_ATTEMPTS
    log.warning(
        "delivery %s attempt %s failed (%s)",
        delivery.pk,
        delivery.attempts,
        "permanent" if permanent else "transient",
    )
    with tenant_scope(delivery.workspace_id), transaction.atomic():
        mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_by=worker[:64])
        if give_up:
            if mine.update(
                status=DeliveryStatus.FAILED, last_error=error, claimed_until=None, next_attempt_at=None
            ):
                _set_message_status(delivery, "failed")
            status = DeliveryStatus.FAILED
        else:
            when = timezone.now() + backoff_delay(delivery.attempts, retry_after)
            if mine.update(
                status=DeliveryStatus.RETRYING, last_error=error, claimed_until=None, next_attempt_at=when
            ):
                enqueue_on_commit(_deliver_task(), str(delivery.pk), when)
            status = DeliveryStatus.RETRYING
        mark_inbox_error(delivery.inbox, error, permanent=permanent)
    return status


def _set_message_status(delivery: Delivery, status: str) -> None:
    """Move the message to ``status`` (not backwards from delivered/read) and tell the browsers."""
    from hotro.conversations.models import Message

    qs = Message.objects.filter(pk=delivery.message_id).exclude(status=status)
    if status in {"sent", "failed"}:
        qs = qs.exclude(status__in=["delivered", "read"])
    if qs.update(status=status):
        send_event_on_commit(
            delivery.workspace_id,
            {
                "type": "message.status_changed",
                "conversation_id": str(delivery.message.conversation_id),
                "message_id": str(delivery.message_id),
                "status": status,
            },
        )


def _deliver_task():
    from .delivery import deliver

    return deliver


def retry_delivery(delivery_id: str) -> bool:
    """Admin action: send a failed (or waiting) delivery again now, with a fresh attempt budget.
    The caller has checked that the admin may act in the delivery's workspace.  Returns whether the
    delivery was reset; one being sent or already sent is left alone."""
    with system_scope():
        delivery = Delivery.objects.select_related("message").filter(pk=delivery_id).first()
    if delivery is None:
        return False
    with tenant_scope(delivery.workspace_id), transaction.atomic():
        changed = Delivery.objects.filter(
            pk=delivery.pk, status__in=[DeliveryStatus.FAILED, DeliveryStatus.RETRYING]
        ).update(
            status=DeliveryStatus.QUEUED,
            attempts=0,
            next_attempt_at=timezone.now(),
            claimed_until=None,
            claimed_by="",
            last_error="",
        )
        if changed:
            _set_message_status(delivery, "queued")
            enqueue_on_commit(_deliver_task(), str(delivery.pk))
    return bool(changed)
