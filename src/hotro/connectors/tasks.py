"""Periodic connector jobs (run by the scheduler): nothing queued is ever lost.

A worker killed mid-send leaves its delivery ``sending`` with a lease that runs out (or, when the
worker beats, is known lost sooner: ``connectors.workers``); an enqueue lost
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
from .ingress import RAW_EVENTS, process_raw_events
from .models import DeliveryStatus, RawEventStatus
from .outbox import DELIVERIES
from .workers import fail_lost_tasks, lost_workers

BATCH = 1000


@cron("* * * * *")
@task
def recover_stalled_work() -> dict:
    return recover_stalled()


# Per table of leased work: the key in recover_stalled's result, the statuses in which a row waits
# without a next_attempt_at (never tried yet) and the column that dates it.
STALLED = (
    (DELIVERIES, "deliveries", (DeliveryStatus.QUEUED, DeliveryStatus.RETRYING), "created_at"),
    (RAW_EVENTS, "raw_events", (RawEventStatus.RECEIVED,), "received_at"),
)
# Raw events go back in batches of this size (one process_raw_events task each, as an IMAP fetch
# does), so a batch is done well within its lease.
EVENT_BATCH = 100


def recover_stalled(now=None) -> dict:
    """Enqueue deliveries and raw events whose lease expired or that waited past their due time
    for longer than ``HOTRO_STALLED_AFTER_SECONDS``.  Returns counts.  Re-stamps waiting rows so that
    a long task queue does not get one more copy every minute."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.HOTRO_STALLED_AFTER_SECONDS)
    found: dict[str, list[str]] = {}
    with system_scope():
        lost = lost_workers(now)
        for work, key, unscheduled, created in STALLED:
            rows = work.model.objects
            if work.claimer_field and lost:  # held by a worker that died: its lease ends now
                rows.filter(
                    status=work.working, claimed_until__gte=now, **{f"{work.claimer_field}__in": lost}
                ).update(claimed_until=now - timedelta(microseconds=1))
            abandoned = list(
                rows.filter(status=work.working, claimed_until__lt=now).values_list("pk", flat=True)[:BATCH]
            )
            waiting_q = Q(status__in=work.due_statuses, next_attempt_at__lt=stale) | Q(
                status__in=unscheduled, next_attempt_at__isnull=True, **{f"{created}__lt": stale}
            )
            waiting = list(rows.filter(waiting_q).values_list("pk", flat=True)[:BATCH])
            rows.filter(pk__in=waiting).update(next_attempt_at=now)
            found[key] = [str(pk) for pk in abandoned + waiting]
        lost_tasks = fail_lost_tasks(now)
    for pk in found["deliveries"]:
        deliver.enqueue(pk)
    events = found["raw_events"]
    for i in range(0, len(events), EVENT_BATCH):
        process_raw_events.enqueue(events[i : i + EVENT_BATCH])
    return {**{key: len(pks) for key, pks in found.items()}, "lost_tasks": lost_tasks}
