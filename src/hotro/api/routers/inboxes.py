"""Inboxes: list, read (with health), create (API channel), and the API channel's inbound endpoint."""

from ninja import Router
from ninja.responses import Status

from hotro.connectors.models import Inbox
from hotro.tenancy.access import access_inbox, require_admin

from .. import serialize
from ..auth import workspace_scoped
from ..errors import ApiError, error_response
from ..schemas import (
    ERRORS,
    CommentsInboxCreated,
    InboundAccepted,
    InboundIn,
    InboxCreated,
    InboxIn,
    InboxOut,
    LiveChatInboxCreated,
)

router = Router(tags=["inboxes"])


@router.get("", response={200: list[InboxOut], **ERRORS}, summary="List inboxes")
@workspace_scoped
def list_inboxes(request):
    inboxes = Inbox.objects.filter(workspace_id=request.auth.workspace_id).select_related("team")
    return [serialize.inbox(i) for i in inboxes.order_by("created_at", "id")]


@router.get("/{inbox_id}", response={200: InboxOut, **ERRORS}, summary="Get an inbox and its health")
@workspace_scoped
def get_inbox(request, inbox_id: str):
    inbox = access_inbox(request.auth.membership, inbox_id)
    return serialize.inbox(inbox)


@router.post(
    "",
    response={
        201: InboxCreated | LiveChatInboxCreated | CommentsInboxCreated | InboxOut,
        400: ERRORS[403],
        **ERRORS,
    },
    summary="Create an inbox",
)
@workspace_scoped
def create_inbox(request, payload: InboxIn):
    member = request.auth.membership
    require_admin(member)
    if payload.channel == "livechat":
        return _create_livechat_inbox(request, member, payload)
    if payload.channel == "comments":
        return _create_comments_inbox(member, payload)
    if payload.channel == "email":
        return _create_email_inbox(member, payload)
    if payload.channel != "api":
        raise ApiError(400, "channel_unavailable", f"The {payload.channel} channel is not available yet.")
    try:
        from hotro.connectors.api import create_api_inbox
    except ImportError as exc:
        raise ApiError(400, "channel_unavailable", "The api channel is not available yet.") from exc
    inbox, secret = create_api_inbox(member.workspace, payload.name, payload.webhook_url)
    _audit_created(request, member, inbox)
    return Status(201, {**serialize.inbox(inbox), "webhook_secret": secret})


def _audit_created(request, member, inbox) -> None:
    from hotro.privacy.audit import INBOX_CREATED, record_request

    record_request(
        request,
        member,
        INBOX_CREATED,
        object_type="inbox",
        object_id=str(inbox.pk),
        data={"channel": inbox.connector},
    )


def _create_email_inbox(member, payload):
    from django.core.exceptions import ValidationError

    from hotro.connectors.email.inboxes import create_email_inbox

    data = payload.dict(exclude={"channel", "name"}, exclude_none=True)
    try:
        inbox = create_email_inbox(member.workspace, payload.name, actor=member.user, **data)
    except ValidationError as exc:
        raise ApiError(422, "invalid", " ".join(exc.messages)) from None
    return Status(201, serialize.inbox(inbox))


def _create_livechat_inbox(request, member, payload):
    from django.conf import settings
    from django.core.exceptions import ValidationError

    from hotro.connectors.livechat import create_livechat_inbox
    from hotro.connectors.widget.identity import identity_secret

    options = payload.dict(exclude={"channel", "name", "allowed_origins"})
    try:
        inbox = create_livechat_inbox(member.workspace, payload.name, payload.allowed_origins, **options)
    except ValidationError as exc:
        raise ApiError(422, "invalid", " ".join(exc.messages)) from None
    _audit_created(request, member, inbox)
    script = f'<script src="{settings.PUBLIC_URL}/widget/{inbox.public_key}.js" async></script>'
    return Status(
        201,
        {
            **serialize.inbox(inbox),
            "public_key": inbox.public_key,
            "embed_script": script,
            "identity_secret": identity_secret(inbox),
        },
    )


def _create_comments_inbox(member, payload):
    from django.conf import settings
    from django.core.exceptions import ValidationError

    from hotro.connectors.comments.inboxes import create_comments_inbox, embed_script
    from hotro.connectors.widget.identity import identity_secret

    try:
        inbox = create_comments_inbox(
            member.workspace,
            payload.name,
            payload.allowed_origins,
            payload.moderation,
            comments_to_inbox=payload.comments_to_inbox,
            actor=member.user,
        )
    except ValidationError as exc:
        raise ApiError(422, "invalid", " ".join(exc.messages)) from None
    return Status(
        201,
        {
            **serialize.inbox(inbox),
            "public_key": inbox.public_key,
            "embed_script": embed_script(inbox, settings.PUBLIC_URL),
            "identity_secret": identity_secret(inbox),
        },
    )


@router.post(
    "/{inbox_id}/inbound",
    response={202: InboundAccepted, 400: ERRORS[403], **ERRORS},
    summary="Deliver a customer message into an API inbox",
    description="Idempotent on `external_id`: sending the same message again answers `duplicate: true`.",
)
@workspace_scoped
def inbound(request, inbox_id: str, payload: InboundIn):
    inbox = access_inbox(request.auth.membership, inbox_id)
    if inbox.connector != "api":
        raise ApiError(400, "wrong_channel", "Messages can only be posted to inboxes of the api channel.")
    if not inbox.is_active:
        raise ApiError(409, "inbox_inactive", "This inbox is switched off; switch it on to receive messages.")
    from hotro.connectors.api import MalformedInbound, accept_api_inbound

    try:
        raw_event, created = accept_api_inbound(inbox, payload.model_dump(mode="json"))
    except MalformedInbound as exc:
        # answered, not raised: the malformed raw event is kept for admins (the transaction commits)
        return error_response(422, "validation_error", str(exc), errors=[{"msg": str(exc)}])
    return Status(202, {"raw_event_id": raw_event.pk, "status": raw_event.status, "duplicate": not created})
