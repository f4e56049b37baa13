"""Periodic connector jobs (run by the scheduler): nothing queued is ever lost.

A worker killed mid-send leaves its delivery ``sending`` with a lease that runs out; an enqueue lost
between commit and queue (a crash, a broker hiccup) leaves rows ``queued``/``received``.  Every
minute ``recover_stalled_work`` enqueues such rows again.  The tasks claim rows conditionally, so an
extra enqueue is harmless.
"""

from __future__ import annotations

from datetime import timedelta

from crontask import cron
from django.conf import settings
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from hotro.privacy.rls import system_scope

from .delivery import deliver
from .ingress import process_raw_event
from .models import Delivery, DeliveryStatus, RawEvent, RawEventStatus

BATCH = 1000


@cron("* * * * *")
@task
def recover_stalled_work() -> dict:
    return recover_stalled()


def recover_stalled(now=None) -> dict:
    """Enqueue deliveries and raw events whose lease expired or that waited past their due time
    for longer than ``HOTRO_STALLED_AFTER_SECONDS``.  Returns counts.  Re-stamps waiting rows so that
    a long task queue does not get one more copy every minute."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.HOTRO_STALLED_AFTER_SECONDS)
    waiting_deliveries = Q(status__in=[DeliveryStatus.QUEUED, DeliveryStatus.RETRYING]) & (
        Q(next_attempt_at__lt=stale) | Q(next_attempt_at__isnull=True, created_at__lt=stale)
    )
    waiting_events = Q(
        status=RawEventStatus.RECEIVED, received_at__lt=stale, next_attempt_at__isnull=True
    ) | Q(status__in=[RawEventStatus.RECEIVED, RawEventStatus.FAILED], next_attempt_at__lt=stale)
    with system_scope():
        abandoned_d = list(
            Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_until__lt=now).values_list(
                "pk", flat=True
            )[:BATCH]
        )
        waiting_d = list(Delivery.objects.filter(waiting_deliveries).values_list("pk", flat=True)[:BATCH])
        Delivery.objects.filter(pk__in=waiting_d).update(next_attempt_at=now)
        abandoned_e = list(
            RawEvent.objects.filter(status=RawEventStatus.PROCESSING, claimed_until__lt=now).values_list(
                "pk", flat=True
            )[:BATCH]
        )
        waiting_e = list(RawEvent.objects.filter(waiting_events).values_list("pk", flat=True)[:BATCH])
        RawEvent.objects.filter(pk__in=waiting_e).update(next_attempt_at=now)
    for pk in abandoned_d + waiting_d:
        deliver.enqueue(str(pk))
    for pk in abandoned_e + waiting_e:
        process_raw_event.enqueue(str(pk))
    return {"deliveries": len(abandoned_d) + len(waiting_d), "raw_events": len(abandoned_e) + len(waiting_e)}
