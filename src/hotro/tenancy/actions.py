"""Workspace, membership and team actions.

``do_*`` are trusted and atomic and write the audit record; ``check_*`` authorize the acting member
(``AccessDenied`` -> 403) and validate (``ValidationError`` with a sentence saying what to do), then
call ``do_*``.  ``ip`` (optional) is the client address of the request, kept in the audit record.
Removing a member or changing their role emits the realtime event ``member.removed`` (see
``_announce_membership_change``).  Objects passed in were fetched through ``access_*`` helpers, so
they belong to the actor's workspace.  Invitations live in ``hotro.tenancy.invitations``.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from hotro.privacy.keys import ensure_workspace_keys
from hotro.privacy.rls import in_workspace, system_scope

from .access import AccessDenied, require_admin
from .models import Membership, Role, Team, TeamMember, Workspace


def audit(workspace_id, action: str, *, actor=None, object_type: str = "", object_id="", data=None, ip=None):
    """Append an audit record (``hotro.privacy.audit.record``); ``actor`` is a Membership or None."""
    from hotro.privacy.audit import record

    record(
        workspace_id,
        action,
        actor=actor.user if actor is not None else None,
        object_type=object_type,
        object_id=str(object_id) if object_id else "",
        data=data or {},
        ip=ip,
    )


# --- workspaces -----------------------------------------------------------------------------------
@transaction.atomic
def do_create_workspace(
    *,
    slug: str,
    name: str,
    owner_email: str,
    password: str | None = None,
    language: str = "vi",
    time_zone: str = "Asia/Ho_Chi_Minh",
) -> Workspace:
    """Create a workspace with its keys and its owner (a new or existing user)."""
    with system_scope():  # the new workspace's id is not a scope yet
        return _create_workspace(slug, name, owner_email, password, language=language, time_zone=time_zone)


def _create_workspace(slug, name, owner_email, password, *, language, time_zone) -> Workspace:
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


WORKSPACE_SETTINGS = ("name", "time_zone", "language", "mfa_required")


def check_update_workspace(actor: Membership, *, ip=None, **changes) -> Workspace:
    """Admins change name, time zone and language; only owners change ``mfa_required``."""
    require_admin(actor)
    workspace = actor.workspace
    unknown = set(changes) - set(WORKSPACE_SETTINGS)
    if unknown:
        raise ValueError(f"Not a workspace setting: {sorted(unknown)}")
    if "mfa_required" in changes and bool(changes["mfa_required"]) != workspace.mfa_required:
        if not actor.has_role(Role.OWNER):
            raise AccessDenied(_("Only an owner can change whether two-factor authentication is required."))
    if "name" in changes and not str(changes["name"]).strip():
        raise ValidationError(_("Give the workspace a name."))
    if "time_zone" in changes and changes["time_zone"] not in zoneinfo.available_timezones():
        raise ValidationError(_("Choose a time zone from the list."))
    if "language" in changes and changes["language"] not in dict(settings.LANGUAGES):
        raise ValidationError(_("Choose a language from the list."))
    return do_update_workspace(workspace, actor=actor, ip=ip, **changes)


@in_workspace("workspace", atomic=True)
def do_update_workspace(
    workspace: Workspace, *, actor: Membership | None = None, ip=None, **changes
) -> Workspace:
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    changed = {}
    for field, value in changes.items():
        if getattr(workspace, field) != value:
            changed[field] = {"from": getattr(workspace, field), "to": value}
            setattr(workspace, field, value)
    if changed:
        workspace.save(update_fields=list(changed))
        audit(
            workspace.pk,
            "workspace.settings_changed",
            actor=actor,
            object_type="workspace",
            object_id=workspace.pk,
            data={"changed": changed},
            ip=ip,
        )
    return workspace


# --- members --------------------------------------------------------------------------------------
MEMBER_REMOVED_EVENT = "member.removed"


def _announce_membership_change(target: Membership, reason: str) -> None:
    """Tell open browsers (after commit) that this membership lost or changed its access.

    The realtime consumer closes every socket of ``membership_id`` on this event, so the browser
    reconnects (and is checked again) or stops; ``reason`` is "removed" or "role_changed".
    """
    from hotro.realtime.events import send_event_on_commit

    send_event_on_commit(
        target.workspace_id,
        {"type": MEMBER_REMOVED_EVENT, "membership_id": str(target.pk), "reason": reason},
    )


@in_workspace("workspace")
def do_add_member(workspace: Workspace, user, role: str = Role.AGENT, display_name: str = "") -> Membership:
    return Membership.objects.create(workspace=workspace, user=user, role=role, display_name=display_name)


def _lock_owners(workspace_id) -> list:
    return list(
        Membership.objects.select_for_update()
        .filter(workspace_id=workspace_id, role=Role.OWNER, is_active=True)
        .values_list("pk", flat=True)
    )


def _require_may_manage(actor: Membership, target: Membership, new_role: str | None = None) -> None:
    require_admin(actor)
    touches_owner = Role.OWNER in {target.role, new_role}
    if touches_owner and not actor.has_role(Role.OWNER):
        raise AccessDenied(_("Only an owner can make someone an owner or change an owner's access."))


def check_change_role(actor: Membership, target: Membership, role: str, *, ip=None) -> Membership:
    if role not in Role.values:
        raise ValidationError(_("Choose a role from the list."))
    if not target.is_active:
        raise ValidationError(_("This person is no longer a member of the workspace."))
    _require_may_manage(actor, target, role)
    return do_change_role(target, role, actor=actor, ip=ip)


@in_workspace("target", atomic=True)
def do_change_role(target: Membership, role: str, *, actor: Membership | None = None, ip=None) -> Membership:
    """Change a member's role; refuses to leave the workspace without an active owner."""
    owners = _lock_owners(target.workspace_id)
    target = Membership.objects.select_for_update().get(pk=target.pk)
    if target.role == role:
        return target
    if target.role == Role.OWNER and owners == [target.pk]:
        raise ValidationError(_("The last owner cannot be demoted. Make someone else an owner first."))
    previous = target.role
    target.role = role
    target.save(update_fields=["role"])
    audit(
        target.workspace_id,
        "member.role_changed",
        actor=actor,
        object_type="membership",
        object_id=target.pk,
        data={"from": previous, "to": role},
        ip=ip,
    )
    _announce_membership_change(target, "role_changed")
    return target


def check_remove_member(actor: Membership, target: Membership, *, ip=None) -> Membership:
    if not target.is_active:
        raise ValidationError(_("This person is no longer a member of the workspace."))
    _require_may_manage(actor, target)
    return do_remove_member(target, actor=actor, ip=ip)


@in_workspace("target", atomic=True)
def do_remove_member(target: Membership, *, actor: Membership | None = None, ip=None) -> Membership:
    """Deactivate a membership (history keeps pointing at it) and drop its team memberships."""
    owners = _lock_owners(target.workspace_id)
    target = Membership.objects.select_for_update().get(pk=target.pk)
    if not target.is_active:
        return target
    if target.role == Role.OWNER and owners == [target.pk]:
        raise ValidationError(_("The last owner cannot be removed. Make someone else an owner first."))
    target.is_active = False
    target.save(update_fields=["is_active"])
    TeamMember.objects.filter(workspace_id=target.workspace_id, membership=target).delete()
    audit(
        target.workspace_id,
        "member.removed",
        actor=actor,
        object_type="membership",
        object_id=target.pk,
        data={"role": target.role},
        ip=ip,
    )
    _announce_membership_change(target, "removed")
    return target


# --- teams ----------------------------------------------------------------------------------------
def _team_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the team a name."))
    return name


def check_create_team(actor: Membership, name: str, *, ip=None) -> Team:
    require_admin(actor)
    return do_create_team(actor.workspace, _team_name(name), actor=actor, ip=ip)


@in_workspace("workspace")
def do_create_team(workspace: Workspace, name: str, *, actor: Membership | None = None, ip=None) -> Team:
    try:
        with transaction.atomic():
            team = Team.objects.create(workspace=workspace, name=name)
            audit(workspace.pk, "team.created", actor=actor, object_type="team", object_id=team.pk, ip=ip)
    except IntegrityError as exc:
        raise ValidationError(_("A team with this name already exists. Choose another name.")) from exc
    return team


def check_rename_team(actor: Membership, team: Team, name: str, *, ip=None) -> Team:
    require_admin(actor)
    return do_rename_team(team, _team_name(name), actor=actor, ip=ip)


@in_workspace("team")
def do_rename_team(team: Team, name: str, *, actor: Membership | None = None, ip=None) -> Team:
    if team.name == name:
        return team
    try:
        with transaction.atomic():
            team.name = name
            team.save(update_fields=["name"])
            audit(
                team.workspace_id, "team.renamed", actor=actor, object_type="team", object_id=team.pk, ip=ip
            )
    except IntegrityError as exc:
        raise ValidationError(_("A team with this name already exists. Choose another name.")) from exc
    return team


def check_delete_team(actor: Membership, team: Team, *, ip=None) -> None:
    require_admin(actor)
    do_delete_team(team, actor=actor, ip=ip)


@in_workspace("team", atomic=True)
def do_delete_team(team: Team, *, actor: Membership | None = None, ip=None) -> None:
    audit(team.workspace_id, "team.deleted", actor=actor, object_type="team", object_id=team.pk, ip=ip)
    team.delete()


def check_add_team_member(actor: Membership, team: Team, member: Membership, *, ip=None) -> TeamMember:
    require_admin(actor)
    if member.workspace_id != team.workspace_id or not member.is_active:
        raise ValidationError(_("Only active members of this workspace can join its teams."))
    return do_add_team_member(team, member, actor=actor, ip=ip)


@in_workspace("team", atomic=True)
def do_add_team_member(
    team: Team, member: Membership, *, actor: Membership | None = None, ip=None
) -> TeamMember:
    link, created = TeamMember.objects.get_or_create(
        workspace_id=team.workspace_id, team=team, membership=member
    )
    if created:
        audit(
            team.workspace_id,
            "team.member_added",
            actor=actor,
            object_type="team",
            object_id=team.pk,
            data={"membership": str(member.pk)},
            ip=ip,
        )
    return link


def check_remove_team_member(actor: Membership, team: Team, member: Membership, *, ip=None) -> None:
    require_admin(actor)
    do_remove_team_member(team, member, actor=actor, ip=ip)


@in_workspace("team", atomic=True)
def do_remove_team_member(
    team: Team, member: Membership, *, actor: Membership | None = None, ip=None
) -> None:
    deleted, _rows = TeamMember.objects.filter(
        workspace_id=team.workspace_id, team=team, membership=member
    ).delete()
    if deleted:
        audit(
            team.workspace_id,
            "team.member_removed",
            actor=actor,
            object_type="team",
            object_id=team.pk,
            data={"membership": str(member.pk)},
            ip=ip,
        )
