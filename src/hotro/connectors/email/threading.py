"""Which conversation an incoming e-mail belongs to.

Our outgoing Message-IDs carry a token only we can make (HMAC), so replies thread even when the
subject was changed.  The decision order (CHANNELS.md §4.1, PRODUCT.md "what users hate"):

1. our own token in In-Reply-To / References (newest first): the reply is to our mail, whoever sends it;
2. any Message-ID we know (the customer's earlier mail, a CC'd copy) in In-Reply-To / References,
   then in the relay headers that keep an id a server rewrote: only when the sender is a participant,
   so a newsletter reply or a stranger quoting an id never lands in someone else's conversation
   (zammad#5064, chatwoot PR #13502), while a client that rewrote our Message-ID still threads through
   the rest of the References chain (chatwoot#10028);
3. the subject tag ``[#<number>]``, again only for a participant;
4. otherwise a new conversation.

Mail to a resolved conversation reopens it, or starts a new one (linked to the old) when it was
resolved more than ``ThreadPolicy.reopen_within_days`` ago.  Automatic mail never reopens anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from .headers import normalize_message_id

if TYPE_CHECKING:
    from .parse import ParsedEmail

_OUR_ID = re.compile(r"^hotro\.([a-z2-7]{26})\.([a-z2-7]{8,32})\.([a-z2-7]{10})@[^@\s]+$")
_TAG = re.compile(r"\[\s*#\s*(\d{1,12})\s*\]")
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|ref|fw|fwd|wg|tr|tl|ct|rv|enc|odp|fs)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]|"
    r"(?:trả lời|chuyển tiếp|phản hồi)\s*[:：]|(?:回复|答复|转发|返信|転送)\s*[:：])\s*",
    re.IGNORECASE,
)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _mac(secret: bytes, workspace_id: object, conv: str, nonce: str) -> str:
    digest = hmac.new(secret, f"hotro-mid|{workspace_id}|{conv}|{nonce}".encode(), hashlib.sha256).digest()
    return _b32(digest)[:10]


def make_message_id(
    workspace_id: object,
    conversation_id: uuid.UUID | str,
    secret: bytes,
    domain: str,
    *,
    nonce_bytes: bytes | None = None,
) -> str:
    """``<hotro.<conversation b32>.<random>.<hmac10>@domain>`` for a message we send.

    Lower-case base32 only, so servers that fold case do not break it; the MAC binds the workspace.
    ``nonce_bytes`` (5 to 20 bytes) replaces the random part when the id must be the same every time
    it is made (a mail re-sent after a crash)."""
    conv_uuid = conversation_id if isinstance(conversation_id, uuid.UUID) else uuid.UUID(str(conversation_id))
    conv = _b32(conv_uuid.bytes)
    nonce = _b32(nonce_bytes[:20] if nonce_bytes and len(nonce_bytes) >= 5 else secrets.token_bytes(10))
    domain = domain.strip().strip(".").lower() or "localhost"
    return f"<hotro.{conv}.{nonce}.{_mac(secret, workspace_id, conv, nonce)}@{domain}>"


def parse_message_id(mid: str, secret: bytes, *, workspace_id: object) -> uuid.UUID | None:
    """The conversation id in one of our Message-IDs, or None if it is not ours or was tampered with."""
    match = _OUR_ID.match(normalize_message_id(mid or "").lower())
    if not match:
        return None
    conv, nonce, mac = match.groups()
    if not hmac.compare_digest(mac, _mac(secret, workspace_id, conv, nonce)):
        return None
    return uuid.UUID(bytes=base64.b32decode(conv.upper() + "======"))


def find_subject_tag(subject: str) -> int | None:
    """The conversation number in ``[#123]`` anywhere in the subject (after any Re:/Fwd:/TL: prefixes)."""
    match = _TAG.search(unicodedata.normalize("NFKC", subject or ""))
    return int(match.group(1)) if match else None


def add_subject_tag(subject: str, number: int) -> str:
    """``Your order [#123]``: the tag on the right, once (an existing tag for this number is kept)."""
    subject = (subject or "").strip()
    if find_subject_tag(subject) == number:
        return subject
    subject = _TAG.sub("", subject).strip()
    return f"{subject} [#{number}]" if subject else f"[#{number}]"


def strip_subject_prefixes(subject: str) -> str:
    """``Re: TL: Fwd: Hello [#12]`` -> ``Hello [#12]`` (English, Vietnamese, German, Nordic, CJK prefixes)."""
    subject = unicodedata.normalize("NFKC", subject or "")
    previous = None
    while previous != subject:
        previous = subject
        subject = _PREFIX.sub("", subject, count=1)
    return subject.strip()


# -- the decision --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationState:
    status: str  # open | pending | snoozed | resolved
    resolved_at: datetime | None = None
    merged_into: Any = None  # the conversation this one was merged into, if any


class ThreadLookups(Protocol):
    """Implemented by the database layer, scoped to one inbox's workspace."""

    def conversation_for_our_message_id(self, message_id: str) -> Any | None: ...
    def conversation_for_known_message_id(self, message_id: str) -> Any | None: ...
    def conversation_by_number(self, number: int) -> Any | None: ...
    def is_participant(self, conversation: Any, sender_address: str) -> bool: ...
    def conversation_state(self, conversation: Any) -> ConversationState: ...


@dataclass(frozen=True)
class ThreadPolicy:
    reopen_within_days: int | None = (
        None  # None: always reopen; N: new conversation when resolved > N days ago
    )


@dataclass
class ThreadDecision:
    action: str  # append | reopen | new | duplicate | bounce
    conversation: Any = None
    matched_by: str = (
        ""  # our-message-id | known-message-id | original-message-id | subject-tag | message-id | dsn
    )
    reason: str = ""
    previous: Any = None  # for "new" after a long-resolved conversation: the one it follows up
    add_sender_as_participant: bool = False
    refused: list[str] = field(
        default_factory=list
    )  # matches refused because the sender is not a participant


def _follow_merges(conversation: Any, lookups: ThreadLookups) -> tuple[Any, ConversationState]:
    state = lookups.conversation_state(conversation)
    for _ in range(10):
        if state.merged_into is None:
            break
        conversation = state.merged_into
        state = lookups.conversation_state(conversation)
    return conversation, state


def _finish(
    decision: ThreadDecision, parsed: ParsedEmail, lookups: ThreadLookups, policy: ThreadPolicy, now: datetime
) -> ThreadDecision:
    conversation, state = _follow_merges(decision.conversation, lookups)
    decision.conversation = conversation
    noise = parsed.noise
    if decision.action in {"duplicate", "bounce"}:
        return decision
    if state.status != "resolved":
        decision.action = "append"
        return decision
    if noise.is_auto_reply or noise.is_bulk or noise.is_read_receipt:
        decision.action = "append"
        decision.reason += "; automatic mail does not reopen a resolved conversation"
        return decision
    days = policy.reopen_within_days
    if days is not None and (state.resolved_at is None or now - state.resolved_at > timedelta(days=days)):
        decision.action, decision.previous, decision.conversation = "new", conversation, None
        decision.reason += f"; resolved more than {days} days ago, so a new conversation follows it up"
        return decision
    decision.action = "reopen"
    return decision


def choose_thread(
    parsed: ParsedEmail,
    lookups: ThreadLookups,
    *,
    policy: ThreadPolicy | None = None,
    now: datetime | None = None,
) -> ThreadDecision:
    """Decide where ``parsed`` goes.  Pure: every fact about stored data comes from ``lookups``."""
    policy = policy or ThreadPolicy()
    now = now or datetime.now(UTC)
    sender = parsed.from_.email if parsed.from_ else ""
    refused: list[str] = []

    def participant(conversation: Any) -> bool:
        return bool(sender) and lookups.is_participant(conversation, sender)

    if parsed.message_id:
        seen = lookups.conversation_for_our_message_id(
            parsed.message_id
        ) or lookups.conversation_for_known_message_id(parsed.message_id)
        if seen is not None:
            return ThreadDecision(
                "duplicate", seen, "message-id", "this Message-ID was already received or sent"
            )

    if parsed.noise.is_bounce:
        for report in parsed.bounces:
            mid = report.original_message_id
            found = mid and (
                lookups.conversation_for_our_message_id(mid) or lookups.conversation_for_known_message_id(mid)
            )
            if found:
                decision = ThreadDecision("bounce", found, "dsn", "delivery report for a message we sent")
                return _finish(decision, parsed, lookups, policy, now)

    def matched(
        conversation: Any, how: str, reason: str, *, any_sender: bool = False
    ) -> ThreadDecision | None:
        is_participant = participant(conversation)
        if not is_participant and not any_sender:
            refused.append(f"{how}: sender is not a participant")
            return None
        action = "bounce" if parsed.noise.is_bounce else "append"
        decision = ThreadDecision(action, conversation, how, reason, refused=refused)
        decision.add_sender_as_participant = bool(sender) and not is_participant
        return _finish(decision, parsed, lookups, policy, now)

    for mid in parsed.thread_ids:
        ours = lookups.conversation_for_our_message_id(mid)
        if ours is not None:
            return matched(ours, "our-message-id", "reply to a message we sent", any_sender=True)
        known = lookups.conversation_for_known_message_id(mid)
        if known is not None and (decision := matched(known, "known-message-id", "reply to a known message")):
            return decision
    for mid in parsed.original_message_ids:
        known = lookups.conversation_for_our_message_id(mid) or lookups.conversation_for_known_message_id(mid)
        if known is not None and (
            decision := matched(known, "original-message-id", "relay kept the original id")
        ):
            return decision
    number = find_subject_tag(parsed.subject)
    if number is not None:
        tagged = lookups.conversation_by_number(number)
        if tagged is not None and (decision := matched(tagged, "subject-tag", f"subject tag [#{number}]")):
            return decision
    reason = "no thread matched" if not refused else "matches refused: " + ", ".join(refused)
    return ThreadDecision("new", None, "", reason, refused=refused)
