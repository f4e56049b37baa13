"""Connected channel accounts (inboxes), durable inbound events and the outbound outbox."""

from __future__ import annotations

import secrets

from django.db import models

from hotro.privacy.fields import EncryptedJSONField, EncryptedTextField
from hotro.tenancy.models import TenantModel


def new_public_key() -> str:
    return secrets.token_urlsafe(18)


class InboxHealth(models.TextChoices):
    OK = "ok", "Working"
    DEGRADED = "degraded", "Errors, retrying"
    NEEDS_ATTENTION = "needs_attention", "Reconnect needed"


class Inbox(TenantModel):
    """One connected channel account (the *installation* of a connector)."""

    connector = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    public_key = models.CharField(max_length=32, unique=True, default=new_public_key)
    settings = models.JSONField(default=dict, blank=True)  # non-secret configuration only
    credentials = EncryptedJSONField()  # secrets, tokens, webhook signing keys
    team = models.ForeignKey(
        "tenancy.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    health = models.CharField(max_length=20, choices=InboxHealth.choices, default=InboxHealth.OK)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # the ConnectorError code of the last error ("reconnect": sign-in refused or access revoked)
    last_error_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_inbox"

    def __str__(self) -> str:
        return self.name


class RawEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed, will retry"
    DEAD = "dead", "Could not be processed"
    MALFORMED = "malformed", "Malformed"


class RawEvent(TenantModel):
    """An inbound provider event, stored (encrypted) before the provider gets its 200."""

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="raw_events")
    event_id = models.CharField(max_length=255)
    payload = EncryptedTextField()
    headers = EncryptedJSONField()
    status = models.CharField(max_length=12, choices=RawEventStatus.choices, default=RawEventStatus.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)  # why it failed, in words; never payload content
    received_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # when a failed event is retried
    claimed_until = models.DateTimeField(null=True, blank=True)  # processing lease
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_raw_event"
        constraints = [models.UniqueConstraint(fields=["inbox", "event_id"], name="raw_event_once")]
        indexes = [
            models.Index(fields=["workspace", "status", "received_at"], name="raw_event_status"),
            models.Index(fields=["status", "next_attempt_at"], name="raw_event_due"),
        ]


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Failed, will retry"
    FAILED = "failed", "Failed"


class Delivery(TenantModel):
    """One outbound send through a connector; claimed by exactly one worker at a time."""

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="deliveries")
    message = models.ForeignKey("conversations.Message", on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_delivery"
        indexes = [
            models.Index(fields=["workspace", "status", "next_attempt_at"], name="delivery_status"),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]


class WorkerBeat(models.Model):
    """A task worker's sign of life (``connectors.workers``): not workspace data, no personal data."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "hotro_worker_beat"

    def __str__(self) -> str:
        return self.worker_id


__all__ = ["Inbox", "RawEvent", "Delivery", "WorkerBeat", "EncryptedTextField"]
