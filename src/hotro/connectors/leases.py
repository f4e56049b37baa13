"""Leased claims on work rows (raw events, deliveries) and what happens when an attempt fails.

Both pipelines work the same way: a conditional UPDATE moves a due row (or one whose lease ran out)
to the *working* status with a lease, so exactly one worker holds it; the worker then does its work
and either finishes the row or calls ``fail``, which schedules a retry with backoff or gives up.

Scopes (Row-Level Security).  The worker does not know the row's workspace when it starts, so the
claim runs in ``system_scope`` and returns a ``Claim`` carrying ``workspace_id``; everything after
that (loading and decrypting the row, the connector's work, the bookkeeping of a failure) runs in
``tenant_scope(claim.workspace_id)``, see ``Claim.scope``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from hotro.privacy.rls import system_scope, tenant_scope

from .scheduling import backoff_delay, enqueue_on_commit, lease


@dataclass(frozen=True)
class Claim:
    """A row this worker holds until ``until``; ``attempts`` counts this attempt."""

    pk: str
    workspace_id: uuid.UUID
    attempts: int
    until: datetime
    worker: str = ""

    def scope(self):
        """The workspace scope all work on the claimed row runs in."""
        return tenant_scope(self.workspace_id)


@dataclass(frozen=True)
class Failure:
    status: str  # the row's new status (retrying or given up)
    changed: bool  # False when the claim was lost meanwhile (another worker took the row over)
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class LeasedWork:
    """One table of leased work: its statuses, its error column and the task that runs a row."""

    model: type[models.Model]
    due_statuses: tuple[str, ...]
    working: str
    retrying: str
    given_up: str
    error_field: str
    max_attempts_setting: str
    task: Callable[[], object]  # returns the task to enqueue for a retry (imported late)
    claimer_field: str = ""  # a column naming the worker that holds the row, if the table has one

    @property
    def max_attempts(self) -> int:
        return getattr(settings, self.max_attempts_setting)

    def _claimable(self, now: datetime) -> Q:
        """Rows due now (not leased), or whose worker's lease ran out."""
        due = (
            Q(status__in=self.due_statuses)
            & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        )
        return due | Q(status=self.working, claimed_until__lt=now)

    def _update(self, until: datetime, worker: str) -> dict:
        """The columns a claim sets: working, leased until ``until``, one more attempt."""
        update = {"status": self.working, "claimed_until": until, "attempts": F("attempts") + 1}
        if self.claimer_field:
            update[self.claimer_field] = worker[:64]
        return update

    def claim(self, pk: str, worker: str = "") -> Claim | None:
        """Take the row if it is due (or its lease expired); None when another worker has it or it
        is not due.  Counts the attempt."""
        now = timezone.now()
        until = now + lease()
        with system_scope():
            rows = self.model.objects.filter(pk=pk)
            if not rows.filter(self._claimable(now)).update(**self._update(until, worker)):
                return None
            workspace_id, attempts = rows.values_list("workspace_id", "attempts").get()
        return Claim(str(pk), workspace_id, attempts, until, worker[:64])

    def claim_many(self, pks: list[str], worker: str = "") -> dict[str, Claim]:
        """``claim`` for a batch in one UPDATE: the claims won, by primary key (rows that are not
        due, or held by another worker, are left out)."""
        if not pks:
            return {}
        now = timezone.now()
        # A lease end no other claim can share: this call's rows are those carrying it.
        until = now + lease() + timedelta(microseconds=random.randrange(1, 1_000_000))
        with system_scope():
            rows = self.model.objects.filter(pk__in=list(pks))
            if not rows.filter(self._claimable(now)).update(**self._update(until, worker)):
                return {}
            won = rows.filter(status=self.working, claimed_until=until).values_list(
                "pk", "workspace_id", "attempts"
            )
            claims = {str(pk): Claim(str(pk), ws, attempts, until, worker[:64]) for pk, ws, attempts in won}
        return {str(pk): claims[str(pk)] for pk in pks if str(pk) in claims}

    def status_of(self, pk: str) -> str:
        """The row's status (``missing`` if there is none), for a worker that lost the claim."""
        with system_scope():
            return self.model.objects.filter(pk=pk).values_list("status", flat=True).first() or "missing"

    def held(self, claim: Claim) -> models.QuerySet:
        """The row, only while this claim still holds it."""
        rows = self.model.objects.filter(pk=claim.pk, status=self.working)
        if self.claimer_field:
            rows = rows.filter(**{self.claimer_field: claim.worker})
        return rows

    def fail(
        self, claim: Claim, error: str, *, give_up: bool = False, retry_after: float | None = None
    ) -> Failure:
        """Record a failed attempt: retry later with backoff (the task is enqueued after commit), or
        give up when ``give_up`` or the attempts are spent.  ``error`` is a fixed sentence for
        admins (no personal data).  Runs in the claim's workspace scope."""
        give_up = give_up or claim.attempts >= self.max_attempts
        when = None if give_up else timezone.now() + backoff_delay(claim.attempts, retry_after)
        status = self.given_up if give_up else self.retrying
        with claim.scope(), transaction.atomic():
            changed = bool(
                self.held(claim).update(
                    status=status, claimed_until=None, next_attempt_at=when, **{self.error_field: error}
                )
            )
            if changed and when is not None:
                enqueue_on_commit(self.task(), claim.pk, when)
        return Failure(status, changed, when)
