"""What the conversation page shows: the thread, the contact card, the history in sentences."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from hotro.connectors.models import Delivery
from hotro.conversations.models import Attachment, Conversation, ConversationEvent, Message, Status
from hotro.privacy import masking
from hotro.tenancy.models import Membership, Team

THREAD_LIMIT = 200
OTHER_CONVERSATIONS = 10
HISTORY_LIMIT = 100


def thread_messages(conversation: Conversation, limit: int = THREAD_LIMIT) -> tuple[list[Message], bool]:
    """The newest ``limit`` messages in order (oldest first) and whether older ones exist."""
    qs = (
        Message.objects.filter(workspace_id=conversation.workspace_id, conversation=conversation)
        .select_related("author__user")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at")),
            Prefetch("deliveries", queryset=Delivery.objects.order_by("-created_at")),
        )
        .order_by("-created_at", "-id")
    )
    newest = list(qs[: limit + 1])
    older = len(newest) > limit
    return list(reversed(newest[:limit])), older


def mask_address(value: str) -> str:
    if not value:
        return ""
    if "@" in value:
        return masking.mask_email(value)
    digits = sum(ch.isdigit() for ch in value)
    if digits >= max(6, len(value.strip()) - 3):
        return masking.mask_phone(value)
    return masking.mask_text(value)


@dataclass
class ContactCard:
    contact: object
    fields: dict
    identities: list[dict]
    others: list[Conversation]
    masked: bool
    revealed: bool = False


def contact_card(member: Membership, conversation: Conversation, revealed: bool = False) -> ContactCard:
    contact = conversation.contact
    fields = masking.visible_contact_fields(member, contact, revealed=revealed)
    masked = fields.pop("masked")
    identities = []
    for identity in contact.identities.order_by("created_at"):
        address, name = identity.address or "", identity.display_name or ""
        identities.append(
            {
                "channel": identity.channel,
                "address": mask_address(address) if masked else address,
                "name": masking.mask_name(name) if masked else name,
                "status": identity.get_status_display(),
                "verified": identity.is_verified,
            }
        )
    others = list(
        Conversation.objects.filter(
            workspace_id=member.workspace_id, contact=contact, merged_into__isnull=True
        )
        .exclude(pk=conversation.pk)
        .select_related("inbox")
        .order_by("-last_activity_at")[:OTHER_CONVERSATIONS]
    )
    return ContactCard(
        contact=contact, fields=fields, identities=identities, others=others, masked=masked, revealed=revealed
    )


def _status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value or ""


def describe(event: ConversationEvent, names: dict, teams: dict, new_status: str = "") -> str:
    """One history entry as a sentence (no personal data: ids are turned into staff/team names)."""
    data = event.data or {}
    kind = event.kind
    if kind == "created":
        return _("Conversation started")
    if kind == "assigned":
        who = names.get(data.get("assignee_id"))
        if data.get("assignee_id") is None:
            return _("Unassigned")
        if data.get("reason") == "replied":
            return _("Assigned to %(name)s (replied first)") % {"name": who or _("a former member")}
        return _("Assigned to %(name)s") % {"name": who or _("a former member")}
    if kind == "team_assigned":
        team = teams.get(data.get("team_id"))
        return _("Team set to %(team)s") % {"team": team} if team else _("Team removed")
    if kind == "status_changed":
        if data.get("snoozed_until"):
            return _("Snoozed")
        status = _status_label(data.get("status") or new_status)
        if not status:
            return _("Status changed")
        return _("Status changed from %(old)s to %(new)s") % {
            "old": _status_label(data.get("previous", "")),
            "new": status,
        }
    if kind == "reopened":
        return _("Reopened because the customer wrote again")
    if kind == "priority_changed":
        return _("Priority set to %(p)s") % {"p": data.get("priority", "")}
    if kind == "tagged":
        parts = []
        if data.get("added"):
            parts.append(_("tags added: %(t)s") % {"t": ", ".join(data["added"])})
        if data.get("removed"):
            parts.append(_("tags removed: %(t)s") % {"t": ", ".join(data["removed"])})
        return "; ".join(parts).capitalize() or _("Tags changed")
    if kind == "merged":
        return _("Merged into #%(n)s") % {"n": data.get("into_number", "?")}
    if kind == "merged_from":
        return _("#%(n)s was merged into this conversation") % {"n": data.get("from_number", "?")}
    if kind == "moved":
        return _("Moved to another inbox")
    if kind == "replied":
        return _("Replied to the customer")
    if kind == "noted":
        mentioned = [names.get(i) or _("a former member") for i in data.get("mentioned_ids", [])]
        if mentioned:
            return _("Internal note, mentioning %(names)s") % {"names": ", ".join(mentioned)}
        return _("Internal note added")
    return _describe_channel_event(kind, data)


def _describe_channel_event(kind: str, data: dict) -> str:
    """History entries recorded by channels (e-mail, live chat)."""
    if kind == "follows_up":
        return _("Follows up on #%(n)s (resolved earlier)") % {"n": data.get("previous_number", "?")}
    if kind == "livechat_offline":
        return _("Left through the offline form: replies continue by e-mail")
    if kind == "livechat_emailed":
        return _("Reply e-mailed to the visitor (not in the chat)")
    if kind == "csat_received":
        return _("Rated the chat %(n)s of 5") % {"n": data.get("rating", "?")}
    return kind.replace("_", " ").capitalize()


@dataclass
class HistoryEntry:
    at: object
    actor: str
    text: str


def history_entries(conversation: Conversation) -> list[HistoryEntry]:
    events = list(
        ConversationEvent.objects.filter(
            workspace_id=conversation.workspace_id, conversation=conversation
        ).order_by("-at")[:HISTORY_LIMIT]
    )
    members = {
        str(m.pk): (m.display_name or m.user.email)
        for m in Membership.objects.filter(workspace_id=conversation.workspace_id).select_related("user")
    }
    teams = {str(t.pk): t.name for t in Team.objects.filter(workspace_id=conversation.workspace_id)}
    new_statuses = _infer_new_statuses(events, conversation.status)
    return [
        HistoryEntry(
            at=e.at,
            actor=members.get(str(e.actor_id), _("a former member")) if e.actor_id else _("hotro"),
            text=describe(e, members, teams, new_statuses.get(e.pk, "")),
        )
        for e in events
    ]


def _infer_new_statuses(events_newest_first: list[ConversationEvent], current: str) -> dict:
    """A status change records the previous status; the new one is the next change's previous (or now)."""
    result, following = {}, current
    for event in events_newest_first:
        if event.kind in ("status_changed", "reopened"):
            result[event.pk] = following
            following = (event.data or {}).get("previous", "")
        elif event.kind == "merged":
            following = ""
    return result
