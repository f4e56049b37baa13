"""State of the e-mail channel: IMAP sync positions, known Message-IDs, participants, quarantine.

Every address and Message-ID is stored encrypted; lookups go through keyed hashes (blind indexes).
"""

from __future__ import annotations

from django.db import models

from hotro.privacy.fields import EncryptedTextField
from hotro.tenancy.models import TenantModel


class ImapFolderState(TenantModel):
    """Where the last fetch of one folder stopped.  ``last_uid`` is written only after the messages
    up to it are stored as raw events (at-least-once; the raw events make it exactly-once)."""

    inbox = models.ForeignKey("connectors.Inbox", on_delete=models.CASCADE, related_name="+")
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(default=0)
    last_uid = models.BigIntegerField(default=0)
    resyncs = models.PositiveIntegerField(default=0)  # UIDVALIDITY changes seen
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "hotro_email_folder_state"
        constraints = [models.UniqueConstraint(fields=["inbox", "folder"], name="email_folder_once")]


class ImapLease(TenantModel):
    """Who talks IMAP for an inbox right now (an IDLE runner or a poll), so that exactly one
    process holds the connection; a lease that runs out may be taken over."""

    inbox = models.OneToOneField("connectors.Inbox", on_delete=models.CASCADE, related_name="+")
    holder = models.CharField(max_length=64, blank=True)
    mode = models.CharField(max_length=8, blank=True)  # idle | poll
    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_email_lease"


class KnownMessageId(TenantModel):
    """A Message-ID we received or sent, and the conversation it belongs to (threading, dedupe,
    bounces).  ``mid_hash`` is an HMAC of the normalized id with the workspace's index key."""

    IN, OUT = "in", "out"

    inbox = models.ForeignKey("connectors.Inbox", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        "conversations.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    direction = models.CharField(max_length=3, choices=[(IN, "in"), (OUT, "out")])
    mid_hash = models.CharField(max_length=64)
    value = EncryptedTextField()  # the Message-ID, without angle brackets
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_email_message_id"
        constraints = [models.UniqueConstraint(fields=["workspace", "mid_hash"], name="email_mid_once")]
        indexes = [models.Index(fields=["conversation", "created_at"], name="email_mid_conversation")]


class Participant(TenantModel):
    """A person on an e-mail conversation (sender, To, Cc).  Replies go to all of them."""

    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")
    address = EncryptedTextField()
    address_bidx = models.BigIntegerField()
    name = EncryptedTextField()
    role = models.CharField(max_length=4, default="cc")  # from | to | cc
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_email_participant"
        constraints = [
            models.UniqueConstraint(fields=["conversation", "address_bidx"], name="email_participant_once")
        ]


class SenderEvent(TenantModel):
    """One counted event per sender address (inbound mail, automatic mail, our auto-acks): the
    per-sender limits that break mail loops and notice sudden volume.  Old rows are pruned."""

    MAIL, AUTOMATIC, ACK = "mail", "auto", "ack"

    inbox = models.ForeignKey("connectors.Inbox", on_delete=models.CASCADE, related_name="+")
    address_bidx = models.BigIntegerField()
    kind = models.CharField(max_length=4)
    at = models.DateTimeField()

    class Meta:
        db_table = "hotro_email_sender_event"
        indexes = [models.Index(fields=["inbox", "address_bidx", "kind", "at"], name="email_sender_window")]


class QuarantineStatus(models.TextChoices):
    HELD = "held", "Held"
    RELEASED = "released", "Released"
    DISCARDED = "discarded", "Discarded"


class QuarantinedMail(TenantModel):
    """Mail from a suspended e-mail identity: kept (encrypted), no conversation, until the customer
    confirms or an admin releases it.  ``reasons`` are signal names only, never content."""

    inbox = models.ForeignKey("connectors.Inbox", on_delete=models.CASCADE, related_name="+")
    identity = models.ForeignKey("contacts.ContactIdentity", on_delete=models.CASCADE, related_name="+")
    raw_event = models.ForeignKey(
        "connectors.RawEvent", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    external_id = models.CharField(max_length=255)
    raw = EncryptedTextField()  # the whole mail, base64
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=QuarantineStatus.choices, default=QuarantineStatus.HELD)
    received_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_email_quarantine"
        constraints = [models.UniqueConstraint(fields=["inbox", "external_id"], name="email_quarantine_once")]
        indexes = [
            models.Index(fields=["workspace", "status", "received_at"], name="email_quarantine_status")
        ]


class Confirmation(TenantModel):
    """A single-use confirmation link sent to a suspended address; only its hash is stored."""

    identity = models.ForeignKey("contacts.ContactIdentity", on_delete=models.CASCADE, related_name="+")
    inbox = models.ForeignKey("connectors.Inbox", on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_email_confirmation"
