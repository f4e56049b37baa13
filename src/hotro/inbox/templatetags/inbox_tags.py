"""Template helpers of the agent inbox."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def short_time(value) -> str:
    """A compact time in the active (workspace) zone: 14:05 today, 03/05 this year, 03/05/2024 before."""
    if not value:
        return ""
    local = timezone.localtime(value)
    today = timezone.localdate()
    if local.date() == today:
        return format_date(local, "H:i")
    if local.year == today.year:
        return format_date(local, "d/m")
    return format_date(local, "d/m/Y")


@register.filter
def sanitized_html(value) -> str:
    """A message's HTML cleaned again at render (nh3, the same rules as on receive), safe to show.

    Stored HTML is sanitized on write; this second pass means a row written any other way (an
    import, a migration, a bug) still cannot put a script in an agent's page.
    """
    from hotro.conversations.actions.receive import sanitize_html

    return mark_safe(sanitize_html(str(value))) if value else ""  # noqa: S308 - nh3 output


@register.filter
def member_name(member) -> str:
    """A staff member's display name (or e-mail); '' for none."""
    if member is None:
        return ""
    return member.display_name or member.user.email or member.user.get_username()


@register.filter
def file_size(value) -> str:
    size = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@register.simple_tag
def status_label(status: str) -> str:
    labels = {
        "open": _("Open"),
        "pending": _("Pending"),
        "snoozed": _("Snoozed"),
        "resolved": _("Resolved"),
        "queued": _("Sending…"),
        "sent": _("Sent"),
        "delivered": _("Delivered"),
        "read": _("Read"),
        "failed": _("Not delivered"),
        "received": _("Received"),
    }
    return labels.get(status, status)


@register.simple_tag(takes_context=True)
def nav_context(context) -> dict:
    """The workspace and member the page is about, for the top bar (set by ``member_required`` or
    passed as ``workspace`` / ``member`` by pages of other areas)."""
    from hotro.tenancy.models import Membership, Workspace

    request = context.get("request")
    workspace = getattr(request, "workspace", None) or context.get("workspace")
    member = getattr(request, "member", None) or context.get("member")
    if not isinstance(workspace, Workspace):
        workspace = None
    if not isinstance(member, Membership) or workspace is None or member.workspace_id != workspace.pk:
        member = None
    return {"ws": workspace, "member": member, "has_comments": _has_comments_inbox(workspace, member)}


def _has_comments_inbox(workspace, member) -> bool:
    """Whether admins get the comments moderation link (a workspace with a comments inbox)."""
    if member is None or not member.is_admin:
        return False
    from hotro.connectors.models import Inbox
    from hotro.privacy.rls import current_scope, tenant_scope

    query = Inbox.objects.filter(workspace_id=workspace.pk, connector="comments")
    if current_scope() == ("tenant", str(workspace.pk)):
        return query.exists()
    with tenant_scope(workspace.pk):  # pages of other areas may render outside the workspace's scope
        return query.exists()
