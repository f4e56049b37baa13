"""The outbound outbox: every send goes through a Delivery row and the ``deliver`` task."""

from __future__ import annotations

from django.db import transaction
from django.tasks import task


def schedule_delivery(delivery) -> None:
    """Enqueue the delivery task after the surrounding transaction commits."""
    delivery_id = str(delivery.pk)
    transaction.on_commit(lambda: deliver.enqueue(delivery_id))


@task
def deliver(delivery_id: str) -> str:
    from .outbox import run_delivery

    return run_delivery(delivery_id)
