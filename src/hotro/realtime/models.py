"""A short-lived log of browser events so a reconnecting client can replay what it missed.

Events carry ids and states, never personal data (browsers fetch what they display through the
normal, authorized views), so this table holds nothing that needs encryption.  Old rows are pruned
by a periodic task.
"""

from django.db import models


class RealtimeEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "hotro_realtime_event"
        indexes = [models.Index(fields=["workspace", "id"], name="realtime_event_resume")]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
