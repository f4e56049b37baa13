"""Conversations, their messages, attachments, tags and history."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from hotro.privacy.fields import EncryptedJSONField, EncryptedTextField
from hotro.tenancy.models import TenantModel

from .tokens import TokenArrayField


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    SNOOZED = "snoozed", _("Snoozed")
    RESOLVED = "resolved", _("Resolved")


class Priority(models.TextChoices):
    NONE = "none", _("None")
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Tag(TenantModel):
    name = models.CharField(max_length=64)
    color = models.CharField(max_length=7, default="#64748b")

    class Meta:
        db_table = "hotro_tag"
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Conversation(TenantModel):
    number = models.PositiveBigIntegerField()
    inbox = models.ForeignKey("connectors.Inbox", on_delete=models.PROTECT, related_name="conversations")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.PROTECT, related_name="conversations")
    subject = EncryptedTextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NONE)
    assignee = models.ForeignKey(
        "tenancy.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "tenancy.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="conversations", through="ConversationTag")
    snoozed_until = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField()
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel_thread_id = models.CharField(max_length=255, blank=True)  # provider's thread/conversation id
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_conversation"
        constraints = [models.UniqueConstraint(fields=["workspace", "number"], name="conversation_number")]
        indexes = [
            models.Index(
                fields=["workspace", "status", "-last_activity_at", "-id"], name="conv_status_activity"
            ),
            models.Index(
                fields=["workspace", "assignee", "status", "-last_activity_at"], name="conv_assignee"
            ),
            models.Index(fields=["workspace", "inbox", "status", "-last_activity_at"], name="conv_inbox"),
            models.Index(fields=["workspace", "contact"], name="conv_contact"),
            models.Index(fields=["workspace", "inbox", "channel_thread_id"], name="conv_thread"),
            # lists without a status filter ("all", the API's default) and keyword search walk this
            # order and stop after one page instead of sorting every conversation
            models.Index(fields=["workspace", "-last_activity_at", "-id"], name="conv_activity"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"


class ConversationTag(TenantModel):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)

    class Meta:
        db_table = "hotro_conversation_tag"
        constraints = [
            models.UniqueConstraint(fields=["conversation", "tag"], name="conversation_tag_unique")
        ]


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")
    NOTE = "note", _("Internal note")


class MessageStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")


class Message(TenantModel):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    inbox = models.ForeignKey("connectors.Inbox", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    author = models.ForeignKey(
        "tenancy.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender_identity = models.ForeignKey(
        "contacts.ContactIdentity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = EncryptedTextField()
    html = EncryptedTextField()  # sanitized with nh3 before encryption
    extra = EncryptedJSONField()  # channel specifics (headers, recipients, ...)
    external_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.RECEIVED)
    mentions = models.ManyToManyField("tenancy.Membership", blank=True, related_name="+", through="Mention")
    search_tokens = TokenArrayField()
    created_at = models.DateTimeField()

    class Meta:
        db_table = "hotro_message"
        indexes = [
            # On PostgreSQL, migration 0004 rebuilds it with INCLUDE (search_tokens) so that keyword
            # search of a conversation list probes each conversation's tokens without reading
            # message rows (privacy.search).  Keep that when changing this index.
            models.Index(fields=["conversation", "created_at"], name="message_thread"),
            # newest-first keyword search stops after one page instead of sorting every match
            models.Index(fields=["workspace", "-created_at"], name="message_recent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["inbox", "external_id"],
                condition=~models.Q(external_id=""),
                name="message_external_once",
            ),
        ]


class Mention(TenantModel):
    message = models.ForeignKey(Message, on_delete=models.CASCADE)
    membership = models.ForeignKey("tenancy.Membership", on_delete=models.CASCADE)

    class Meta:
        db_table = "hotro_mention"


class Attachment(TenantModel):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = EncryptedTextField()
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    storage_key = models.CharField(max_length=255)  # random name in the encrypted file store
    content_id = models.CharField(max_length=255, blank=True)  # for inline (cid:) images
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_attachment"


class ConversationEvent(TenantModel):
    """The conversation's history: every action, who did it and when (no personal data in ``data``)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        "tenancy.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        db_table = "hotro_conversation_event"
        indexes = [models.Index(fields=["conversation", "at"], name="conversation_event_at")]
