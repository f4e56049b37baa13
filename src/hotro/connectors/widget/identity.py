"""Identity verification for embedded widgets.

The business's own backend knows who is logged in on its site.  It passes the widget the user's id
and ``HMAC-SHA256(key=inbox identity secret, msg=user id)`` in hex; hotro recomputes it and compares
in constant time.  The secret never leaves hotro's admin pages and the business's backend.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import transaction

from hotro.privacy.rls import tenant_scope

SECRET_KEY_NAME = "identity_secret"
MAX_USER_ID_LENGTH = 255


def new_identity_secret() -> str:
    return secrets.token_urlsafe(32)


def identity_secret(inbox) -> str:
    """The inbox's identity-verification secret (for admins and the API, never a public request).

    New inboxes get theirs when they are created; an older inbox without one gets it here, once: the
    row is locked and the secret merged into the *current* credentials, so a concurrent call returns
    the same secret and no other credential (a rotated webhook secret) is lost."""
    secret = (inbox.credentials or {}).get(SECRET_KEY_NAME)
    if secret:
        return secret
    return _update_credentials(inbox, lambda creds: creds.get(SECRET_KEY_NAME) or new_identity_secret())


def rotate_identity_secret(inbox) -> str:
    """Replace the secret (hashes made with the old one stop verifying at once); returns it."""
    secret = new_identity_secret()
    return _update_credentials(inbox, lambda creds: secret)


def _update_credentials(inbox, choose) -> str:
    """Set ``identity_secret`` to ``choose(current credentials)`` under a row lock, keeping every
    other key as stored now (not as this possibly stale instance has it)."""
    from ..models import Inbox

    with tenant_scope(inbox.workspace_id), transaction.atomic():
        row = Inbox.objects.select_for_update().get(pk=inbox.pk)
        creds = dict(row.credentials or {})
        secret = choose(creds)
        if creds.get(SECRET_KEY_NAME) != secret:
            creds[SECRET_KEY_NAME] = secret
            row.credentials = creds
            row.save(update_fields=["credentials"])
    inbox.credentials = creds
    return secret


def user_hash(secret: str, user_id: str) -> str:
    """``HMAC-SHA256(secret, user_id)`` as lowercase hex: what the business's backend computes."""
    return hmac.new(secret.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()


def verify_identity(inbox, user_id: str, user_hash_hex: str) -> bool:
    """True when ``user_hash_hex`` is the HMAC of ``user_id`` under this inbox's secret."""
    if not isinstance(user_id, str) or not isinstance(user_hash_hex, str):
        return False
    if not user_id or len(user_id) > MAX_USER_ID_LENGTH or len(user_hash_hex) > 128:
        return False
    secret = (inbox.credentials or {}).get(SECRET_KEY_NAME)
    if not secret:  # never created by a public request: nobody can hold a secret not made yet
        return False
    expected = user_hash(secret, user_id)
    return hmac.compare_digest(expected.encode(), user_hash_hex.strip().lower().encode())


__all__ = ["identity_secret", "rotate_identity_secret", "user_hash", "verify_identity"]
