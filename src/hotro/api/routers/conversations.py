"""Conversations: list (filters, keyword search, keyset pages), read, messages, and every triage action."""

from uuid import UUID

from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from hotro.conversations import actions
from hotro.conversations.models import Conversation, Message
from hotro.privacy.search import search_conversations
from hotro.tenancy.access import (
    access_conversation,
    access_conversation_by_number,
    access_inbox,
    access_membership,
    access_team,
)

from .. import serialize
from ..auth import workspace_scoped
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate
from ..schemas import (
    ERRORS,
    AssignIn,
    ConversationOut,
    ConversationPage,
    MergeIn,
    MessageOut,
    MessagePage,
    MoveIn,
    PriorityIn,
    StatusIn,
    StatusName,
    TagsIn,
    TextIn,
)

router = Router(tags=["conversations"])


def conversation_queryset(workspace_id):
    return (
        Conversation.objects.filter(workspace_id=workspace_id)
        .select_related("inbox", "contact", "assignee__user", "team")
        .prefetch_related("tags")
    )


def find_conversation(member, ref: str) -> Conversation:
    """By id (uuid) or by number; 404 for anything not in the token's workspace."""
    qs = conversation_queryset(member.workspace_id)
    if ref.isdigit():
        return access_conversation_by_number(member, int(ref), queryset=qs)
    return access_conversation(member, ref, queryset=qs)


def reload(conversation) -> dict:
    return serialize.conversation(conversation_queryset(conversation.workspace_id).get(pk=conversation.pk))


class ConversationFilters(Schema):
    status: StatusName | None = None
    assignee: str | None = Field(default=None, description="'me', 'unassigned' or a member id.")
    inbox: UUID | None = None
    team: UUID | None = None
    tag: str | None = None
    q: str | None = Field(default=None, max_length=200, description="Keywords found in messages.")
    cursor: str | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


@router.get("", response={200: ConversationPage, **ERRORS}, summary="List conversations")
@workspace_scoped
def list_conversations(request, filters: Query[ConversationFilters]):
    member = request.auth.membership
    qs = conversation_queryset(member.workspace_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.assignee == "me":
        qs = qs.filter(assignee=member)
    elif filters.assignee == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        qs = qs.filter(assignee=access_membership(member, filters.assignee))
    if filters.inbox:
        qs = qs.filter(inbox=access_inbox(member, filters.inbox))
    if filters.team:
        qs = qs.filter(team=access_team(member, filters.team))
    if filters.tag:
        qs = qs.filter(tags__name=filters.tag.strip().lower())
    if filters.q and filters.q.strip():
        qs = search_conversations(member.workspace_id, filters.q, qs)
    rows, next_cursor = paginate(
        qs, fields=("last_activity_at", "id"), descending=True, cursor=filters.cursor, limit=filters.limit
    )
    return {"items": [serialize.conversation(c) for c in rows], "next_cursor": next_cursor}


@router.get("/{ref}", response={200: ConversationOut, **ERRORS}, summary="Get a conversation by id or number")
@workspace_scoped
def get_conversation(request, ref: str):
    return serialize.conversation(find_conversation(request.auth.membership, ref))


@router.get("/{ref}/messages", response={200: MessagePage, **ERRORS}, summary="Messages, oldest first")
@workspace_scoped
def list_messages(
    request, ref: str, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
):
    conversation = find_conversation(request.auth.membership, ref)
    qs = (
        Message.objects.filter(workspace_id=conversation.workspace_id, conversation=conversation)
        .select_related("author__user")
        .prefetch_related("attachments")
    )
    rows, next_cursor = paginate(
        qs, fields=("created_at", "id"), descending=False, cursor=cursor, limit=limit
    )
    return {"items": [serialize.message(m) for m in rows], "next_cursor": next_cursor}


@router.post("/{ref}/reply", response={201: MessageOut, **ERRORS}, summary="Reply to the customer")
@workspace_scoped
def reply(request, ref: str, payload: TextIn):
    member = request.auth.membership
    message = actions.check_send_reply(member, find_conversation(member, ref), payload.text)
    return Status(201, serialize.message(message))


@router.post("/{ref}/notes", response={201: MessageOut, **ERRORS}, summary="Add an internal note")
@workspace_scoped
def add_note(request, ref: str, payload: TextIn):
    member = request.auth.membership
    message = actions.check_add_note(member, find_conversation(member, ref), payload.text)
    return Status(201, serialize.message(message))


@router.post("/{ref}/assign", response={200: ConversationOut, **ERRORS}, summary="Assign to a member/team")
@workspace_scoped
def assign(request, ref: str, payload: AssignIn):
    member = request.auth.membership
    conversation = find_conversation(member, ref)
    assignee = access_membership(member, payload.assignee_id) if payload.assignee_id else None
    set_team = "team_id" in payload.model_fields_set
    team = access_team(member, payload.team_id) if payload.team_id else None
    actions.check_assign(member, conversation, assignee=assignee, team=team, set_team=set_team)
    return reload(conversation)


@router.post(
    "/{ref}/status", response={200: ConversationOut, **ERRORS}, summary="Open, pend, snooze, resolve"
)
@workspace_scoped
def change_status(request, ref: str, payload: StatusIn):
    member = request.auth.membership
    conversation = find_conversation(member, ref)
    actions.check_change_status(member, conversation, payload.status, snooze_until=payload.snooze_until)
    return reload(conversation)


@router.post("/{ref}/tags", response={200: ConversationOut, **ERRORS}, summary="Replace the tags")
@workspace_scoped
def set_tags(request, ref: str, payload: TagsIn):
    member = request.auth.membership
    conversation = find_conversation(member, ref)
    actions.check_set_tags(member, conversation, payload.tags)
    return reload(conversation)


@router.post("/{ref}/merge", response={200: ConversationOut, **ERRORS}, summary="Merge into another")
@workspace_scoped
def merge(request, ref: str, payload: MergeIn):
    member = request.auth.membership
    source = find_conversation(member, ref)
    target = access_conversation(member, payload.target_id)
    return reload(actions.check_merge(member, source, target))


@router.post("/{ref}/move", response={200: ConversationOut, **ERRORS}, summary="Move to another inbox")
@workspace_scoped
def move(request, ref: str, payload: MoveIn):
    member = request.auth.membership
    conversation = find_conversation(member, ref)
    actions.check_move(member, conversation, access_inbox(member, payload.inbox_id))
    return reload(conversation)


@router.patch("/{ref}/priority", response={200: ConversationOut, **ERRORS}, summary="Set the priority")
@workspace_scoped
def set_priority(request, ref: str, payload: PriorityIn):
    member = request.auth.membership
    conversation = find_conversation(member, ref)
    actions.check_set_priority(member, conversation, payload.priority)
    return reload(conversation)
