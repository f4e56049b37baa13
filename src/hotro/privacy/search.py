"""Searching encrypted data: keyword search over messages and contact lookups, all by blind index.

Nothing here queries plaintext.  Each search narrows candidates with blind indexes in the database,
then (for the rows actually shown) confirms them by decrypting, which removes the rare chance
matches of truncated HMACs (see ``privacy.blind``).

Message indexing: ``index_message(message)`` fills ``message.search_tokens`` from its text before
it is saved; ``do_receive_message`` / ``do_send_reply`` call it (or ``blind.search_tokens`` directly).
Diacritics and case are folded on both sides, so "hoàn tiền" finds "hoan tien" and back.
"""

from __future__ import annotations

import html as html_lib

import nh3
from django.db.models import Exists, OuterRef, QuerySet

from . import blind
from .rls import in_workspace

MAX_QUERY_WORDS = 16


# --- messages ---------------------------------------------------------------------------------------
def message_text(message) -> str:
    """The searchable text of a message: its plain text, else its HTML without tags."""
    if message.text:
        return message.text
    if message.html:
        return html_lib.unescape(nh3.clean(message.html, tags=set()))
    return ""


def index_message(message, extra: str = "") -> list[int]:
    """Set ``message.search_tokens`` from its text (plus ``extra``, e.g. an e-mail subject).

    Call before ``save()``; returns the tokens.  Needs ``message.workspace_id``.
    """
    text = message_text(message)
    if extra:
        text = f"{extra}\n{text}"
    message.search_tokens = blind.search_tokens(message.workspace_id, text)
    return message.search_tokens


def query_words(q: str) -> list[str]:
    """Distinct folded words of a query, in order (at most ``MAX_QUERY_WORDS``)."""
    return list(dict.fromkeys(blind.words(q or "")))[:MAX_QUERY_WORDS]


def tokens_for_query(workspace_id, q: str) -> list[int]:
    """Blind tokens of every word of ``q`` (empty for a query without words)."""
    return list(dict.fromkeys(blind.token_index(workspace_id, w) for w in query_words(q)))


def _messages():
    from hotro.conversations.models import Message

    return Message.objects


def search_messages(workspace_id, q: str, queryset: QuerySet | None = None) -> QuerySet:
    """Messages of the workspace holding every word of ``q`` (candidates: confirm a page with
    ``verify_messages``).  An empty query matches nothing."""
    qs = (queryset if queryset is not None else _messages().all()).filter(workspace_id=workspace_id)
    tokens = tokens_for_query(workspace_id, q)
    if not tokens:
        return qs.none()
    return qs.filter(search_tokens__contains_all=tokens)


def message_matches(message, q: str) -> bool:
    """True when the decrypted message holds every word of ``q``."""
    return bool(verify_messages([message], q))


def verify_messages(messages, q: str, *, extra_text=None) -> list:
    """Keep the candidates whose decrypted text really holds every query word.

    ``extra_text(message) -> str`` adds other indexed text (e.g. the conversation subject, which
    ``do_receive_message`` indexes with the first message).
    """
    wanted = query_words(q)
    if not wanted:
        return []
    kept = []
    for message in messages:
        text = message_text(message)
        if extra_text is not None:
            text = f"{extra_text(message)}\n{text}"
        have = set(blind.words(text))
        if all(w in have for w in wanted):
            kept.append(message)
    return kept


def search_conversations(workspace_id, q: str, base_qs: QuerySet) -> QuerySet:
    """``base_qs`` (conversations, any filters) narrowed to those with a message matching ``q``.

    An ``EXISTS`` subquery, so it combines with list filters, ordering and keyset pagination.  On
    PostgreSQL the planner either walks the list in order (``conv_activity`` / ``conv_status_*``)
    probing each conversation's tokens with an index-only scan of ``message_thread``, which
    INCLUDEs ``search_tokens`` (common words: stops after one page), or, for rare words, takes the
    matches from the GIN index.  The probe is by conversation only (no ``workspace_id``, which is
    not in that index): ``base_qs`` is restricted to the workspace, and so are its messages.
    """
    tokens = tokens_for_query(workspace_id, q)
    if not tokens:
        return base_qs.none()
    matching = _messages().filter(conversation=OuterRef("pk"), search_tokens__contains_all=tokens)
    return base_qs.filter(workspace_id=workspace_id).filter(Exists(matching))


# --- contacts -----------------------------------------------------------------------------------------
def _contacts(workspace_id):
    from hotro.contacts.models import Contact

    return Contact.objects.filter(workspace_id=workspace_id)


@in_workspace("workspace_id")
def find_contacts_by_email(workspace_id, email: str, queryset: QuerySet | None = None) -> list:
    """Contacts whose e-mail equals ``email`` (case and surrounding spaces ignored)."""
    if not email or not email.strip():
        return []
    wanted = blind.normalize_email(email)
    qs = queryset if queryset is not None else _contacts(workspace_id)
    candidates = qs.filter(workspace_id=workspace_id, email_bidx=blind.email_index(workspace_id, email))
    return [c for c in candidates if c.email and blind.normalize_email(c.email) == wanted]


@in_workspace("workspace_id")
def find_contacts_by_phone(
    workspace_id, phone: str, region: str = "VN", queryset: QuerySet | None = None
) -> list:
    """Contacts whose phone is the same number as ``phone`` in any common spelling
    ("0901 234 567", "+84 90 123 4567", "84901234567")."""
    wanted = blind.normalize_phone(phone or "", region)
    if wanted is None:
        return []
    qs = queryset if queryset is not None else _contacts(workspace_id)
    candidates = qs.filter(
        workspace_id=workspace_id, phone_bidx=blind.blind_index(workspace_id, "phone", wanted)
    )
    return [c for c in candidates if c.phone and blind.normalize_phone(c.phone, region) == wanted]


normalize_address = blind.normalize_address


@in_workspace("workspace_id")
def find_identities(workspace_id, channel: str, address: str) -> list:
    """Contact identities on ``channel`` with ``address`` (e-mail and phone in any spelling)."""
    from hotro.contacts.models import ContactIdentity

    if not address or not address.strip():
        return []
    wanted = normalize_address(channel, address)
    candidates = ContactIdentity.objects.filter(
        workspace_id=workspace_id,
        channel=channel,
        address_bidx=blind.address_index(workspace_id, channel, address),
    ).select_related("contact")
    return [i for i in candidates if i.address and normalize_address(channel, i.address) == wanted]


@in_workspace("workspace_id")
def find_contacts_by_identity(workspace_id, channel: str, address: str) -> list:
    """Distinct contacts owning an identity ``channel``/``address``."""
    seen = {}
    for identity in find_identities(workspace_id, channel, address):
        seen.setdefault(identity.contact_id, identity.contact)
    return list(seen.values())


@in_workspace("workspace_id")
def find_contacts_by_phone_anywhere(workspace_id, phone: str, region: str = "VN") -> list:
    """Contacts with this phone number on file or as a ``phone`` channel identity."""
    found = {c.pk: c for c in find_contacts_by_phone(workspace_id, phone, region)}
    for c in find_contacts_by_identity(workspace_id, "phone", phone):
        found.setdefault(c.pk, c)
    return list(found.values())


__all__ = [
    "find_contacts_by_email",
    "find_contacts_by_identity",
    "find_contacts_by_phone",
    "find_contacts_by_phone_anywhere",
    "find_identities",
    "index_message",
    "message_matches",
    "search_conversations",
    "search_messages",
    "tokens_for_query",
    "verify_messages",
]
