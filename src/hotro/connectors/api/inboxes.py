"""Creating API inboxes and accepting inbound messages posted to the REST API.

The REST endpoint ``POST /api/v1/inboxes/{id}/inbound`` calls ``accept_api_inbound``; the event is
stored (encrypted) before the caller gets its 202, and processed by the ``process_raw_event`` task.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from hotro.privacy.rls import tenant_scope

from ..base import ConnectorError, MalformedEvent
from ..http import EgressRefused, check_destination
from ..ingress import accept_event, malformed_event_id
from ..models import Inbox, RawEvent
from .connector import ApiConnector
from .signing import new_secret


class MalformedInbound(MalformedEvent):
    """The payload was refused; it is kept as a ``malformed`` raw event (``raw_event``) for admins.
    ``status``: 400 when it is not one JSON object, 422 when its fields are wrong."""

    def __init__(self, message: str, raw_event: RawEvent, status: int = 422):
        super().__init__(message)
        self.raw_event = raw_event
        self.status = status


def validate_webhook_url(url: str) -> str:
    """Raise ``ValidationError`` (a sentence) unless ``url`` is an http(s) URL hotro may post to."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
        check_destination(url)
    except (ValidationError, EgressRefused, ConnectorError) as exc:
        raise ValidationError(
            _("Enter a public http:// or https:// address for the webhook (%(reason)s).")
            % {"reason": " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)}
        ) from None
    return url


def create_api_inbox(workspace, name: str, webhook_url: str) -> tuple[Inbox, str]:
    """Create an API inbox with a new signing secret.  Returns ``(inbox, secret)``: show the secret
    once; it is stored encrypted and used to sign webhooks both ways."""
    url = validate_webhook_url(webhook_url) if webhook_url else ""
    secret = new_secret()
    with tenant_scope(workspace.pk), transaction.atomic():
        inbox = Inbox.objects.create(
            workspace=workspace,
            connector=ApiConnector.key,
            name=name.strip()[:200] or "API",
            settings={"webhook_url": url} if url else {},
            credentials={"webhook_secret": secret},
        )
    return inbox, secret


def rotate_api_secret(inbox: Inbox) -> str:
    """Give the inbox a new signing secret (the old one stops working at once); returns it."""
    secret = new_secret()
    inbox.credentials = {**(inbox.credentials or {}), "webhook_secret": secret}
    with tenant_scope(inbox.workspace_id):
        inbox.save(update_fields=["credentials"])
    return secret


def accept_api_inbound(inbox: Inbox, payload: dict | str | bytes) -> tuple[RawEvent, bool]:
    """Store one inbound API message for processing; returns ``(raw_event, created)``.  Idempotent
    on the payload's ``external_id``: posting it again returns the same raw event with ``created``
    False (decided by the INSERT itself, so two concurrent posts cannot both be "new").  A payload
    that fails validation is kept with status ``malformed`` (as received, bytes that are not UTF-8
    replaced) and ``MalformedInbound`` is raised with the reason (answer 4xx with ``str(exc)``)."""
    original = payload
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", errors="replace")
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    connector = ApiConnector()
    refused = connector.refusal(original if isinstance(original, bytes) else text)
    if refused is not None:
        raw, _created = accept_event(inbox, malformed_event_id(text), text, {}, malformed=str(refused))
        raise MalformedInbound(str(refused), raw, refused.status)
    return accept_event(inbox, connector.event_id(None, text), text, {})
