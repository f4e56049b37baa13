"""Real worker processes (``db_worker``) against PostgreSQL: no duplicate sends, nothing lost.

The test process writes deliveries into the test database (committed: transaction=True) and enqueues
them on the database task backend; two ``db_worker`` subprocesses pointed at the same database drain
the queue and post to a fake receiver in this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from hotro.connectors.api import create_api_inbox
from hotro.connectors.api.fake import FakeReceiver
from hotro.connectors.base import InboundMessage
from hotro.connectors.models import Delivery, DeliveryStatus
from hotro.connectors.tasks import recover_stalled
from hotro.conversations.actions import do_receive_message, do_send_reply

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SRC = Path(__file__).resolve().parent.parent / "src"
LEASE_SECONDS = 2
BEAT_SECONDS, LOST_SECONDS = 0.3, 2
DB_BACKEND = "django_tasks_db.DatabaseBackend"


@pytest.fixture
def pg(settings):  # the module's postgres marker skips it on SQLite (tests/conftest.py)
    settings.TASKS = {"default": {"BACKEND": DB_BACKEND, "QUEUES": ["default"]}}
    settings.HOTRO_CLAIM_LEASE_SECONDS = LEASE_SECONDS


@pytest.fixture
def workers(pg):
    """Start ``db_worker`` processes on the test database; all are killed at the end."""
    procs: list[subprocess.Popen] = []
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HOTRO_ENV": "test",
        "HOTRO_TASK_BACKEND": DB_BACKEND,
        "HOTRO_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
        "HOTRO_ALLOW_PRIVATE_WEBHOOKS": "true",
        "HOTRO_HTTP_TIMEOUT_SECONDS": "30",
        "HOTRO_LOG_LEVEL": "WARNING",
        "HOTRO_WORKER_BEAT_SECONDS": str(BEAT_SECONDS),
        "HOTRO_WORKER_LOST_SECONDS": str(LOST_SECONDS),
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }

    def start(name: str, *, beats: bool = False) -> subprocess.Popen:
        """A plain ``db_worker``, or with ``beats`` a ``hotro worker`` (heartbeat, same options) whose
        claims' lease is far beyond the test: only its heartbeat can tell it is gone."""
        command = (
            ["hotro", "worker"] if beats else ["django", "db_worker", "--settings", "hotro.config.settings"]
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                *command,
                "--interval",
                "0.05",
                "--no-startup-delay",
                "--worker-id",
                name,
                "--skip-checks",  # system checks run elsewhere; this test is about the outbox
            ],
            env={**env, "HOTRO_CLAIM_LEASE_SECONDS": "600"} if beats else env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def receiver():
    rx = FakeReceiver("placeholder").start()
    yield rx
    rx.stop()


def queue_replies(ws, receiver, count: int) -> list[str]:
    inbox, secret = create_api_inbox(ws, "CRM", receiver.url)
    receiver.secret = secret
    message, _ = do_receive_message(
        inbox, InboundMessage(external_id="in-1", channel="api", sender_address="cust-1", text="hi")
    )
    with transaction.atomic():  # one commit; every delivery is enqueued when it happens
        for i in range(count):
            do_send_reply(None, message.conversation, f"reply {i}")
    return [str(pk) for pk in Delivery.objects.values_list("pk", flat=True)]


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_two_workers_drain_the_outbox_without_duplicates(ws_a, workers, receiver):
    first, second = workers("worker-1"), workers("worker-2")
    ids = queue_replies(ws_a, receiver, 200)
    assert len(ids) == 200
    assert receiver.wait_for(lambda r: len(r.delivered) == 200, timeout=90), (
        f"{len(receiver.delivered)} delivered; worker stderr: {_stderr(first, second)}"
    )
    assert wait_until(lambda: Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 200, 30)
    assert sorted(receiver.delivered) == sorted(ids)
    assert len(receiver.attempts) == 200  # each delivery id was posted exactly once
    assert receiver.rejected == 0
    assert Delivery.objects.values("claimed_by").distinct().count() == 2  # both workers took part


def test_killing_a_worker_mid_delivery_loses_nothing(ws_a, workers, receiver):
    doomed = workers("doomed")
    receiver.hold_next(60)  # the first request hangs: the worker is inside connector.send
    [delivery_id] = queue_replies(ws_a, receiver, 1)
    assert receiver.received_event.wait(30), _stderr(doomed)
    held = Delivery.objects.get(pk=delivery_id)
    assert held.status == DeliveryStatus.SENDING and held.claimed_by
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    assert recover_stalled()["deliveries"] == 0  # the lease has not run out yet
    time.sleep(LEASE_SECONDS + 0.5)
    survivor = workers("survivor")
    assert recover_stalled()["deliveries"] == 1  # the scheduler's minutely job, run now
    assert wait_until(lambda: Delivery.objects.get(pk=delivery_id).status == DeliveryStatus.SENT, 60), (
        _stderr(survivor)
    )
    assert receiver.attempts == [delivery_id, delivery_id]  # at least once ...
    assert receiver.delivered == [delivery_id]  # ... and the receiver deduplicated by id
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.attempts == 2 and delivery.claimed_by != held.claimed_by  # another process sent it


def test_a_killed_worker_is_known_lost_and_its_work_handed_on_before_the_lease_ends(
    ws_a, workers, receiver, settings
):
    """``hotro worker`` beats; once it is silent its delivery is freed without waiting for the lease,
    and the task row it was running (left RUNNING by the task library) is marked failed."""
    from django_tasks_db.models import DBTaskResult

    settings.HOTRO_CLAIM_LEASE_SECONDS = 600  # far beyond the test: only the heartbeat can free it
    settings.HOTRO_WORKER_LOST_SECONDS = LOST_SECONDS
    doomed = workers("doomed-beating", beats=True)
    receiver.hold_next(60)
    [delivery_id] = queue_replies(ws_a, receiver, 1)
    assert receiver.received_event.wait(30), _stderr(doomed)
    assert Delivery.objects.get(pk=delivery_id).claimed_by == "doomed-beating"
    assert recover_stalled() == {"deliveries": 0, "raw_events": 0, "lost_tasks": 0}  # alive and well
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    assert DBTaskResult.objects.filter(status="RUNNING").count() == 1  # what the kill leaves behind
    # wait until the recovery job itself sees the worker as lost (no fixed sleep)
    assert wait_until(lambda: recover_stalled()["deliveries"] == 1, 30)
    [task] = DBTaskResult.objects.filter(worker_ids__contains=["doomed-beating"])
    assert task.status == "FAILED" and "stopped while running this task" in task.traceback
    survivor = workers("survivor-beating", beats=True)
    assert wait_until(lambda: Delivery.objects.get(pk=delivery_id).status == DeliveryStatus.SENT, 60), (
        _stderr(survivor)
    )
    assert receiver.delivered == [delivery_id]
    assert not DBTaskResult.objects.filter(status="RUNNING", worker_ids__contains=["doomed-beating"]).exists()


def _stderr(*procs) -> str:
    out = []
    for proc in procs:
        if proc.poll() is not None and proc.stderr:
            out.append(proc.stderr.read().decode(errors="replace")[-2000:])
    return " | ".join(out) or "(workers still running)"
