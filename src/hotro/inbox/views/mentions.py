"""``@mention`` suggestions for the note box: active members whose name or handle starts with what
was typed.  Only display names and handles are returned (never e-mail addresses or roles)."""

from __future__ import annotations

import re

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from hotro.privacy.blind import fold
from hotro.tenancy.middleware import member_required
from hotro.tenancy.models import Membership

HANDLE = re.compile(r"^[\w.\-]*\w$", re.UNICODE)  # what ``conversations.actions.reply.MENTION`` finds
MAX_RESULTS = 8
MAX_QUERY = 60


def member_handle(member: Membership) -> str:
    """The handle that mentions ``member`` in a note (the same names ``find_mentions`` accepts)."""
    candidates = []
    if member.display_name:
        candidates.append(member.display_name.replace(" ", ""))
    candidates.append(member.user.email.split("@")[0])
    candidates.append(member.user.username)
    for handle in candidates:
        if handle and HANDLE.match(handle):
            return handle
    return ""


def _folded(value: str) -> str:
    return fold(value or "").lower()


def matches(query: str, name: str, handle: str) -> bool:
    if not query:
        return True
    words = [_folded(handle), _folded(name).replace(" ", "")] + _folded(name).split()
    return any(word.startswith(query) for word in words if word)


@member_required()
@require_GET
def mention_suggestions(request, slug):
    query = _folded(request.GET.get("q", "")[:MAX_QUERY].lstrip("@").strip())
    results = []
    members = (
        Membership.objects.filter(workspace_id=request.workspace.pk, is_active=True)
        .select_related("user")
        .order_by("display_name", "user__username")
    )
    for member in members:
        handle = member_handle(member)
        name = member.display_name or handle
        if handle and matches(query, name, handle):
            results.append({"handle": handle, "name": name})
            if len(results) >= MAX_RESULTS:
                break
    response = JsonResponse({"results": results})
    response["Cache-Control"] = "private, no-store"
    return response
