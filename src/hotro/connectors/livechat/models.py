"""Live-chat state: visitors (one per browser or verified user per inbox), which conversations each
visitor may see, the visitor's event stream (for resume), the consent ledger and CSAT answers.

A visitor is keyed by a keyed hash of its address (``visitor:<random id>`` or ``user:<verified id>``),
never by e-mail: what a visitor sees is decided by ``VisitorConversation`` rows only (chatwoot#9493).
"""

from __future__ import annotations

from django.db import models

from hotro.privacy.fields import EncryptedTextField
from hotro.tenancy.models import TenantModel


class Visitor(TenantModel):
    inbox = models.ForeignKey("connectors.Inbox", on_delete=models.CASCADE, related_name="+")
    key_digest = models.CharField(max_length=64)  # HMAC of the address under the workspace index key
    identity = models.ForeignKey(
        "contacts.ContactIdentity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_verified = models.BooleanField(default=False)
    language = models.CharField(max_length=10, blank=True)
    prechat_done = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_livechat_visitor"
        constraints = [models.UniqueConstraint(fields=["inbox", "key_digest"], name="livechat_visitor_once")]


class VisitorConversation(TenantModel):
    """The conversations a visitor may read in the widget."""

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="links")
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_livechat_visitor_conversation"
        constraints = [
            models.UniqueConstraint(
                fields=["visitor", "conversation"], name="livechat_visitor_conversation_once"
            )
        ]


class VisitorEvent(models.Model):
    """One entry of a visitor's stream; ids only (the widget fetches content through the visitor API).

    Kinds: ``message`` (new message in a visible conversation), ``status`` (message status: read),
    ``conversation`` (resolved / reopened: CSAT prompt)."""

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.CASCADE, related_name="+")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="events")
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    message = models.ForeignKey(
        "conversations.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_livechat_visitor_event"
        indexes = [models.Index(fields=["visitor", "id"], name="livechat_event_resume")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class VisitorPresence(TenantModel):
    """One open widget of a visitor: a WebSocket (``key`` = its channel name) or the long-poll loop
    (``key`` = ``"poll"``).  The visitor is in the chat while one of its rows has not expired; sockets
    renew theirs every ``visitors.HEARTBEAT_SECONDS`` and delete it on disconnect, so a crashed process
    leaves a row that simply runs out.  Agent replies to an absent visitor are also e-mailed."""

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="presence")
    key = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    class Meta:
        db_table = "hotro_livechat_visitor_presence"
        constraints = [models.UniqueConstraint(fields=["visitor", "key"], name="livechat_presence_once")]
        indexes = [models.Index(fields=["visitor", "expires_at"], name="livechat_presence_live")]


class ConsentPurpose(models.TextChoices):
    PRIVACY_NOTICE = "privacy_notice", "Privacy notice"
    MARKETING = "marketing", "Marketing"


class ConsentRecord(TenantModel):
    """The consent ledger: append-only; the latest row per (contact, purpose) is in force."""

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=32, choices=ConsentPurpose.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=64)  # e.g. "livechat:<inbox id>"
    text_version = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        db_table = "hotro_consent_record"
        indexes = [models.Index(fields=["workspace", "contact", "purpose", "at"], name="consent_latest")]


class CsatResponse(TenantModel):
    conversation = models.OneToOneField(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    inbox = models.ForeignKey("connectors.Inbox", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", null=True, on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey("tenancy.Membership", null=True, on_delete=models.SET_NULL, related_name="+")
    rating = models.PositiveSmallIntegerField()
    comment = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "hotro_csat_response"
        constraints = [
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="csat_rating_1_5")
        ]
        indexes = [models.Index(fields=["workspace", "inbox", "created_at"], name="csat_report")]
