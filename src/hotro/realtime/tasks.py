"""Housekeeping of the realtime event log (run by the scheduler)."""

from datetime import timedelta

from crontask import cron
from django.tasks import task
from django.utils import timezone

KEEP = timedelta(days=1)


@cron("23 * * * *")
@task
def prune_realtime_events() -> int:
    """Delete events older than a day: browsers offline longer than that reload instead of replaying."""
    from hotro.privacy.rls import system_scope

    from .models import RealtimeEvent

    with system_scope():
        deleted, _ = RealtimeEvent.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
    return deleted
