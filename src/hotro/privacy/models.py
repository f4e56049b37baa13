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
    # Index keys only: bit length of the e-mail/phone/identity blind indexes (``privacy.blind``).
    bidx_bits = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_workspace_key"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "purpose", "version"], name="workspace_key_version"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} key v{self.version}"


class ReencryptionJob(models.Model):
    """Progress of re-encrypting one workspace's rows of one model (or its files) under one data key
    version; ``last_pk`` is committed with each batch so an interrupted run resumes where it was."""

    FILES = "privacy.files"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.CASCADE, related_name="+")
    key_version = models.PositiveIntegerField()
    model_label = models.CharField(max_length=100)
    last_pk = models.CharField(max_length=255, blank=True)
    rewritten = models.PositiveBigIntegerField(default=0)
    done = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_reencryption_job"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "key_version", "model_label"], name="reencryption_job_unique"
            )
        ]

    def __str__(self) -> str:
        return f"re-encryption of {self.model_label} to v{self.key_version}"


class AuditEvent(models.Model):
    """Append-only, hash-chained per workspace (``hash = SHA256(prev_hash || canonical row)``).

    Rows are only ever inserted by ``privacy.audit.record``; ``hotro audit verify`` recomputes the
    chain and reports the first row that was altered, removed or inserted out of order.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
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

    def __str__(self) -> str:
        return f"{self.action} #{self.seq}"
