"""Visitor tokens: a signed, expiring claim "this browser is visitor V of inbox I" (optionally
"verified as user U").  A token signed for one inbox never reads in another (the salt and the claims
name the inbox), and it expires (``HOTRO_WIDGET_TOKEN_DAYS``).  Kept in the widget iframe's own
localStorage, so the host page cannot read it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SALT = "hotro.widget.visitor"


@dataclass(frozen=True)
class VisitorClaims:
    inbox_id: str
    visitor_id: str
    verified_user_id: str | None = None

    @property
    def sender_address(self) -> str:
        """The address used for this visitor's ``ContactIdentity``."""
        return f"user:{self.verified_user_id}" if self.verified_user_id else f"visitor:{self.visitor_id}"


def new_visitor_id() -> str:
    return secrets.token_urlsafe(16)


def token_max_age() -> int:
    return int(getattr(settings, "HOTRO_WIDGET_TOKEN_DAYS", 30)) * 86400


def _salt(inbox) -> str:
    return f"{SALT}:{inbox.pk}"


def issue_visitor_token(inbox, visitor_id: str, verified_user_id: str | None = None) -> str:
    """A URL-safe token for ``visitor_id`` in ``inbox`` (and the verified user id, if any)."""
    claims = {"i": str(inbox.pk), "v": visitor_id}
    if verified_user_id:
        claims["u"] = verified_user_id
    return signing.dumps(claims, salt=_salt(inbox), compress=False)


def read_visitor_token(inbox, token: str | None) -> VisitorClaims | None:
    """The claims of a valid, unexpired token issued for this inbox; otherwise ``None``."""
    if not token or not isinstance(token, str) or len(token) > 1024:
        return None
    try:
        data = signing.loads(token, salt=_salt(inbox), max_age=token_max_age())
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("i") != str(inbox.pk):
        return None
    visitor_id = data.get("v")
    if not isinstance(visitor_id, str) or not visitor_id:
        return None
    user_id = data.get("u")
    return VisitorClaims(str(inbox.pk), visitor_id, user_id if isinstance(user_id, str) and user_id else None)


__all__ = ["VisitorClaims", "issue_visitor_token", "new_visitor_id", "read_visitor_token"]
