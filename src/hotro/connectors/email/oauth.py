"""OAuth2 for IMAP/SMTP (XOAUTH2, Gmail and Microsoft): access tokens refreshed before they expire.

The refresh token, client secret and access token live in the inbox's encrypted credentials.  A
refresh holds a row lock on the inbox, so two processes never spend a single-use refresh token twice.
A refresh the provider refused (revoked grant) is remembered, as a hash of the request, and not sent
again until the request changes (the mailbox is reconnected or its OAuth2 settings are changed).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.privacy.rls import workspace_scope

from .. import http
from ..base import ConnectorError
from ..models import Inbox
from .config import load_settings
from .providers import client_secret_for

REFRESH_BEFORE = timedelta(minutes=5)


def xoauth2_string(username: str, token: str) -> str:
    """The XOAUTH2 initial response before base64 (CHANNELS.md §4.4)."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


def xoauth2_responder(username: str, token: str):
    """The XOAUTH2 callback for smtplib's ``auth`` and imapclient's ``sasl_login``: the initial
    response (asked with no or an empty challenge), then an empty answer to the server's error
    challenge (a base64 JSON status, CHANNELS.md 4.4), after which the server refuses (535 / NO)."""

    def respond(challenge: bytes | None = None) -> str:
        return "" if challenge else xoauth2_string(username, token)

    return respond


def store_tokens(creds: dict, access_token: str, expires_in: int, refresh_token: str = "") -> None:
    """Put a token response into ``creds`` (the inbox's credentials, changed in place); a refreshed
    grant is no longer refused.  A refresh token is replaced only when the provider sent one."""
    creds["oauth2_access_token"] = access_token
    creds["oauth2_expires_at"] = (timezone.now() + timedelta(seconds=expires_in)).isoformat()
    if refresh_token:
        creds["oauth2_refresh_token"] = refresh_token
    creds.pop("oauth2_refused", None)


def _expires_at(credentials: dict) -> datetime | None:
    value = credentials.get("oauth2_expires_at")
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def needs_refresh(credentials: dict, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    expires = _expires_at(credentials)
    return not credentials.get("oauth2_access_token") or expires is None or expires - REFRESH_BEFORE <= now


def access_token(inbox: Inbox) -> str:
    """A valid access token for the inbox, refreshed through the token endpoint when it expires
    within ``REFRESH_BEFORE``.  Raises a permanent ``ConnectorError`` when the grant was revoked."""
    if not needs_refresh(inbox.credentials or {}):
        return inbox.credentials["oauth2_access_token"]
    return refresh(inbox)


def _request_fingerprint(url: str, form: dict) -> str:
    return hashlib.sha256(json.dumps([url, sorted(form.items())]).encode()).hexdigest()


def _refused(error: str) -> ConnectorError:
    return ConnectorError(
        _("The mail provider refused to renew access (%(e)s); reconnect the mailbox.") % {"e": error},
        permanent=True,
        code="reconnect",
    )


def refresh(inbox: Inbox, *, force: bool = False) -> str:
    cfg = load_settings(inbox)
    refusal = None
    # the scope and the transaction end together, before a refusal is raised: it stays remembered
    with workspace_scope(inbox.workspace_id), transaction.atomic():
        locked = Inbox.objects.select_for_update().get(pk=inbox.pk)
        creds = dict(locked.credentials or {})
        if not force and not needs_refresh(creds):  # another process refreshed it meanwhile
            inbox.credentials = creds
            return creds["oauth2_access_token"]
        if not cfg.oauth2_token_url or not creds.get("oauth2_refresh_token"):
            raise ConnectorError(
                _("This inbox signs in with OAuth2 but has no refresh token; reconnect the mailbox."),
                permanent=True,
                code="reconnect",
            )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": creds["oauth2_refresh_token"],
            "client_id": cfg.oauth2_client_id,
        }
        secret = client_secret_for(cfg, creds)  # the inbox's own, else the operator's (presets)
        if secret:
            form["client_secret"] = secret
        if cfg.oauth2_scope:
            form["scope"] = cfg.oauth2_scope
        fingerprint = _request_fingerprint(cfg.oauth2_token_url, form)
        refused = creds.get("oauth2_refused") or {}
        if not force and refused.get("request") == fingerprint:  # no retry storm on a revoked grant
            raise _refused(str(refused.get("error") or ""))
        response = http.post(
            cfg.oauth2_token_url,
            content=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        try:
            data = json.loads(response.content or b"{}")
        except ValueError:
            data = {}
        if response.status_code in {400, 401, 403} or (response.is_success and "access_token" not in data):
            error = str(data.get("error") or response.status_code)[:100]
            creds["oauth2_refused"] = {"request": fingerprint, "error": error}
            refusal = _refused(error)  # raised after the commit, so the refusal is remembered
        elif not response.is_success:
            raise ConnectorError(
                _("The mail provider's sign-in service answered %(s)s; will retry.")
                % {"s": response.status_code}
            )
        else:
            # rotating refresh tokens (Microsoft) are single-use: a new one replaces the old
            store_tokens(
                creds,
                data["access_token"],
                int(data.get("expires_in") or 3600),
                data.get("refresh_token") or "",
            )
        locked.credentials = creds
        locked.save(update_fields=["credentials"])
    inbox.credentials = creds
    if refusal is not None:
        raise refusal
    return creds["oauth2_access_token"]
