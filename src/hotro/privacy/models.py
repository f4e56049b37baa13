"""Key material (wrapped) and the audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from hotro.tenancy.ids import uuid7


class KeyPurpose(models.TextChoices):
    DATA = "data", "Data encryption"
    INDEX = "index", "Blind indexes"


class WorkspaceKey(models.Model):
    """One workspace data key version, wrapped by the master key (KEK).

    The ``index`` key never rotates (blind indexes must stay comparable); ``data`` keys do.  Destroying
    a key (crypto-shredding) wipes ``wrapped`` so nothing encrypted under it can be read again.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.CASCADE, related_name="keys")
    purpose = models.CharField(max_length=10, choices=KeyPurpose.choices)
    version = models.PositiveIntegerField()
    kek_id = models.CharField(max_length=64)
    wrapped = models.BinaryField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_workspace_key"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "purpose", "version"], name="workspace_key_version"),
        ]


class AuditEvent(models.Model):
    """Append-only, hash-chained per workspace (``hash = SHA256(prev_hash || canonical row)``).

    Rows are only ever inserted by ``privacy.audit.record``; ``hotro audit verify`` recomputes the
    chain and reports the first row that was altered, removed or inserted out of order.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "hotro_audit_event"
        constraints = [models.UniqueConstraint(fields=["workspace", "seq"], name="audit_seq_unique")]
        indexes = [models.Index(fields=["workspace", "action", "at"], name="audit_action_idx")]
