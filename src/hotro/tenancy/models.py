"""Workspaces (one business each), their members and teams."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hotro.privacy.fields import EncryptedTextField

from .ids import uuid7


class Workspace(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="Asia/Ho_Chi_Minh")
    language = models.CharField(max_length=10, default="vi", choices=settings.LANGUAGES)
    mfa_required = models.BooleanField(default=False)
    next_conversation_number = models.PositiveBigIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_workspace"

    def __str__(self) -> str:
        return self.name


class TenantModel(models.Model):
    """Base of every workspace-owned row: time-ordered UUID key and ``workspace_id`` on every table."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    AGENT = "agent", _("Agent")
    VIEWER = "viewer", _("Viewer")


ROLE_RANK = {Role.VIEWER: 0, Role.AGENT: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Membership(TenantModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    display_name = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_membership"
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")]

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    @property
    def can_write(self) -> bool:
        return self.has_role(Role.AGENT)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)


class Team(TenantModel):
    name = models.CharField(max_length=120)
    members = models.ManyToManyField(Membership, related_name="teams", blank=True, through="TeamMember")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hotro_team"
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="team_unique_name")]

    def __str__(self) -> str:
        return self.name


class TeamMember(TenantModel):
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE)

    class Meta:
        db_table = "hotro_team_member"
        constraints = [models.UniqueConstraint(fields=["team", "membership"], name="team_member_unique")]

    def __str__(self) -> str:
        return f"{self.membership_id} in {self.team_id}"


class Invitation(TenantModel):
    """An invitation by e-mail; the token is stored hashed, the address encrypted."""

    email = EncryptedTextField()
    email_bidx = models.BigIntegerField(db_index=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(Membership, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hotro_invitation"

    def __str__(self) -> str:  # never the address: this ends up in logs
        return f"invitation {self.pk} ({self.role})"
