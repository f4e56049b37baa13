"""Connecting a mailbox with OAuth2: the authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636).

1. ``begin`` (an admin's POST) makes a random nonce and PKCE verifier, keeps them in the admin's
   session (at most ``MAX_PENDING`` flows, each ``STATE_MAX_AGE`` seconds) and answers the provider's
   authorization address with ``state`` = the nonce, the user, the workspace and the inbox, signed
   (``django.core.signing``, salted, timestamped) and ``code_challenge`` = S256(verifier).
2. The provider sends the browser back to ``/mail/oauth/callback/?code=..&state=..``.  ``take``
   checks the signature and age, that the signed-in user is the one who started, and removes the
   flow from the session; a cache marker (``cache.add``, atomic on Redis) refuses a second use even
   from two requests at once.  The view then checks the workspace membership and role again.
3. ``exchange_code`` posts the code with the verifier to the token address (``connectors.http``:
   SSRF guard, pinned address) and ``store_connection`` keeps the refresh and access tokens in the
   inbox's encrypted credentials, switches the inbox to OAuth2 with the provider's servers and user
   name, clears "reconnect needed" and writes the audit event, in one transaction.

Nothing is stored before the provider has answered with tokens.  ``disconnect`` removes the tokens
(and revokes the grant where the provider offers it).  Audit rows name the provider, never the
mailbox address (personal data).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from hotro.privacy import audit
from hotro.privacy.rls import tenant_scope

from .. import http
from ..base import ConnectorError
from ..models import Inbox, InboxHealth
from .oauth import store_tokens
from .providers import PRESETS, Client

STATE_SALT = "hotro.email.oauth-state"
STATE_MAX_AGE = 600  # seconds from the click to the callback
SESSION_KEY = "hotro_email_oauth"
MAX_PENDING = 5
USED_PREFIX = "hotro:email-oauth-used:"
CONNECTED = "email.oauth_connected"
DISCONNECTED = "email.oauth_disconnected"
TOKEN_KEYS = ("oauth2_refresh_token", "oauth2_access_token", "oauth2_expires_at")


class InvalidState(Exception):
    """The callback's state is not one this user started here, has expired or was used already."""


class ConnectFailed(Exception):
    """The provider refused or could not be reached; a sentence for the admin (nothing stored)."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    email: str = ""  # the id_token's verified e-mail claim, when the provider sent one
    username: str = ""  # the id_token's preferred_username (Microsoft), when it is an address


# --- PKCE and state --------------------------------------------------------------------------------
def new_verifier() -> str:
    """A PKCE code verifier: 64 characters of [A-Za-z0-9_-] (RFC 7636 §4.1 allows 43-128)."""
    return secrets.token_urlsafe(48)


def challenge_of(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign_state(nonce: str, user_id, workspace_id, inbox_id) -> str:
    payload = {"n": nonce, "u": str(user_id), "w": str(workspace_id), "i": str(inbox_id)}
    return signing.dumps(payload, salt=STATE_SALT)


def read_state(state: str) -> dict:
    try:
        payload = signing.loads(state or "", salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        raise InvalidState from None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in "nuwi"):
        raise InvalidState
    return payload


def authorize_url(client: Client, *, redirect_uri: str, state: str, challenge: str, login_hint: str) -> str:
    """The provider's authorization address with the request's parameters (those already in a custom
    address, such as ``access_type=offline``, are kept)."""
    parts = urlsplit(client.authorize_url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params.update(client.extra_params)
    params.update(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    if client.request_scope:
        params["scope"] = client.request_scope
    if login_hint:
        params["login_hint"] = login_hint
    return urlunsplit(parts._replace(query=urlencode(params)))


def begin(request, inbox: Inbox, client: Client, *, redirect_uri: str, address: str = "") -> str:
    """Start connecting ``inbox`` for the signed-in admin; returns the address to send the browser to."""
    nonce = secrets.token_urlsafe(24)
    verifier = new_verifier()
    now = time.time()
    pending = {
        k: v
        for k, v in (request.session.get(SESSION_KEY) or {}).items()
        if isinstance(v, dict) and now - v.get("at", 0) < STATE_MAX_AGE
    }
    for old in sorted(pending, key=lambda k: pending[k]["at"])[: max(0, len(pending) - MAX_PENDING + 1)]:
        del pending[old]
    pending[nonce] = {
        "at": now,
        "verifier": verifier,
        "workspace": str(inbox.workspace_id),
        "slug": request.workspace.slug,
        "inbox": str(inbox.pk),
        "provider": client.provider,
        "client_id": client.client_id,
        "token_url": client.token_url,
        "redirect_uri": redirect_uri,
        "address": address,
    }
    request.session[SESSION_KEY] = pending
    state = sign_state(nonce, request.user.pk, inbox.workspace_id, inbox.pk)
    return authorize_url(
        client, redirect_uri=redirect_uri, state=state, challenge=challenge_of(verifier), login_hint=address
    )


def take(request, state: str) -> dict:
    """The pending flow this callback answers, removed from the session (single use).  Raises
    ``InvalidState`` for a bad, expired, replayed or foreign state."""
    payload = read_state(state)
    if payload["u"] != str(request.user.pk):
        raise InvalidState
    pending = dict(request.session.get(SESSION_KEY) or {})
    entry = pending.pop(payload["n"], None)
    request.session[SESSION_KEY] = pending
    if not isinstance(entry, dict) or time.time() - entry.get("at", 0) >= STATE_MAX_AGE:
        raise InvalidState
    if (entry["workspace"], entry["inbox"]) != (payload["w"], payload["i"]):
        raise InvalidState
    # the session may be read by two requests at once: only the first use passes
    if not cache.add(USED_PREFIX + hashlib.sha256(payload["n"].encode()).hexdigest(), 1, STATE_MAX_AGE + 60):
        raise InvalidState
    return entry


# --- the token endpoint ----------------------------------------------------------------------------
def _claims(id_token: str) -> dict:
    """The claims of an id_token received straight from the token endpoint over TLS (OpenID Connect
    Core §3.1.3.7 lets the TLS server check stand in for the signature check in this case)."""
    try:
        payload = id_token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _address(value) -> str:
    value = str(value or "").strip()
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value


def _answer(response) -> dict:
    try:
        data = json.loads(response.content or b"{}")
    except ValueError:
        data = dict(parse_qsl((response.content or b"").decode("utf-8", "replace")))
    return data if isinstance(data, dict) else {}


def exchange_code(client: Client, *, code: str, verifier: str, redirect_uri: str) -> Tokens:
    """Trade the authorization code for tokens.  Raises ``ConnectFailed`` with a sentence."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client.client_id,
        "code_verifier": verifier,
    }
    if client.client_secret:
        form["client_secret"] = client.client_secret
    try:
        response = http.post(
            client.token_url,
            content=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
    except ConnectorError as exc:
        raise ConnectFailed(
            _("Could not reach the sign-in service of %(provider)s: %(e)s Nothing was changed.")
            % {"provider": client.label, "e": exc}
        ) from None
    data = _answer(response)
    if response.status_code >= 500:
        raise ConnectFailed(
            _(
                "The sign-in service of %(provider)s answered %(status)s. Nothing was changed; "
                "try again later."
            )
            % {"provider": client.label, "status": response.status_code}
        )
    if not response.is_success or not data.get("access_token"):
        raise ConnectFailed(
            _("The sign-in was refused by %(provider)s (%(error)s). Nothing was changed; try again.")
            % {"provider": client.label, "error": str(data.get("error") or response.status_code)[:100]}
        )
    if not data.get("refresh_token"):
        raise ConnectFailed(
            _(
                "Offline access was not granted by %(provider)s (no refresh token), so hotro could not "
                "stay signed in. Nothing was changed; check the scope and try again."
            )
            % {"provider": client.label}
        )
    try:
        expires_in = max(60, int(data.get("expires_in") or 3600))
    except (TypeError, ValueError):
        expires_in = 3600
    claims = _claims(str(data.get("id_token") or ""))
    email = (
        _address(claims.get("email")) if claims.get("email_verified", True) not in (False, "false") else ""
    )
    return Tokens(
        access_token=str(data["access_token"]),
        refresh_token=str(data["refresh_token"]),
        expires_in=expires_in,
        email=email,
        username=_address(claims.get("preferred_username")),
    )


def mailbox_address(tokens: Tokens, typed: str) -> str:
    """The address to sign in to IMAP/SMTP as: the id_token's e-mail, else the address the admin
    typed, else Microsoft's preferred_username."""
    return tokens.email or _address(typed) or tokens.username


# --- storing and removing ----------------------------------------------------------------------------
def store_connection(
    inbox: Inbox, client: Client, tokens: Tokens, address: str, *, actor=None, ip=None
) -> Inbox:
    """Keep the tokens and switch the inbox to OAuth2 sign-in (one transaction, audited)."""
    with tenant_scope(inbox.workspace_id), transaction.atomic():
        locked = Inbox.objects.select_for_update().get(pk=inbox.pk)
        settings = dict(locked.settings or {})
        creds = dict(locked.credentials or {})
        settings["auth"] = "oauth2"
        settings["oauth2"] = {
            "provider": client.provider,
            "authorize_url": client.authorize_url,
            "token_url": client.token_url,
            "client_id": client.client_id,
            "scope": client.scope,
        }
        preset = PRESETS.get(client.provider)
        if preset is not None:  # the grant is only good for the provider's own servers
            imap = settings.get("imap") or {}
            settings["imap"] = {
                **preset.imap,
                "username": address,
                "folders": imap.get("folders") or ["INBOX"],
                "mark_read": bool(imap.get("mark_read", False)),
            }
            settings["smtp"] = {**preset.smtp, "username": address}
        else:
            for kind in ("imap", "smtp"):
                if settings.get(kind):
                    settings[kind] = {**settings[kind], "username": address}
        if not settings.get("from_address"):
            settings["from_address"] = address
        # also forgets a refusal remembered by oauth.refresh: it was about the old grant
        store_tokens(creds, tokens.access_token, tokens.expires_in, tokens.refresh_token)
        if client.operator_client:  # the operator's secret is used; an old custom one must not be
            creds.pop("oauth2_client_secret", None)
        locked.settings, locked.credentials = settings, creds
        fields = ["settings", "credentials"]
        if locked.health != InboxHealth.OK:
            locked.health = InboxHealth.OK
            fields.append("health")
        locked.save(update_fields=fields)
        audit.record(
            locked.workspace_id,
            CONNECTED,
            actor=actor,
            ip=ip,
            object_type="inbox",
            object_id=locked.pk,
            data={"provider": client.provider, "address_from": "id_token" if tokens.email else "admin"},
        )
    return locked


def is_connected(inbox: Inbox) -> bool:
    return (inbox.settings or {}).get("auth") == "oauth2" and bool(
        (inbox.credentials or {}).get("oauth2_refresh_token")
    )


def _revoke(url: str, token: str) -> bool:
    """Best effort: ask the provider to end the grant (RFC 7009); the local removal happened anyway."""
    try:
        response = http.post(
            url,
            content=urlencode({"token": token}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    except ConnectorError:
        return False
    return response.is_success


def disconnect(inbox: Inbox, *, actor=None, ip=None) -> str:
    """Remove the inbox's tokens (it signs in with a password again).  Where the provider offers it
    (Google), the grant is revoked there too, once the removal is committed (no lock is held during
    that request; a failure changes nothing here).  Returns the provider's key.  Audited."""
    with tenant_scope(inbox.workspace_id), transaction.atomic():
        locked = Inbox.objects.select_for_update().get(pk=inbox.pk)
        settings = dict(locked.settings or {})
        creds = dict(locked.credentials or {})
        refresh_token = creds.get("oauth2_refresh_token", "")
        for key in (*TOKEN_KEYS, "oauth2_refused"):
            creds.pop(key, None)
        settings["auth"] = "password"
        locked.settings, locked.credentials = settings, creds
        locked.save(update_fields=["settings", "credentials"])
        provider = (settings.get("oauth2") or {}).get("provider", "")
        preset = PRESETS.get(provider)
        revoke = bool(preset and preset.revoke_url and refresh_token)
        audit.record(
            locked.workspace_id,
            DISCONNECTED,
            actor=actor,
            ip=ip,
            object_type="inbox",
            object_id=locked.pk,
            data={"provider": provider, "revoke": revoke},
        )
        if revoke:
            transaction.on_commit(lambda: _revoke(preset.revoke_url, refresh_token))
    inbox.settings, inbox.credentials = locked.settings, locked.credentials
    return provider
