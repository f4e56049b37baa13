"""Worker heartbeats: who is alive, and the task rows a dead worker leaves RUNNING."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hotro.connectors import workers
from hotro.connectors.models import WorkerBeat

pytestmark = pytest.mark.django_db


def running_task(worker_id: str, started_ago: float):
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    return DBTaskResult.objects.create(
        status="RUNNING",
        args_kwargs={"args": [], "kwargs": {}},
        task_path="hotro.connectors.delivery.deliver",
        backend_name="default",
        queue_name="default",
        run_after=now,
        started_at=now - timedelta(seconds=started_ago),
        worker_ids=[worker_id],
        exception_class_path="",
        traceback="",
    )


def test_a_beating_worker_is_alive_and_a_silent_one_is_lost(settings):
    settings.HOTRO_WORKER_LOST_SECONDS = 60
    now = timezone.now()
    workers.beat("w-alive")
    workers.beat("w-silent")
    WorkerBeat.objects.filter(pk="w-silent").update(seen_at=now - timedelta(seconds=61))
    assert workers.live_workers(now) == {"w-alive"} and workers.lost_workers(now) == {"w-silent"}
    workers.forget("w-alive")  # a clean stop leaves nothing behind
    assert not WorkerBeat.objects.filter(pk="w-alive").exists()


def test_only_the_tasks_of_lost_or_long_stuck_workers_are_marked_failed(settings):
    from django_tasks_db.models import DBTaskResult

    settings.HOTRO_WORKER_LOST_SECONDS = 60
    settings.HOTRO_TASK_STUCK_SECONDS = 3600
    workers.beat("alive")
    workers.beat("dead")
    WorkerBeat.objects.filter(pk="dead").update(seen_at=timezone.now() - timedelta(minutes=5))
    alive = running_task("alive", 7200)
    dead = running_task("dead", 1)  # started just now: its worker is gone all the same
    unknown_recent = running_task("never-beat", 600)  # a plain db_worker: not proof of anything yet
    unknown_stuck = running_task("never-beat-2", 7200)
    assert workers.fail_lost_tasks() == 2
    status = dict(DBTaskResult.objects.values_list("id", "status"))
    assert status[alive.pk] == "RUNNING" and status[unknown_recent.pk] == "RUNNING"
    assert status[dead.pk] == status[unknown_stuck.pk] == "FAILED"
    failed = DBTaskResult.objects.get(pk=dead.pk)
    assert failed.exception_class_path == workers.LOST_TASK_CLASS and "dead stopped" in failed.traceback
    assert workers.fail_lost_tasks() == 0  # idempotent
