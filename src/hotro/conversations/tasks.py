"""Periodic conversation jobs (run by the scheduler)."""

from crontask import cron
from django.tasks import task


@cron("* * * * *")
@task
def wake_snoozed_conversations() -> int:
    from .actions import do_wake_snoozed

    return do_wake_snoozed()
