"""Triage: assign, status, snooze, priority, tags, merge, move.  Each change is in the history."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.privacy.rls import in_workspace
from hotro.tenancy.access import require_writer
from hotro.tenancy.models import Membership

from ..models import Conversation, ConversationTag, Message, Priority, Status, Tag
from . import history


def _same_workspace(conversation, *objs) -> None:
    for obj in objs:
        if obj is not None and obj.workspace_id != conversation.workspace_id:
            raise ValidationError(_("That belongs to another workspace."))


def check_assign(member: Membership, conversation: Conversation, *, assignee=None, team=None, set_team=False):
    require_writer(member)
    _same_workspace(conversation, assignee, team)
    if assignee is not None and (not assignee.is_active or not assignee.can_write):
        raise ValidationError(_("Conversations can only be assigned to active agents."))
    return do_assign(member, conversation, assignee=assignee, team=team, set_team=set_team)


@in_workspace("conversation", atomic=True)
def do_assign(actor, conversation: Conversation, *, assignee=None, team=None, set_team=False) -> Conversation:
    fields = []
    if conversation.assignee_id != (assignee.pk if assignee else None):
        conversation.assignee = assignee
        fields.append("assignee")
        history.record(
            conversation, "assigned", actor=actor, assignee_id=str(assignee.pk) if assignee else None
        )
    if set_team and conversation.team_id != (team.pk if team else None):
        conversation.team = team
        fields.append("team")
        history.record(conversation, "team_assigned", actor=actor, team_id=str(team.pk) if team else None)
    if fields:
        conversation.save(update_fields=fields)
    return conversation


def check_change_status(member: Membership, conversation: Conversation, status: str, *, snooze_until=None):
    require_writer(member)
    if status not in Status.values:
        raise ValidationError(_("Unknown status."))
    if status == Status.SNOOZED:
        if snooze_until is None or snooze_until <= timezone.now():
            raise ValidationError(_("Choose a time in the future to snooze until."))
    return do_change_status(member, conversation, status, snooze_until=snooze_until)


@in_workspace("conversation", atomic=True)
def do_change_status(actor, conversation: Conversation, status: str, *, snooze_until: datetime | None = None):
    previous = conversation.status
    if previous == status and (status != Status.SNOOZED or conversation.snoozed_until == snooze_until):
        return conversation
    now = timezone.now()
    conversation.status = status
    conversation.snoozed_until = snooze_until if status == Status.SNOOZED else None
    conversation.resolved_at = now if status == Status.RESOLVED else None
    conversation.save(update_fields=["status", "snoozed_until", "resolved_at"])
    data = {"previous": previous, "status": status}
    if snooze_until:
        data["snoozed_until"] = snooze_until.isoformat()
    history.record(conversation, "status_changed", actor=actor, **data)
    return conversation


def check_set_priority(member: Membership, conversation: Conversation, priority: str):
    require_writer(member)
    if priority not in Priority.values:
        raise ValidationError(_("Unknown priority."))
    return do_set_priority(member, conversation, priority)


@in_workspace("conversation", atomic=True)
def do_set_priority(actor, conversation: Conversation, priority: str):
    if conversation.priority != priority:
        previous, conversation.priority = conversation.priority, priority
        conversation.save(update_fields=["priority"])
        history.record(conversation, "priority_changed", actor=actor, previous=previous, priority=priority)
    return conversation


def normalize_tag(name: str) -> str:
    name = " ".join((name or "").strip().lower().split())
    if not name or len(name) > 64:
        raise ValidationError(_("A tag has 1 to 64 characters."))
    return name


def check_set_tags(member: Membership, conversation: Conversation, names: list[str]):
    require_writer(member)
    return do_set_tags(member, conversation, sorted({normalize_tag(n) for n in names}))


@in_workspace("conversation", atomic=True)
def do_set_tags(actor, conversation: Conversation, names: list[str]):
    current = dict(ConversationTag.objects.filter(conversation=conversation).values_list("tag__name", "id"))
    added = [n for n in names if n not in current]
    removed = [n for n in current if n not in names]
    for name in added:
        tag, _created = Tag.objects.get_or_create(workspace_id=conversation.workspace_id, name=name)
        ConversationTag.objects.create(
            workspace_id=conversation.workspace_id, conversation=conversation, tag=tag
        )
    if removed:
        ConversationTag.objects.filter(pk__in=[current[n] for n in removed]).delete()
    if added or removed:
        history.record(conversation, "tagged", actor=actor, added=added, removed=removed)
    return conversation


def check_merge(member: Membership, source: Conversation, target: Conversation):
    require_writer(member)
    _same_workspace(source, target)
    if source.pk == target.pk:
        raise ValidationError(_("A conversation cannot be merged into itself."))
    if source.contact_id != target.contact_id:
        # Replies go to the conversation's customer: merging two customers' threads would show and
        # send one customer's messages to the other.
        raise ValidationError(_("Only conversations of the same customer can be merged."))
    return do_merge(member, source, target)


@in_workspace("source", atomic=True)
def do_merge(actor, source: Conversation, target: Conversation) -> Conversation:
    """Move every message of ``source`` into ``target``; ``source`` is resolved and points at target.

    Both rows are locked (in primary-key order, so concurrent merges cannot deadlock) and re-read, so
    two merges racing in opposite directions cannot create a cycle.
    """
    locked = {
        c.pk: c
        for c in Conversation.objects.select_for_update()
        .filter(pk__in=sorted([source.pk, target.pk]))
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id or target.merged_into_id:
        raise ValidationError(_("That conversation was already merged."))
    moved = Message.objects.filter(conversation=source).update(conversation=target)
    for tag_id in ConversationTag.objects.filter(conversation=source).values_list("tag_id", flat=True):
        ConversationTag.objects.get_or_create(
            workspace_id=target.workspace_id, conversation=target, tag_id=tag_id
        )
    source.merged_into = target
    source.status, source.resolved_at = Status.RESOLVED, timezone.now()
    source.save(update_fields=["merged_into", "status", "resolved_at"])
    target.last_activity_at = max(target.last_activity_at, source.last_activity_at)
    target.save(update_fields=["last_activity_at"])
    history.record(source, "merged", actor=actor, into_id=str(target.pk), into_number=target.number)
    history.record(
        target, "merged_from", actor=actor, from_id=str(source.pk), from_number=source.number, messages=moved
    )
    return target


def check_move(member: Membership, conversation: Conversation, inbox):
    require_writer(member)
    _same_workspace(conversation, inbox)
    if inbox.connector != conversation.inbox.connector:
        raise ValidationError(_("A conversation can only move to an inbox of the same channel."))
    return do_move(member, conversation, inbox)


@in_workspace("conversation", atomic=True)
def do_move(actor, conversation: Conversation, inbox) -> Conversation:
    if conversation.inbox_id != inbox.pk:
        previous = conversation.inbox_id
        conversation.inbox = inbox
        conversation.save(update_fields=["inbox"])
        history.record(conversation, "moved", actor=actor, previous_inbox_id=str(previous))
    return conversation


def do_wake_snoozed(now=None) -> int:
    """Reopen snoozed conversations whose time has come (periodic task, across workspaces)."""
    from hotro.privacy.rls import system_scope, tenant_scope

    now = now or timezone.now()
    with system_scope():
        due = list(
            Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=now).values_list(
                "workspace_id", "pk"
            )
        )
    count = 0
    for workspace_id, pk in due:
        with tenant_scope(workspace_id):
            conversation = Conversation.objects.select_for_update().get(pk=pk)
            if conversation.status == Status.SNOOZED and conversation.snoozed_until <= now:
                do_change_status(None, conversation, Status.OPEN)
                count += 1
    return count
