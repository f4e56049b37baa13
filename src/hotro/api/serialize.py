"""Domain objects to API dicts (built inside the workspace scope, so nothing loads lazily later)."""

from __future__ import annotations


def member_name(member) -> str:
    return member.display_name or member.user.get_full_name() or member.user.get_username()


def member_ref(member) -> dict | None:
    return None if member is None else {"id": member.pk, "name": member_name(member)}


def member(m) -> dict:
    return {**member_ref(m), "role": m.role, "email": m.user.email, "is_active": m.is_active}


def _ref(obj) -> dict | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


def _receiving_address(i) -> str:
    return (i.settings or {}).get("receiving_address", "") if i.connector in {"email", "livechat"} else ""


def inbox(i) -> dict:
    return {
        "id": i.pk,
        "name": i.name,
        "channel": i.connector,
        "public_key": i.public_key,
        "is_active": i.is_active,
        "health": i.health,
        "last_success_at": i.last_success_at,
        "last_error_at": i.last_error_at,
        "last_error": i.last_error,
        "team": _ref(i.team),
        "created_at": i.created_at,
        "receiving_address": _receiving_address(i),
    }


def contact(c) -> dict:
    return {
        "id": c.pk,
        "name": c.name or "",
        "email": c.email or "",
        "phone": c.phone or "",
        "address": c.address or "",
        "attributes": c.attributes or {},
        "language": c.language,
        "is_verified": c.is_verified,
        "merged_into_id": c.merged_into_id,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def conversation(c) -> dict:
    return {
        "id": c.pk,
        "number": c.number,
        "subject": c.subject or "",
        "status": c.status,
        "priority": c.priority,
        "inbox": {"id": c.inbox.pk, "name": c.inbox.name, "channel": c.inbox.connector},
        "contact": {"id": c.contact.pk, "name": c.contact.name or ""},
        "assignee": member_ref(c.assignee),
        "team": _ref(c.team),
        "tags": sorted(t.name for t in c.tags.all()),
        "snoozed_until": c.snoozed_until,
        "first_response_at": c.first_response_at,
        "resolved_at": c.resolved_at,
        "last_activity_at": c.last_activity_at,
        "merged_into_id": c.merged_into_id,
        "created_at": c.created_at,
    }


def message(m) -> dict:
    return {
        "id": m.pk,
        "conversation_id": m.conversation_id,
        "direction": m.direction,
        "status": m.status,
        "text": m.text or "",
        "author": member_ref(m.author),
        "external_id": m.external_id,
        "attachments": [
            {"id": a.pk, "filename": a.filename or "", "content_type": a.content_type, "size": a.size}
            for a in m.attachments.all()
        ],
        "created_at": m.created_at,
    }
