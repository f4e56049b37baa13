"""Which task workers are alive, and what happens to the work of one that died.

Every task worker (``hotro worker`` and the embedded one) writes a ``WorkerBeat`` every
``HOTRO_WORKER_BEAT_SECONDS`` (15) under the id it claims work with.  A worker not heard of for
``HOTRO_WORKER_LOST_SECONDS`` (60) is lost (killed, its machine gone).  The minutely recovery job
(``connectors.tasks``) then:

* re-enqueues the deliveries that worker held, without waiting for their lease to run out, and
* marks the task rows it was running (left ``RUNNING`` for ever by django-tasks-db) as failed, with
  a sentence saying the worker was lost and its work handed on.

So a killed worker's delivery is sent again about one to two minutes after the kill (lost after 60 s,
then the next minutely recovery); work claimed by processes that do not beat (e.g. a plain
``django-admin db_worker``) waits for its lease (``HOTRO_CLAIM_LEASE_SECONDS``, 120 s) as before.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.crypto import get_random_string

from .models import WorkerBeat

log = logging.getLogger(__name__)

LOST_TASK_CLASS = "hotro.connectors.workers.WorkerLost"


class WorkerLost(Exception):
    """Recorded on a task whose worker stopped while running it."""


def new_worker_id(prefix: str = "") -> str:
    """A worker id unique across machines (host, pid, random), at most 64 characters."""
    host = socket.gethostname()[:24]
    return f"{prefix}{host}:{os.getpid()}:{get_random_string(10)}"[:64]


def beat(worker_id: str, *, started_at=None) -> None:
    now = timezone.now()
    updated = WorkerBeat.objects.filter(pk=worker_id).update(seen_at=now)
    if not updated:
        WorkerBeat.objects.update_or_create(
            pk=worker_id, defaults={"seen_at": now, "started_at": started_at or now}
        )


def forget(worker_id: str) -> None:
    """A worker that stops cleanly says so: nothing of it is left to recover."""
    WorkerBeat.objects.filter(pk=worker_id).delete()


class Heartbeat(threading.Thread):
    """Beats for ``worker_id`` until ``stop()``; its own database connection, closed at the end."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name="hotro-worker-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.started_at = timezone.now()
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            while True:
                try:
                    beat(self.worker_id, started_at=self.started_at)
                except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                    log.warning("worker %s could not record its heartbeat", self.worker_id, exc_info=True)
                    connections.close_all()
                if self._halt.wait(settings.HOTRO_WORKER_BEAT_SECONDS):
                    break
            forget(self.worker_id)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self._halt.set()


def lost_workers(now=None) -> set[str]:
    """Ids of workers whose last beat is older than ``HOTRO_WORKER_LOST_SECONDS``."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.HOTRO_WORKER_LOST_SECONDS)
    return set(WorkerBeat.objects.filter(seen_at__lt=limit).values_list("pk", flat=True))


def live_workers(now=None) -> set[str]:
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.HOTRO_WORKER_LOST_SECONDS)
    return set(WorkerBeat.objects.filter(seen_at__gte=limit).values_list("pk", flat=True))


def fail_lost_tasks(now=None) -> int:
    """Mark ``RUNNING`` task rows whose worker is lost as failed (see the module docstring); rows of
    workers that never beat are marked once they ran longer than ``HOTRO_TASK_STUCK_SECONDS``.
    Returns how many rows were marked."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    live = live_workers(now)
    stuck_before = now - timedelta(seconds=settings.HOTRO_TASK_STUCK_SECONDS)
    lost_before = now - timedelta(seconds=settings.HOTRO_WORKER_LOST_SECONDS)
    known = set(WorkerBeat.objects.values_list("pk", flat=True))
    marked = 0
    running = DBTaskResult.objects.filter(status="RUNNING")
    for row in running.only("id", "worker_ids", "started_at").iterator():
        worker = (row.worker_ids or [""])[-1]
        if worker in live:
            continue
        if worker not in known and row.started_at >= stuck_before:
            continue  # a worker without heartbeats (plain db_worker): only when clearly stuck
        marked += DBTaskResult.objects.filter(pk=row.pk, status="RUNNING").update(
            status="FAILED",
            finished_at=now,
            exception_class_path=LOST_TASK_CLASS,
            traceback=(
                f"The worker {worker or '(unknown)'} stopped while running this task (no sign of life "
                f"since before {lost_before:%Y-%m-%d %H:%M:%S} UTC). hotro's recovery handed its "
                "deliveries and raw events to other workers; nothing else needs doing."
            ),
        )
    WorkerBeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()  # long gone
    return marked
