"""The API channel connector: inbound over the REST API or a signed webhook, replies as signed
webhooks.  Entry points for other areas: ``create_api_inbox``, ``accept_api_inbound``,
``verify_signature``.  Wire format: docs/channels/api.md."""

from .inboxes import MalformedInbound, accept_api_inbound, create_api_inbox, rotate_api_secret
from .signing import SignatureError, verify_signature

__all__ = [
    "MalformedInbound",
    "SignatureError",
    "accept_api_inbound",
    "create_api_inbox",
    "rotate_api_secret",
    "verify_signature",
]
