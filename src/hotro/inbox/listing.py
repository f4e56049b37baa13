"""The conversation list: filters, per-view counts, keyset pagination, rows with a fixed query count.

Queries for one page, whatever its size: the counts (one aggregate), the page of conversations (with
contact, inbox, assignee and team joined), their tags (one prefetch) and their last messages (one
query on the ids picked by a correlated subquery of the page query).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery

from hotro.conversations import keyset
from hotro.conversations.models import Conversation, Direction, Message, Status, Tag
from hotro.privacy.masking import visible_contact_fields
from hotro.privacy.rls import in_workspace

PAGE_SIZE = 25
SNIPPET_CHARS = 120
STATUS_FILTERS = ("open", "pending", "snoozed", "resolved", "all")
ASSIGNEE_FILTERS = ("mine", "unassigned", "anyone")

# The views shown with counts: name -> (status, assignee)
VIEWS = {
    "mine": ("open", "mine"),
    "unassigned": ("open", "unassigned"),
    "open": ("open", "anyone"),
    "pending": ("pending", "anyone"),
    "snoozed": ("snoozed", "anyone"),
    "resolved": ("resolved", "anyone"),
}


def _uuid_or_blank(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return ""


@dataclass
class Filters:
    """The list's filters, parsed leniently from a query string (unknown values fall back)."""

    status: str = "open"
    assignee: str = "anyone"  # mine | unassigned | anyone | <membership uuid>
    inbox: str = ""
    team: str = ""
    tag: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, params) -> Filters:
        status = params.get("status", "open")
        assignee = params.get("assignee", "anyone")
        if assignee not in ASSIGNEE_FILTERS:
            assignee = _uuid_or_blank(assignee) or "anyone"
        return cls(
            status=status if status in STATUS_FILTERS else "open",
            assignee=assignee,
            inbox=_uuid_or_blank(params.get("inbox", "")),
            team=_uuid_or_blank(params.get("team", "")),
            tag=(params.get("tag") or "").strip()[:64],
            q=(params.get("q") or "").strip()[:200],
        )

    def as_params(self) -> dict:
        params = {
            "status": self.status,
            "assignee": self.assignee,
            "inbox": self.inbox,
            "team": self.team,
            "tag": self.tag,
            "q": self.q,
        }
        return {
            k: v
            for k, v in params.items()
            if v and not (k == "status" and v == "open") and not (k == "assignee" and v == "anyone")
        }

    def querystring(self, **overrides) -> str:
        params = {**self.as_params(), **overrides}
        params = {k: v for k, v in params.items() if v}
        return urlencode(params)

    @property
    def view(self) -> str:
        """The counted view these filters match exactly, or ''."""
        if self.inbox or self.team or self.tag or self.q:
            return ""
        for name, (status, assignee) in VIEWS.items():
            if (self.status, self.assignee) == (status, assignee):
                return name
        return ""


def base_queryset(member):
    """Conversations of the member's workspace that are shown in lists (merged ones are not)."""
    return Conversation.objects.filter(workspace_id=member.workspace_id, merged_into__isnull=True)


def apply_filters(member, qs, filters: Filters):
    if filters.status != "all":
        qs = qs.filter(status=filters.status)
    if filters.assignee == "mine":
        qs = qs.filter(assignee_id=member.pk)
    elif filters.assignee == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee != "anyone":
        qs = qs.filter(assignee_id=filters.assignee)
    if filters.inbox:
        qs = qs.filter(inbox_id=filters.inbox)
    if filters.team:
        qs = qs.filter(team_id=filters.team)
    if filters.tag:
        qs = qs.filter(tags__name=filters.tag.lower())
    if filters.q:
        from hotro.privacy.search import search_conversations

        qs = search_conversations(member.workspace_id, filters.q, qs)
    return qs


@in_workspace("member")
def count_views(member) -> dict[str, int]:
    """The count of every view in ONE aggregate query."""
    open_ = Q(status=Status.OPEN)
    return base_queryset(member).aggregate(
        mine=Count("pk", filter=open_ & Q(assignee_id=member.pk)),
        unassigned=Count("pk", filter=open_ & Q(assignee__isnull=True)),
        open=Count("pk", filter=open_),
        pending=Count("pk", filter=Q(status=Status.PENDING)),
        snoozed=Count("pk", filter=Q(status=Status.SNOOZED)),
        resolved=Count("pk", filter=Q(status=Status.RESOLVED)),
    )


# --- keyset pagination over (last_activity_at, id), newest first ----------------------------------
ORDER_FIELDS = ("last_activity_at", "pk")
CURSOR_TYPES = (datetime, uuid.UUID)


def encode_cursor(conversation: Conversation) -> str:
    return keyset.cursor_for(conversation, ORDER_FIELDS)


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    """The position in ``cursor``, or None (start at the top) if it is missing or not valid."""
    if not cursor:
        return None
    try:
        at, pk = keyset.decode_cursor(cursor, types=CURSOR_TYPES)
    except keyset.InvalidCursor:
        return None
    return at, pk


@dataclass
class Row:
    conversation: Conversation
    contact_name: str
    snippet: str
    snippet_direction: str
    tags: list = field(default_factory=list)


@dataclass
class Page:
    rows: list[Row]
    next_cursor: str


def _last_message_id():
    return Subquery(
        Message.objects.filter(conversation_id=OuterRef("pk"))
        .exclude(direction=Direction.NOTE)
        .order_by("-created_at", "-id")
        .values("id")[:1]
    )


def contact_label(member, contact) -> str:
    """The contact's name as the member may see it (masked for viewers); falls back to e-mail/phone."""
    fields = visible_contact_fields(member, contact)
    return fields["name"] or fields["email"] or fields["phone"] or ""


def snippet_of(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


@in_workspace("member")
def fetch_page(member, filters: Filters, cursor: str = "", page_size: int = PAGE_SIZE) -> Page:
    qs = apply_filters(member, base_queryset(member), filters)
    position = decode_cursor(cursor)
    if position is not None:
        qs = qs.filter(keyset.after(ORDER_FIELDS, position, descending=True))
    qs = (
        qs.select_related("contact", "inbox", "assignee__user", "team")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .annotate(last_message_id=_last_message_id())
        .order_by(*(f"-{f}" for f in ORDER_FIELDS))
    )
    conversations = list(qs[: page_size + 1])
    more = len(conversations) > page_size
    conversations = conversations[:page_size]
    message_ids = [c.last_message_id for c in conversations if c.last_message_id]
    messages = (
        {
            m.pk: m
            for m in Message.objects.filter(workspace_id=member.workspace_id, pk__in=message_ids).only(
                "id", "workspace", "conversation", "direction", "text"
            )
        }
        if message_ids
        else {}
    )
    rows = []
    for conversation in conversations:
        message = messages.get(conversation.last_message_id)
        rows.append(
            Row(
                conversation=conversation,
                contact_name=contact_label(member, conversation.contact),
                snippet=snippet_of(message.text) if message else "",
                snippet_direction=message.direction if message else "",
                tags=list(conversation.tags.all()),
            )
        )
    return Page(rows=rows, next_cursor=encode_cursor(conversations[-1]) if more else "")
