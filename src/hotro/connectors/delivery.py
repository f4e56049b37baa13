"""The outbound outbox: every send goes through a Delivery row and the ``deliver`` task.

``do_send_reply`` (conversations) writes the Message (queued) and its Delivery in one transaction
and calls ``schedule_delivery``; the task runs ``outbox.run_delivery`` after commit.
"""

from __future__ import annotations

from django.tasks import task

from .scheduling import enqueue_on_commit


def schedule_delivery(delivery) -> None:
    """Enqueue the delivery task after the surrounding transaction commits."""
    enqueue_on_commit(deliver, str(delivery.pk))


@task
def deliver(delivery_id: str) -> str:
    from .outbox import run_delivery

    return run_delivery(delivery_id)
