"""Keyword and contact lookups for the API: ``hotro.privacy.search`` when present, else the same
blind-index queries done here (tokens and indexes only; matches confirmed by decrypting)."""

from __future__ import annotations

from hotro.contacts.models import Contact
from hotro.conversations.models import Message
from hotro.privacy import blind


def search_conversations(workspace_id, q: str, base_qs):
    try:
        from hotro.privacy.search import search_conversations as privacy_search
    except ImportError:
        privacy_search = None
    if privacy_search is not None:
        return privacy_search(workspace_id, q, base_qs)
    tokens = sorted({blind.token_index(workspace_id, w) for w in blind.words(q)})
    if not tokens:
        return base_qs
    matching = Message.objects.filter(workspace_id=workspace_id, search_tokens__contains_all=tokens).values(
        "conversation_id"
    )
    return base_qs.filter(pk__in=matching)


def find_contacts_by_email(workspace_id, email: str) -> list[Contact]:
    try:
        from hotro.privacy.search import find_contacts_by_email as privacy_find
    except ImportError:
        privacy_find = None
    if privacy_find is not None:
        return list(privacy_find(workspace_id, email))
    wanted = blind.normalize_email(email)
    if not wanted:
        return []
    candidates = Contact.objects.filter(
        workspace_id=workspace_id, email_bidx=blind.email_index(workspace_id, email)
    )
    return [
        c
        for c in candidates.order_by("created_at", "id")
        if c.email and blind.normalize_email(c.email) == wanted
    ]


def find_contacts_by_phone(workspace_id, phone: str) -> list[Contact]:
    try:
        from hotro.privacy.search import find_contacts_by_phone as privacy_find
    except ImportError:
        privacy_find = None
    if privacy_find is not None:
        return list(privacy_find(workspace_id, phone))
    wanted = blind.normalize_phone(phone)
    if wanted is None:
        return []
    candidates = Contact.objects.filter(
        workspace_id=workspace_id, phone_bidx=blind.phone_index(workspace_id, phone)
    )
    return [
        c
        for c in candidates.order_by("created_at", "id")
        if c.phone and blind.normalize_phone(c.phone) == wanted
    ]
