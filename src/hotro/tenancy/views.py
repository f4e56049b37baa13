"""Workspace settings pages under ``/settings/<slug>/`` (admins and owners).

Every object id in a URL is looked up through ``access_*`` in the caller's workspace, so another
workspace's ids answer 404.  Changes go through ``check_*`` actions; refusals show as messages
(``ValidationError``) or the friendly 403 page (``AccessDenied``).
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hotro.privacy.audit import client_ip

from . import actions, invitations
from .access import AccessDenied, access_membership, access_object, access_team
from .forms import InviteForm, RoleForm, TeamForm, TeamMemberForm, WorkspaceSettingsForm
from .middleware import forbidden, member_required
from .models import Invitation, Membership, Role, Team, TeamMember

admin_required = member_required(role=Role.ADMIN)


def refusals(view):
    """Show a refused action as a message (ValidationError) or the 403 page (AccessDenied)."""

    @wraps(view)
    def wrapped(request, slug, *args, **kwargs):
        try:
            return view(request, slug, *args, **kwargs)
        except AccessDenied as exc:
            return forbidden(request, str(exc) if exc.args else None)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            back = request.headers.get("referer", "")
            if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
                back = reverse("settings_members", kwargs={"slug": slug})
            return redirect(back)

    return wrapped


def _page(request, template: str, context: dict):
    return render(request, template, {"workspace": request.workspace, "member": request.member, **context})


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@admin_required
def settings_home(request, slug):
    return redirect("settings_workspace", slug=slug)


@admin_required
@refusals
def workspace_settings(request, slug):
    member, workspace = request.member, request.workspace
    is_owner = member.has_role(Role.OWNER)
    initial = {field: getattr(workspace, field) for field in actions.WORKSPACE_SETTINGS}
    form = WorkspaceSettingsForm(request.POST or None, initial=initial, can_change_mfa=is_owner)
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        if not is_owner:
            changes.pop("mfa_required")
        actions.check_update_workspace(member, ip=client_ip(request), **changes)
        messages.success(request, _("Workspace settings saved."))
        return redirect("settings_workspace", slug=slug)
    return _page(request, "tenancy/workspace.html", {"form": form, "section": "workspace"})


@admin_required
def members(request, slug):
    member = request.member
    is_owner = member.has_role(Role.OWNER)
    rows = Membership.objects.select_related("user").filter(workspace=request.workspace, is_active=True)
    pending = invitations.pending_invitations(request.workspace.pk).select_related("invited_by__user")
    roles = Role.choices if is_owner else [c for c in Role.choices if c[0] != Role.OWNER]
    return _page(
        request,
        "tenancy/members.html",
        {
            "members": rows.order_by("created_at"),
            "invitations": pending.order_by("-created_at"),
            "invite_form": InviteForm(can_invite_owner=is_owner),
            "roles": roles,
            "is_owner": is_owner,
            "section": "members",
        },
    )


@require_POST
@admin_required
@refusals
def member_role(request, slug, member_id):
    target = access_membership(request.member, member_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        actions.check_change_role(request.member, target, form.cleaned_data["role"], ip=client_ip(request))
        messages.success(request, _("Role changed."))
    else:
        _form_errors(request, form)
    return redirect("settings_members", slug=slug)


@require_POST
@admin_required
@refusals
def member_remove(request, slug, member_id):
    target = access_membership(request.member, member_id)
    actions.check_remove_member(request.member, target, ip=client_ip(request))
    messages.success(request, _("Member removed."))
    if target.pk == request.member.pk:
        return redirect("/")
    return redirect("settings_members", slug=slug)


@require_POST
@admin_required
@refusals
def invitation_create(request, slug):
    form = InviteForm(request.POST, can_invite_owner=request.member.has_role(Role.OWNER))
    if form.is_valid():
        invitations.check_invite(
            request.member, form.cleaned_data["email"], form.cleaned_data["role"], ip=client_ip(request)
        )
        messages.success(request, _("Invitation sent. The link works for 7 days."))
    else:
        _form_errors(request, form)
    return redirect("settings_members", slug=slug)


@require_POST
@admin_required
@refusals
def invitation_resend(request, slug, invitation_id):
    invitation = access_object(request.member, Invitation.objects.all(), invitation_id)
    invitations.check_resend_invitation(request.member, invitation, ip=client_ip(request))
    messages.success(request, _("Invitation sent again. The earlier link no longer works."))
    return redirect("settings_members", slug=slug)


@require_POST
@admin_required
@refusals
def invitation_revoke(request, slug, invitation_id):
    invitation = access_object(request.member, Invitation.objects.all(), invitation_id)
    invitations.check_revoke_invitation(request.member, invitation, ip=client_ip(request))
    messages.success(request, _("Invitation revoked."))
    return redirect("settings_members", slug=slug)


@admin_required
@refusals
def teams(request, slug):
    form = TeamForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            team = actions.check_create_team(request.member, form.cleaned_data["name"], ip=client_ip(request))
            messages.success(request, _("Team created."))
            return redirect("settings_team", slug=slug, team_id=team.pk)
        _form_errors(request, form)
    rows = Team.objects.filter(workspace=request.workspace).prefetch_related("members__user").order_by("name")
    return _page(request, "tenancy/teams.html", {"teams": rows, "form": form, "section": "teams"})


@admin_required
@refusals
def team_detail(request, slug, team_id):
    team = access_team(request.member, team_id)
    form = TeamForm(request.POST or None, initial={"name": team.name})
    if request.method == "POST":
        if form.is_valid():
            actions.check_rename_team(request.member, team, form.cleaned_data["name"], ip=client_ip(request))
            messages.success(request, _("Team renamed."))
            return redirect("settings_team", slug=slug, team_id=team.pk)
        _form_errors(request, form)
    links = TeamMember.objects.filter(workspace=request.workspace, team=team).select_related(
        "membership__user"
    )
    in_team = [link.membership for link in links if link.membership.is_active]
    add_form = TeamMemberForm(workspace=request.workspace, exclude=[m.pk for m in in_team])
    return _page(
        request,
        "tenancy/team_detail.html",
        {"team": team, "form": form, "team_members": in_team, "add_form": add_form, "section": "teams"},
    )


@require_POST
@admin_required
@refusals
def team_delete(request, slug, team_id):
    team = access_team(request.member, team_id)
    actions.check_delete_team(request.member, team, ip=client_ip(request))
    messages.success(request, _("Team deleted."))
    return redirect("settings_teams", slug=slug)


@require_POST
@admin_required
@refusals
def team_member_add(request, slug, team_id):
    team = access_team(request.member, team_id)
    target = access_membership(request.member, request.POST.get("membership", ""))
    actions.check_add_team_member(request.member, team, target, ip=client_ip(request))
    messages.success(request, _("Member added to the team."))
    return redirect("settings_team", slug=slug, team_id=team.pk)


@require_POST
@admin_required
@refusals
def team_member_remove(request, slug, team_id, member_id):
    team = access_team(request.member, team_id)
    target = access_membership(request.member, member_id)
    actions.check_remove_team_member(request.member, team, target, ip=client_ip(request))
    messages.success(request, _("Member removed from the team."))
    return redirect("settings_team", slug=slug, team_id=team.pk)
