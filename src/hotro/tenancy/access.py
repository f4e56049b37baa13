"""``access_*`` helpers: fetch a tenant object *and* authorize the acting member in one call.

A bare ``Model.objects.get(pk=...)`` in a view is a bug: every lookup goes through these, so an id of
another workspace is indistinguishable from an id that does not exist (404, never 403).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from .models import Membership, Role, Workspace


class AccessDenied(PermissionDenied):
    """The member may see the object but not do this to it."""


def require_role(member: Membership, role: str) -> None:
    if not member.has_role(role):
        raise AccessDenied("Your role does not allow this. Ask an admin of the workspace.")


def require_writer(member: Membership) -> None:
    require_role(member, Role.AGENT)


def require_admin(member: Membership) -> None:
    require_role(member, Role.ADMIN)


def access_object(member: Membership, queryset, pk):
    """The object with ``pk`` in the member's workspace, or Http404."""
    try:
        return queryset.get(workspace_id=member.workspace_id, pk=pk)
    # an invalid UUID string raises ValidationError
    except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404("No such object in this workspace.") from exc


def _conversations(queryset):
    from hotro.conversations.models import Conversation

    if queryset is None:
        return Conversation.objects.select_related("inbox", "contact", "assignee")
    return queryset


def access_conversation(member: Membership, pk, queryset=None):
    """``queryset``: to load more (related rows) in the same query; the workspace filter still applies."""
    return access_object(member, _conversations(queryset), pk)


def access_conversation_by_number(member: Membership, number: int, queryset=None):
    queryset = _conversations(queryset)
    try:
        return queryset.get(workspace_id=member.workspace_id, number=number)
    except queryset.model.DoesNotExist as exc:
        raise Http404("No such conversation in this workspace.") from exc


def access_contact(member: Membership, pk):
    from hotro.contacts.models import Contact

    return access_object(member, Contact.objects.all(), pk)


def access_inbox(member: Membership, pk):
    from hotro.connectors.models import Inbox

    return access_object(member, Inbox.objects.all(), pk)


def access_membership(member: Membership, pk):
    return access_object(member, Membership.objects.select_related("user"), pk)


def access_team(member: Membership, pk):
    from .models import Team

    return access_object(member, Team.objects.all(), pk)


def workspace_by_slug(slug: str) -> Workspace | None:
    """An operator's lookup (command line): the workspace named ``slug``, across all workspaces."""
    from hotro.privacy.rls import system_scope

    with system_scope():
        return Workspace.objects.filter(slug=slug).first()


def all_workspaces() -> list[Workspace]:
    """Every workspace, oldest first (operator commands)."""
    from hotro.privacy.rls import system_scope

    with system_scope():
        return list(Workspace.objects.order_by("created_at", "slug"))
