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
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.privacy.rls import system_scope, tenant_scope
from hotro.realtime.events import send_event_on_commit

from .base import ConnectorError
from .health import mark_inbox_error, mark_inbox_ok
from .leases import Claim, LeasedWork
from .models import Delivery, DeliveryStatus
from .registry import UnknownConnector, get_connector
from .scheduling import enqueue_on_commit, worker_id

log = logging.getLogger(__name__)

__all__ = ["mark_inbox_error", "mark_inbox_ok", "retry_delivery", "run_delivery"]

MAX_ERROR = 1000


def _deliver_task():
    from .delivery import deliver

    return deliver


DELIVERIES = LeasedWork(
    model=Delivery,
    due_statuses=(DeliveryStatus.QUEUED, DeliveryStatus.RETRYING),
    working=DeliveryStatus.SENDING,
    retrying=DeliveryStatus.RETRYING,
    given_up=DeliveryStatus.FAILED,
    error_field="last_error",
    max_attempts_setting="HOTRO_DELIVERY_MAX_ATTEMPTS",
    task=_deliver_task,
    claimer_field="claimed_by",
)


def run_delivery(delivery_id: str) -> str:
    """Send one delivery if this worker wins the claim; returns the delivery's resulting status.
    Safe to call any number of times, from any number of processes.

    The claim runs in system scope; the send (the connector decrypts the inbox's credentials and
    reads the message) and the outcome run in the delivery's workspace scope."""
    claim = DELIVERIES.claim(delivery_id, worker_id())
    if claim is None:
        return DELIVERIES.status_of(delivery_id)
    try:
        with claim.scope():
            delivery = Delivery.objects.select_related("inbox", "message", "message__conversation").get(
                pk=claim.pk
            )
            return _attempt(claim, delivery)
    except Exception as exc:  # the database or a bug outside the connector: retried, then failed
        log.exception("delivery %s could not be attempted", claim.pk)
        return _fail(claim, None, _("Unexpected error: %(e)s") % {"e": type(exc).__name__}, permanent=False)


def _attempt(claim: Claim, delivery: Delivery) -> str:
    if claim.attempts > settings.HOTRO_DELIVERY_MAX_ATTEMPTS:
        # Only reachable when workers died mid-send again and again: stop trying.
        error = _("Sending was interrupted %(n)s times; retry it when the workers are healthy.") % {
            "n": claim.attempts - 1
        }
        return _fail(claim, delivery, error, permanent=False, final=True)
    try:
        with transaction.atomic():  # a database error inside the connector leaves the scope usable
            result = get_connector(delivery.inbox.connector).send(delivery)
    except ConnectorError as exc:  # the connector's own sentence for admins
        return _fail(
            claim, delivery, str(exc), permanent=exc.permanent, retry_after=exc.retry_after, code=exc.code
        )
    except UnknownConnector as exc:
        return _fail(claim, delivery, str(exc), permanent=True)
    except (httpx.HTTPError, OSError) as exc:
        return _fail(claim, delivery, _("Network error: %(e)s") % {"e": type(exc).__name__}, permanent=False)
    except Exception as exc:  # a bug in a connector: retried, then visible as failed
        log.exception("connector %s crashed sending delivery %s", delivery.inbox.connector, delivery.pk)
        return _fail(
            claim, delivery, _("Unexpected error: %(e)s") % {"e": type(exc).__name__}, permanent=False
        )
    with transaction.atomic():
        DELIVERIES.held(claim).update(
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
    claim: Claim,
    delivery: Delivery | None,
    error: str,
    *,
    permanent: bool,
    retry_after: float | None = None,
    final: bool = False,
    code: str = "",
) -> str:
    error = error[:MAX_ERROR]
    log.warning(
        "delivery %s attempt %s failed (%s)",
        claim.pk,
        claim.attempts,
        "permanent" if permanent else "transient",
    )
    with claim.scope(), transaction.atomic():
        if delivery is None:
            delivery = Delivery.objects.select_related("inbox", "message").filter(pk=claim.pk).first()
        failure = DELIVERIES.fail(claim, error, give_up=permanent or final, retry_after=retry_after)
        if delivery is not None:
            if failure.changed and failure.status == DeliveryStatus.FAILED:
                _set_message_status(delivery, "failed")
            mark_inbox_error(delivery.inbox, error, permanent=permanent, code=code)
    return failure.status


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
