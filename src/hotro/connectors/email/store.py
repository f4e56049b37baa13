"""The database side of e-mail threading: keyed hashes of Message-IDs, known ids per conversation,
participants, and the ``ThreadLookups`` that ``threading.choose_thread`` asks."""

from __future__ import annotations

import hashlib
import hmac

from django.db import IntegrityError, transaction

from hotro.conversations.models import Conversation
from hotro.privacy import blind, keys
from hotro.privacy.rls import in_workspace

from .headers import normalize_message_id
from .models import KnownMessageId, Participant
from .threading import ConversationState, parse_message_id


def message_id_secret(workspace_id) -> bytes:
    """The HMAC key of our outgoing Message-ID tokens (per workspace, derived from its index key)."""
    return keys.index_key(workspace_id, "email-message-id")


def mid_hash(workspace_id, message_id: str) -> str:
    mid = normalize_message_id(message_id or "")
    key = keys.index_key(workspace_id, "email-mid")
    return hmac.new(key, mid.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def remember_message_id(inbox, conversation, message_id: str, direction: str, message=None) -> bool:
    """Record that ``message_id`` belongs to ``conversation``; returns False if it was already known."""
    mid = normalize_message_id(message_id or "")
    if not mid:
        return False
    try:
        with transaction.atomic():
            KnownMessageId.objects.create(
                workspace_id=inbox.workspace_id,
                inbox=inbox,
                conversation=conversation,
                message=message,
                direction=direction,
                mid_hash=mid_hash(inbox.workspace_id, mid),
                value=mid,
            )
    except IntegrityError:
        return False
    return True


def find_known(workspace_id, message_id: str) -> KnownMessageId | None:
    mid = normalize_message_id(message_id or "")
    if not mid:
        return None
    return (
        KnownMessageId.objects.filter(workspace_id=workspace_id, mid_hash=mid_hash(workspace_id, mid))
        .select_related("conversation__contact")
        .first()
    )


def conversation_ids(conversation) -> list[KnownMessageId]:
    """The conversation's known Message-IDs, oldest first (for References)."""
    return list(KnownMessageId.objects.filter(conversation=conversation).order_by("created_at", "id"))


def address_index(workspace_id, address: str) -> int:
    return blind.email_index(workspace_id, address)


def add_participants(conversation, addresses, *, exclude: set[str] = frozenset()) -> list[Participant]:
    """Add people (``Address`` objects with ``role`` given as pairs) to the conversation; idempotent.
    Returns the participants it added (one added by a racing worker meanwhile may be among them)."""
    wanted = {}
    for address, role in addresses:
        email = (address.email or "").strip().lower()
        if email and "@" in email and email not in exclude:
            wanted.setdefault(email, (address, role))
    if not wanted:
        return []
    indexes = {email: address_index(conversation.workspace_id, email) for email in wanted}
    present = set(
        Participant.objects.filter(
            conversation=conversation, address_bidx__in=set(indexes.values())
        ).values_list("address_bidx", flat=True)
    )
    rows = []
    for email, (address, role) in wanted.items():
        idx = indexes[email]
        if idx in present:
            continue
        present.add(idx)
        rows.append(
            Participant(
                workspace_id=conversation.workspace_id,
                conversation=conversation,
                address=email,
                address_bidx=idx,
                name=address.name or None,
                role=role,
            )
        )
    # One INSERT, no savepoint: a participant another worker added meanwhile is skipped by the unique
    # constraint (ON CONFLICT DO NOTHING) instead of failing this transaction.
    return Participant.objects.bulk_create(rows, ignore_conflicts=True) if rows else []


@in_workspace("conversation")
def participants_of(conversation) -> list[Participant]:
    return list(Participant.objects.filter(conversation=conversation).order_by("created_at", "id"))


@in_workspace("conversation")
def is_participant(conversation, address: str) -> bool:
    email = (address or "").strip().lower()
    if not email:
        return False
    idx = address_index(conversation.workspace_id, email)
    for p in Participant.objects.filter(conversation=conversation, address_bidx=idx):
        if (p.address or "").lower() == email:
            return True
    contact = conversation.contact
    return bool(contact.email) and blind.normalize_email(contact.email) == blind.normalize_email(email)


PRELOAD = 100  # ids looked up at once; a longer References header is looked up one by one


class DbLookups:
    """``threading.ThreadLookups`` against the database, scoped to one inbox's workspace."""

    def __init__(self, inbox):
        self.inbox = inbox
        self.workspace_id = inbox.workspace_id
        self._secret = message_id_secret(inbox.workspace_id)
        self._known: dict[str, KnownMessageId | None] = {}

    def _conversation(self, pk) -> Conversation | None:
        return (
            Conversation.objects.filter(workspace_id=self.workspace_id, pk=pk)
            .select_related("contact")
            .first()
        )

    def conversation_for_our_message_id(self, message_id: str):
        pk = parse_message_id(message_id, self._secret, workspace_id=self.workspace_id)
        return self._conversation(pk) if pk else None

    def preload(self, message_ids) -> None:
        """Look up every known id among ``message_ids`` in one query (threading asks one by one)."""
        hashes = {}
        for message_id in list(message_ids)[:PRELOAD]:
            mid = normalize_message_id(message_id or "")
            if mid:
                hashes[mid_hash(self.workspace_id, mid)] = mid
        if not hashes:
            return
        self._known = dict.fromkeys(hashes)
        for known in KnownMessageId.objects.filter(
            workspace_id=self.workspace_id, mid_hash__in=list(hashes)
        ).select_related("conversation__contact"):
            self._known[known.mid_hash] = known  # unique per workspace

    def conversation_for_known_message_id(self, message_id: str):
        mid = normalize_message_id(message_id or "")
        if not mid:
            return None
        digest = mid_hash(self.workspace_id, mid)
        if digest in self._known:
            known = self._known[digest]
        else:
            known = find_known(self.workspace_id, mid)
        return known.conversation if known else None

    def conversation_by_number(self, number: int):
        return (
            Conversation.objects.filter(workspace_id=self.workspace_id, number=number)
            .select_related("contact")
            .first()
        )

    def is_participant(self, conversation, sender_address: str) -> bool:
        return is_participant(conversation, sender_address)

    def conversation_state(self, conversation) -> ConversationState:
        merged = self._conversation(conversation.merged_into_id) if conversation.merged_into_id else None
        return ConversationState(conversation.status, conversation.resolved_at, merged)
