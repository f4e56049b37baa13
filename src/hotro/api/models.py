"""Per-workspace API tokens (stored hashed; the plaintext is shown once, at creation)."""

from __future__ import annotations

from django.db import models

from hotro.tenancy.models import TenantModel


class ApiToken(TenantModel):
    """A bearer token acting in one workspace as its own service member (``membership``).

    ``prefix`` (8 characters, shown in the settings page) finds the row; ``token_hash`` is the
    SHA-256 of the whole plaintext ``hotro_<prefix>_<secret>``, compared in constant time.
    """

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=8, unique=True)
    token_hash = models.CharField(max_length=64)
    membership = models.OneToOneField(
        "tenancy.Membership", on_delete=models.PROTECT, related_name="api_token"
    )
    created_by = models.ForeignKey(
        "tenancy.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_api_token"
        indexes = [models.Index(fields=["workspace", "created_at"], name="api_token_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
