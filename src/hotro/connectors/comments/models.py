"""Products, their public comments/questions, and helpful votes.

Comment text and author details are personal data: public on the business's page once published,
but still encrypted at rest (``EncryptedTextField``).  Visitors are referred to by keyed hashes
(``author_key`` / ``voter_key``: HMAC with the workspace's index key), never by a raw id.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from hotro.privacy.fields import EncryptedTextField
from hotro.tenancy.models import TenantModel


class Product(TenantModel):
    """One product page of a comments inbox, keyed by the business's own product id."""

    inbox = models.ForeignKey("connectors.Inbox", on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=255)
    url = models.URLField(max_length=2000)
    title = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_comment_product"
        constraints = [models.UniqueConstraint(fields=["inbox", "external_id"], name="comment_product_once")]

    def __str__(self) -> str:
        return self.title or self.external_id


class Kind(models.TextChoices):
    COMMENT = "comment", _("Comment")
    QUESTION = "question", _("Question")


class CommentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    PUBLISHED = "published", _("Published")
    HIDDEN = "hidden", _("Hidden")
    SPAM = "spam", _("Spam")


class Comment(TenantModel):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.COMMENT)
    author_name = EncryptedTextField()
    author_email = EncryptedTextField()  # only for private replies; never shown on the page
    author_address = EncryptedTextField()  # "visitor:<id>" or "user:<site user id>" (ContactIdentity)
    author_key = models.CharField(max_length=64, blank=True)  # keyed hash of author_address
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = EncryptedTextField()
    text_key = models.CharField(max_length=64, blank=True)  # keyed hash of the folded text (duplicates)
    status = models.CharField(max_length=10, choices=CommentStatus.choices, default=CommentStatus.PENDING)
    is_verified = models.BooleanField(default=False)  # identity verified by the site's HMAC
    is_verified_buyer = models.BooleanField(default=False)  # purchase claim signed by the site
    is_business_reply = models.BooleanField(default=False)
    author_member = models.ForeignKey(
        "tenancy.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.OneToOneField(  # the agent's reply this business comment publishes
        "conversations.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    helpful_count = models.PositiveIntegerField(default=0)
    spam_reasons = models.JSONField(default=list, blank=True)  # heuristic names, never content
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_comment"
        indexes = [
            models.Index(fields=["product", "parent", "status", "created_at"], name="comment_thread"),
            models.Index(fields=["product", "status", "helpful_count"], name="comment_helpful"),
            models.Index(fields=["workspace", "status", "created_at"], name="comment_moderation"),
            models.Index(fields=["workspace", "text_key", "created_at"], name="comment_copies"),
        ]

    @property
    def root(self) -> Comment:
        return self.parent if self.parent_id else self


class Vote(TenantModel):
    """One "helpful" vote; a visitor (or verified user) votes once per comment."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="votes")
    voter_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_comment_vote"
        constraints = [models.UniqueConstraint(fields=["comment", "voter_key"], name="comment_vote_once")]
