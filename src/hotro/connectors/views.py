"""The generic provider webhook: ``POST /hooks/<connector>/<inbox public key or id>/``.

Verify, store (one INSERT and a commit), answer 200.  No provider call happens in the request; the
``process_raw_event`` task does the work.  Invalid signatures get 403 and nothing is stored.
"""

from __future__ import annotations

import logging
import uuid

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from hotro.privacy.rls import system_scope, tenant_scope

from .base import InvalidSignature
from .ingress import accept_event, malformed_event_id
from .models import Inbox
from .registry import UnknownConnector, get_connector

log = logging.getLogger(__name__)

# Provider headers worth keeping with the event (never cookies or authorization).
DROPPED_HEADERS = {"cookie", "authorization", "proxy-authorization"}
MAX_HEADER_VALUE = 1000

rejected_signatures = 0  # a count for monitoring; never the payload


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def find_inbox(connector_key: str, inbox_key: str) -> Inbox | None:
    query = {"public_key": inbox_key}
    try:
        query = {"pk": uuid.UUID(inbox_key)}
    except ValueError:
        pass
    with system_scope():
        return Inbox.objects.filter(connector=connector_key, is_active=True, **query).first()


def kept_headers(request) -> dict:
    return {k: v[:MAX_HEADER_VALUE] for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS}


@csrf_exempt
@require_POST
def webhook(request, connector: str, inbox_key: str):
    global rejected_signatures
    try:
        impl = get_connector(connector)
    except UnknownConnector:
        return _error(404, "unknown_connector", "There is no such channel.")
    inbox = find_inbox(connector, inbox_key)  # system scope: the workspace is not known yet
    if inbox is None:
        return _error(404, "unknown_inbox", "There is no such inbox, or it is switched off.")
    with tenant_scope(inbox.workspace_id):  # verify decrypts the inbox's credentials
        try:
            impl.verify(request, inbox)
        except InvalidSignature:
            rejected_signatures += 1
            log.warning("webhook signature rejected for inbox %s (%s so far)", inbox.pk, rejected_signatures)
            return _error(403, "invalid_signature", "The request signature is missing or does not match.")
        payload = request.body.decode("utf-8", errors="replace")
        refused = impl.refusal(payload)
        reason = str(refused) if refused is not None else ""
        # a refused payload is kept under an id of its own: the corrected one, sent again with the
        # same message id, is then new and not a "duplicate"
        event_id = malformed_event_id(payload) if refused else impl.event_id(request, payload)
        raw, created = accept_event(inbox, event_id, payload, kept_headers(request), malformed=reason)
    if refused is not None:  # kept for an admin, and said at once to a sender who can act on it
        body = {"id": str(raw.pk), "status": raw.status, "code": "malformed", "message": reason}
        return JsonResponse(body, status=refused.status)
    return JsonResponse({"id": str(raw.pk), "status": raw.status, "duplicate": not created})
