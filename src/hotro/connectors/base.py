"""The connector interface every channel implements (keep it this small), and normalized messages.

A connector is the *provider* (what Zalo or e-mail is); an ``Inbox`` row is one *installation*
(one business's connected account).  See docs/architecture.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime


class InvalidSignature(Exception):
    """The request does not carry a valid provider signature; answer 403 and keep nothing."""


class MalformedEvent(ValueError):
    """A stored raw event cannot be understood (bad JSON, missing fields).  It is kept with status
    ``malformed`` and this message (plain words, no payload content) for an admin; never retried.
    ``status``: how a sender who is told at once is answered (422: the fields are wrong)."""

    status = 422


class UnreadableEvent(MalformedEvent):
    """Not even one JSON object (not JSON, not an object, NUL characters, nested too deeply)."""

    status = 400


class ConnectorError(Exception):
    """A send or fetch failed.  ``permanent`` errors (revoked token, blocked recipient) are not
    retried and flag the inbox for an admin; others are retried with backoff.  ``retry_after``
    (seconds) is the provider's own wish, e.g. from a ``Retry-After`` header.

    The message is shown to admins: write it as a sentence saying what happened and what to do."""

    def __init__(
        self, message: str, *, permanent: bool = False, code: str = "", retry_after: float | None = None
    ):
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after


MAX_ID = 255


def storable_id(value) -> str:
    """A provider id as hotro stores it: the id itself when it fits a 255-character column and holds
    no control character (NUL cannot be stored at all), else ``sha256:<hex>`` of it.  The same input
    always gives the same result, so idempotency on the id holds either way."""
    value = str(value or "")
    if len(value) <= MAX_ID and value.isprintable():
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""


@dataclass
class InboundMessage:
    """One customer message, normalized.  ``channel`` + ``sender_address`` identify the sender
    (``ContactIdentity``); ``thread_id`` is the provider's conversation/thread id if it has one."""

    external_id: str
    channel: str
    sender_address: str
    text: str = ""
    html: str = ""
    sender_name: str = ""
    sender_email: str = ""
    sender_phone: str = ""
    subject: str = ""
    thread_id: str = ""
    sent_at: datetime | None = None
    attachments: list[InboundAttachment] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    conversation_id: str | None = None  # set by a connector's own threading (e-mail) when it knows better
    reopen: bool = True  # False: never reopen/wake the conversation (automatic mail such as auto-replies)


@dataclass
class DeliveryResult:
    external_id: str = ""
    extra: dict = field(default_factory=dict)


class Connector:
    key: str = ""
    name: str = ""
    features: frozenset[str] = frozenset()

    def verify(self, request, inbox) -> None:
        """Check the provider signature / handshake; raise InvalidSignature.

        The default refuses everything: a connector that accepts webhooks must say how to trust them."""
        raise InvalidSignature("This channel does not accept webhooks.")

    def event_id(self, request, payload: str) -> str:
        """The provider's id of this delivery, used to store it once.  Default: SHA-256 of the body."""
        return hashlib.sha256(payload.encode()).hexdigest()

    def refusal(self, payload: str) -> MalformedEvent | None:
        """Only channels whose senders can act on an error (the API channel): why ``payload`` cannot
        be processed (a ``MalformedEvent``), or None.  A refused payload is kept as ``malformed`` and
        answered with the refusal's ``status``; other channels answer 200 and keep malformed events
        for an admin."""
        return None

    def parse(self, raw_event) -> list[InboundMessage]:
        """Pure: turn a stored raw event into normalized messages.  No database, no network."""
        raise NotImplementedError

    def receive(self, inbox, message: InboundMessage):
        """Store one parsed message (inside the raw event's transaction).  Connectors with their own
        threading (e-mail) override this; the default is ``do_receive_message``."""
        from hotro.conversations.actions import do_receive_message

        return do_receive_message(inbox, message)

    def send(self, delivery) -> DeliveryResult:
        """Deliver one outbound message; raise ConnectorError(msg, permanent=...)."""
        raise NotImplementedError

    def poll(self, inbox) -> list:
        """Only polling channels: fetch new provider events as RawEvents."""
        return []

    def has_feature(self, feature: str) -> bool:
        return feature in self.features
