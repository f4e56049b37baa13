"""Workspace and membership actions (``do_*`` trusted and atomic; ``check_*`` authorizes first)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from hotro.privacy.keys import ensure_workspace_keys

from .models import Membership, Role, Workspace


@transaction.atomic
def do_create_workspace(
    *, slug: str, name: str, owner_email: str, password: str | None = None, language: str = "vi",
    time_zone: str = "Asia/Ho_Chi_Minh",
) -> Workspace:
    """Create a workspace with its keys and its owner (a new or existing user)."""
    User = get_user_model()
    workspace = Workspace.objects.create(slug=slug, name=name, language=language, time_zone=time_zone)
    ensure_workspace_keys(workspace.pk)
    user = User.objects.filter(email__iexact=owner_email).first()
    if user is None:
        user = User(username=owner_email.lower(), email=owner_email.lower())
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    return workspace


def do_add_member(workspace: Workspace, user, role: str = Role.AGENT, display_name: str = "") -> Membership:
    return Membership.objects.create(workspace=workspace, user=user, role=role, display_name=display_name)
