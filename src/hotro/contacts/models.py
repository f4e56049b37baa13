"""Customers of a workspace: one Contact joins all of a person's channel identities."""

from __future__ import annotations

from django.db import models

from hotro.privacy.fields import EncryptedJSONField, EncryptedTextField
from hotro.tenancy.models import TenantModel


class Contact(TenantModel):
    name = EncryptedTextField()
    email = EncryptedTextField()
    email_bidx = models.BigIntegerField(null=True, blank=True)
    phone = EncryptedTextField()
    phone_bidx = models.BigIntegerField(null=True, blank=True)
    address = EncryptedTextField()
    attributes = EncryptedJSONField()
    language = models.CharField(max_length=10, blank=True)
    is_verified = models.BooleanField(default=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "hotro_contact"
        indexes = [
            models.Index(fields=["workspace", "email_bidx"], name="contact_email_bidx"),
            models.Index(fields=["workspace", "phone_bidx"], name="contact_phone_bidx"),
            models.Index(fields=["workspace", "created_at"], name="contact_created"),
        ]

    def __str__(self) -> str:
        return f"Contact {self.pk}"


class IdentityStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    PENDING = "pending_confirmation", "Pending confirmation"


class ContactIdentity(TenantModel):
    """One address of a contact on one channel: an e-mail, a phone number, a Zalo user id ..."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    channel = models.CharField(max_length=32)
    address = EncryptedTextField()
    address_bidx = models.BigIntegerField()
    # exact key of (channel, normalized address) under the workspace's index key: unique, so a sender
    # is created once however many workers see it first (blind.identity_key)
    address_key = models.CharField(max_length=32)
    display_name = EncryptedTextField()
    status = models.CharField(max_length=24, choices=IdentityStatus.choices, default=IdentityStatus.ACTIVE)
    is_verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_contact_identity"
        indexes = [models.Index(fields=["workspace", "channel", "address_bidx"], name="identity_lookup")]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "channel", "address_key"], name="identity_unique")
        ]


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "The address does not exist (hard bounce)"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    COMPLAINT = "complaint", "Marked as spam"
    MANUAL = "manual", "Added by staff"


class Suppression(TenantModel):
    """An address that automatic and marketing mail must not reach, found by its blind index only.

    Replies a person writes to a customer are never suppressed (they answer the customer's own
    request); automatic acknowledgements and, later, marketing sends check this list first.
    """

    channel = models.CharField(max_length=32)
    address_bidx = models.BigIntegerField()
    address = EncryptedTextField()  # kept to confirm blind-index candidates and to show admins
    reason = models.CharField(max_length=16, choices=SuppressionReason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_suppression"
        indexes = [models.Index(fields=["workspace", "channel", "address_bidx"], name="suppression_lookup")]

    def __str__(self) -> str:
        return f"Suppression {self.pk}"
