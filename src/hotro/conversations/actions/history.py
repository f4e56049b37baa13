"""Recording a conversation's history and announcing changes to browsers (inside the action)."""

from __future__ import annotations

from django.utils import timezone

from hotro.privacy.rls import in_workspace
from hotro.realtime.events import send_event_on_commit

from ..models import Conversation, ConversationEvent


@in_workspace("conversation")
def record(conversation: Conversation, kind: str, actor=None, *, announce_it: bool = True, **data):
    """Append one history entry and (unless ``announce_it`` is false, for changes already announced
    as ``message.created``) emit ``conversation.<kind>`` after commit.

    ``data`` holds ids and states only, never personal data (the history table is not encrypted).
    """
    event = ConversationEvent.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        kind=kind,
        actor=actor,
        data=data,
        at=timezone.now(),
    )
    if announce_it:
        announce(conversation, f"conversation.{kind}", actor=actor, **data)
    return event


def announce(conversation: Conversation, event_type: str, actor=None, **data) -> None:
    send_event_on_commit(
        conversation.workspace_id,
        {
            "type": event_type,
            "conversation_id": str(conversation.pk),
            "number": conversation.number,
            "inbox_id": str(conversation.inbox_id),
            "status": conversation.status,
            "assignee_id": str(conversation.assignee_id) if conversation.assignee_id else None,
            "team_id": str(conversation.team_id) if conversation.team_id else None,
            "actor_id": str(actor.pk) if actor else None,
            **data,
        },
    )
