"""Request and response shapes of the public API (the OpenAPI document is generated from these)."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import AwareDatetime, BeforeValidator, Field, StrictBool, StrictInt

from hotro.conversations.models import Priority, Status

StatusName = Literal[tuple(Status.values)]  # type: ignore[valid-type]
PriorityName = Literal[tuple(Priority.values)]  # type: ignore[valid-type]


class Error(Schema):
    code: str
    message: str


class ValidationErrorOut(Error):
    errors: list[dict[str, Any]] = []


ERRORS = {
    400: Error,  # the body is not one JSON object (or holds NUL characters, or nests too deeply)
    401: Error,
    403: Error,
    404: Error,
    409: Error,
    413: Error,  # the body is over the size limit (stated in the message)
    422: ValidationErrorOut,
    429: Error,
}


def _only_text(value):
    """JSON has no date type: a date and time comes as ISO 8601 text, never as a number."""
    if isinstance(value, datetime) or value is None:
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date and time as ISO 8601 text, e.g. 2026-12-08T09:00:00+07:00")
    return value


# Declared types only: ``true``/``false`` for booleans (not "yes" or 1), whole numbers for integers
# (not "25"), ISO 8601 text with a time zone for dates and times.
Flag = StrictBool
WholeNumber = StrictInt
DateTimeText = Annotated[AwareDatetime, BeforeValidator(_only_text)]


# --- members --------------------------------------------------------------------------------------
class MemberRef(Schema):
    id: UUID
    name: str


class MemberOut(MemberRef):
    role: str
    email: str
    is_active: bool


class Ref(Schema):
    id: UUID
    name: str


# --- inboxes --------------------------------------------------------------------------------------
class InboxOut(Schema):
    id: UUID
    name: str
    channel: str
    public_key: str = Field(description="The inbox's public id, used in its widget and webhook URLs.")
    is_active: bool
    health: str
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str
    team: Ref | None
    created_at: datetime
    receiving_address: str = Field(
        default="", description="E-mail inboxes: forward mail (or point MX) to this address."
    )


class ApiInboxIn(Schema):
    channel: Literal["api"]
    name: str = Field(min_length=1, max_length=200)
    webhook_url: str = Field(
        default="", max_length=2000, description="Where hotro POSTs agents' replies (https://...)."
    )


class LiveChatInboxIn(Schema):
    """A live-chat widget for web sites (see docs/channels/livechat.md)."""

    channel: Literal["livechat"]
    name: str = Field(min_length=1, max_length=200)
    allowed_origins: list[str] = Field(
        min_length=1,
        max_length=50,
        description="Web sites allowed to show the chat, e.g. https://shop.example.",
    )
    color: str = Field(default="#0f766e", max_length=7)
    greeting: dict[str, str] = Field(default_factory=dict, description='{"vi": "...", "en": "..."}')
    language: Literal["", "vi", "en"] = ""
    identity_mandatory: Flag = False
    privacy_notice_url: str = Field(default="", max_length=500)


class CommentsInboxIn(Schema):
    """Product comments and questions on web pages (see docs/channels/comments.md)."""

    channel: Literal["comments"]
    name: str = Field(min_length=1, max_length=200)
    allowed_origins: list[str] = Field(
        min_length=1,
        max_length=50,
        description="Web sites allowed to show the comments, e.g. https://shop.example.",
    )
    moderation: Literal["pending", "publish", "publish_verified"] = Field(
        default="pending",
        description="pending: every comment waits for review; publish: at once; "
        "publish_verified: at once for visitors your site verified.",
    )
    comments_to_inbox: Flag = Field(
        default=False, description="Also turn plain comments (not only questions) into conversations."
    )


class EmailServerIn(Schema):
    host: str = Field(max_length=255)
    port: WholeNumber | None = Field(default=None, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str = Field(default="", max_length=320)


class EmailImapIn(EmailServerIn):
    folders: list[str] = Field(default_factory=lambda: ["INBOX"], max_length=20)
    mark_read: Flag = Field(default=False, description="Mark fetched mail read on the server.")


class EmailOAuth2In(Schema):
    """OAuth2 (XOAUTH2) sign-in.  ``google`` / ``microsoft`` fill the addresses, scope and the
    server's own client id; ``custom`` needs ``token_url`` (and ``authorize_url`` to connect from the
    admin page)."""

    provider: Literal["google", "microsoft", "custom"] = "custom"
    authorize_url: str = Field(default="", max_length=2000)
    token_url: str = Field(default="", max_length=2000)
    client_id: str = Field(default="", max_length=500)
    scope: str = Field(default="", max_length=1000)


class EmailInboxIn(Schema):
    """An e-mail inbox (see docs/channels/email.md).  IMAP and SMTP are optional: without them the
    inbox receives forwarded mail at its receiving address and replies through hotro's mail server."""

    channel: Literal["email"]
    name: str = Field(min_length=1, max_length=200)
    imap: EmailImapIn | None = None
    smtp: EmailServerIn | None = None
    auth: Literal["password", "oauth2"] = "password"
    oauth2: EmailOAuth2In | None = None
    imap_password: str = Field(default="", max_length=1000)
    smtp_password: str = Field(default="", max_length=1000)
    oauth2_client_secret: str = Field(default="", max_length=2000)
    oauth2_refresh_token: str = Field(default="", max_length=4000, description="Write-only.")
    from_name: str = Field(default="", max_length=200)
    from_address: str = Field(default="", max_length=320)
    signature: str = Field(default="", max_length=5000)
    reopen_days: WholeNumber | None = Field(
        default=None, ge=0, description="null: always reopen; N: new conversation when resolved > N days ago."
    )
    auto_ack: Flag = False
    auto_ack_text: str = Field(default="", max_length=5000)
    trusted_authserv_id: str = Field(default="", max_length=255)
    business_domains: list[str] = Field(default_factory=list, max_length=20)


InboxIn = Annotated[
    ApiInboxIn | LiveChatInboxIn | CommentsInboxIn | EmailInboxIn,
    Field(discriminator="channel"),
]


class InboxCreated(InboxOut):
    webhook_secret: str = Field(description="Signing secret for webhooks to your system; shown only once.")
    inbound_url: str = Field(
        description="Where your system may POST signed customer messages (X-Hotro-Signature), "
        "as an alternative to POST /api/v1/inboxes/{id}/inbound with a token."
    )


class LiveChatInboxCreated(InboxOut):
    public_key: str
    embed_script: str = Field(description="The <script> tag to paste into your web site.")
    identity_secret: str = Field(
        description="Key for HMAC-SHA256(user id) identity verification; keep it server-side."
    )


class CommentsInboxCreated(InboxOut):
    public_key: str
    embed_script: str = Field(description="The <script> tag to paste into a product page (set the product).")
    identity_secret: str = Field(
        description="Key for HMAC-SHA256 of user ids and purchase claims; keep it server-side."
    )


class InboundContact(Schema):
    """Who wrote: at least one of ``external_id`` (your id for the customer), ``email``, ``phone``."""

    external_id: str = Field(default="", max_length=255)
    name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=40)


class InboundAttachmentIn(Schema):
    filename: str = Field(default="attachment", max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=127)
    data_base64: str = Field(description="File contents, base64-encoded.")


class InboundIn(Schema):
    external_id: str = Field(min_length=1, max_length=255, description="Your message id (idempotency key).")
    contact: InboundContact
    text: str = Field(default="", max_length=50_000)
    attachments: list[InboundAttachmentIn] = Field(default_factory=list, max_length=20)


class InboundAccepted(Schema):
    raw_event_id: UUID
    status: str
    duplicate: bool


# --- contacts -------------------------------------------------------------------------------------
class ContactOut(Schema):
    id: UUID
    name: str
    email: str
    phone: str
    address: str
    attributes: dict[str, Any]
    language: str
    is_verified: bool
    merged_into_id: UUID | None
    created_at: datetime
    updated_at: datetime


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class ContactPatch(Schema):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=1000)
    attributes: dict[str, Any] | None = None


# --- conversations --------------------------------------------------------------------------------
class ContactRef(Schema):
    id: UUID
    name: str


class InboxRef(Schema):
    id: UUID
    name: str
    channel: str


class ConversationOut(Schema):
    id: UUID
    number: int
    subject: str
    status: str
    priority: str
    inbox: InboxRef
    contact: ContactRef
    assignee: MemberRef | None
    team: Ref | None
    tags: list[str]
    snoozed_until: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    last_activity_at: datetime
    merged_into_id: UUID | None
    created_at: datetime


class ConversationPage(Schema):
    items: list[ConversationOut]
    next_cursor: str | None


class AttachmentOut(Schema):
    id: UUID
    filename: str
    content_type: str
    size: int


class MessageOut(Schema):
    id: UUID
    conversation_id: UUID
    direction: str
    status: str
    text: str
    author: MemberRef | None
    external_id: str
    attachments: list[AttachmentOut]
    created_at: datetime


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None


class TextIn(Schema):
    text: str = Field(min_length=1, max_length=50_000)


class AssignIn(Schema):
    assignee_id: UUID | None = Field(default=None, description="A member id, or null to unassign.")
    team_id: UUID | None = Field(
        default=None, description="Only changed when present; null removes the team."
    )


class StatusIn(Schema):
    status: StatusName
    snooze_until: DateTimeText | None = Field(
        default=None,
        description="Required for snoozed: ISO 8601 with a time zone, e.g. 2026-12-08T09:00:00+07:00.",
    )


class TagsIn(Schema):
    tags: list[str] = Field(max_length=50, description="The full set of tags (replaces the current set).")


class MergeIn(Schema):
    target_id: UUID = Field(description="The conversation this one is merged into.")


class MoveIn(Schema):
    inbox_id: UUID


class PriorityIn(Schema):
    priority: PriorityName


def inline_schema(model) -> dict:
    """``model``'s JSON schema with its ``$defs`` written in place (for an OpenAPI ``requestBody``
    that django-ninja does not validate itself)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)
