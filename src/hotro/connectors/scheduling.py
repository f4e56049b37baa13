"""Enqueueing tasks after commit, now or later, and the retry backoff both pipelines share."""

from __future__ import annotations

import os
import random
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string


def backoff_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with ±20 % jitter after ``attempts`` failed attempts, capped; a provider's
    ``Retry-After`` wins when it asks for longer."""
    base = settings.HOTRO_RETRY_BASE_SECONDS
    cap = settings.HOTRO_RETRY_MAX_SECONDS
    seconds = min(cap, base * 2 ** max(attempts - 1, 0))
    seconds *= random.uniform(0.8, 1.2)
    if retry_after is not None:
        seconds = max(seconds, min(float(retry_after), cap))
    return timedelta(seconds=seconds)


def lease() -> timedelta:
    return timedelta(seconds=settings.HOTRO_CLAIM_LEASE_SECONDS)


def enqueue_on_commit(task, arg: str, when: datetime | None = None) -> None:
    """Enqueue ``task(arg)`` once the current transaction commits, to run at ``when`` or later.

    Backends that cannot defer (the immediate backend of in-process tests) get nothing for a future
    ``when``: the recovery job (``connectors.tasks``) enqueues due work it finds."""

    def enqueue() -> None:
        if when is None or when <= timezone.now():
            task.enqueue(arg)
        elif task.get_backend().supports_defer:
            task.using(run_after=when).enqueue(arg)

    transaction.on_commit(enqueue)


_WORKER = f"{socket.gethostname()[:30]}:{os.getpid()}:{get_random_string(8)}"


def worker_id() -> str:
    """Names this process in claims (``claimed_by``) so an admin can see who holds a delivery, and
    the recovery job can hand on the work of a worker that died (``connectors.workers``)."""
    return _WORKER


def use_worker_id(value: str) -> None:
    """Claim work under ``value``: the id this process's task worker beats with."""
    global _WORKER
    _WORKER = value
