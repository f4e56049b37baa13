"""Helpers shared by the inbox views: htmx detection, page context, refusals as sentences."""

from __future__ import annotations

from django.urls import reverse

from hotro.realtime.events import latest_event_id  # noqa: F401  (the pages' starting point for replay)

from ..listing import Filters, count_views, fetch_page


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def list_context(request, filters: Filters | None = None, cursor: str = "") -> dict:
    """Everything the list column shows: counts, filter options, a page of rows."""
    from hotro.connectors.models import Inbox
    from hotro.conversations.models import Tag
    from hotro.tenancy.models import Membership, Team

    member = request.member
    filters = filters or Filters.from_query(request.GET)
    workspace_id = member.workspace_id
    page = fetch_page(member, filters, cursor)
    return {
        "filters": filters,
        "qs": filters.querystring(),
        "counts": count_views(member),
        "page": page,
        "inboxes": list(Inbox.objects.filter(workspace_id=workspace_id).order_by("name")),
        "teams": list(Team.objects.filter(workspace_id=workspace_id).order_by("name")),
        "agents": list(
            Membership.objects.filter(workspace_id=workspace_id, is_active=True)
            .exclude(role="viewer")
            .select_related("user")
            .order_by("display_name", "user__email")
        ),
        "tags": list(Tag.objects.filter(workspace_id=workspace_id).order_by("name")),
        "rows_url": reverse("inbox_rows", kwargs={"slug": member.workspace.slug}),
        "counts_url": reverse("inbox_counts", kwargs={"slug": member.workspace.slug}),
    }


def conversation_url(slug: str, number: int, qs: str = "") -> str:
    url = reverse("inbox_conversation", kwargs={"slug": slug, "number": number})
    return f"{url}?{qs}" if qs else url
