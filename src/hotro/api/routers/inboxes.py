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
    inline_schema,
)

router = Router(tags=["inboxes"])
INBOUND = inline_schema(InboundIn)  # the documented body of the inbound endpoint (read by the view)


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
    response={201: InboxCreated | LiveChatInboxCreated | CommentsInboxCreated | InboxOut, **ERRORS},
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
    from django.conf import settings
    from django.core.exceptions import ValidationError

    from hotro.connectors.api import create_api_inbox

    try:
        inbox, secret = create_api_inbox(member.workspace, payload.name, payload.webhook_url)
    except ValidationError as exc:
        raise ApiError(422, "invalid", " ".join(exc.messages)) from None
    _audit_created(request, member, inbox)
    inbound_url = f"{settings.PUBLIC_URL}/hooks/api/{inbox.public_key}/"
    return Status(201, {**serialize.inbox(inbox), "webhook_secret": secret, "inbound_url": inbound_url})


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
    response={202: InboundAccepted, **ERRORS},
    summary="Deliver a customer message into an API inbox",
    description="Idempotent on `external_id`: sending the same message again answers `duplicate: true`. "
    "A body that is refused (400/422) is kept for the workspace's admins to inspect.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(InboundIn)}},
        }
    },
)
@workspace_scoped
def inbound(request, inbox_id: str):
    # The body is read here, not by ninja: a refused body must be kept (as a malformed raw event).
    inbox = access_inbox(request.auth.membership, inbox_id)
    if inbox.connector != "api":
        raise ApiError(400, "wrong_channel", "Messages can only be posted to inboxes of the api channel.")
    if not inbox.is_active:
        raise ApiError(409, "inbox_inactive", "This inbox is switched off; switch it on to receive messages.")
    from hotro.connectors.api import MalformedInbound, accept_api_inbound

    try:
        raw_event, created = accept_api_inbound(inbox, request.body)
    except MalformedInbound as exc:
        # answered, not raised: the malformed raw event is kept for admins (the transaction commits)
        if exc.status == 400:
            return error_response(400, "bad_request", str(exc))
        return error_response(422, "validation_error", str(exc), errors=[{"msg": str(exc)}])
    return Status(202, {"raw_event_id": raw_event.pk, "status": raw_event.status, "duplicate": not created})
