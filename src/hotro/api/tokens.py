"""Creating, revoking and authenticating API tokens.

Plaintext format ``hotro_<prefix>_<secret>``: ``prefix`` is 8 lower-case letters/digits (unique,
shown in the UI), ``secret`` 43 url-safe characters (256 bits).  Only the SHA-256 of the whole
plaintext is stored.  Each token acts through its own service member (role admin, a user that cannot
log in) so the conversation history shows "API: <name>".
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.privacy.rls import in_workspace
from hotro.tenancy.access import require_admin
from hotro.tenancy.models import Membership, Role

from .models import ApiToken

log = logging.getLogger(__name__)

PREFIX_ALPHABET = string.ascii_lowercase + string.digits
PREFIX_LENGTH = 8
TOKEN_PREFIX = "hotro_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_CREATED = "api_token.created"
TOKEN_REVOKED = "api_token.revoked"


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _new_prefix() -> str:
    return "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))


def _audit(workspace_id, action: str, token: ApiToken, actor: Membership | None) -> None:
    from hotro.privacy.audit import record

    record(
        workspace_id,
        action,
        actor=actor.user if actor is not None else None,
        object_type="api_token",
        object_id=token.pk,
        data={"prefix": token.prefix},
    )


@in_workspace("workspace")
def create_token(workspace, name: str = "", created_by: Membership | None = None) -> tuple[ApiToken, str]:
    """A new token and its plaintext (show it once; it cannot be recovered).  Trusted: no role check."""
    name = (name or "").strip()[:120] or _("API token")
    for _attempt in range(5):
        prefix = _new_prefix()
        plaintext = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                return _create(workspace, name, prefix, plaintext, created_by), plaintext
        except IntegrityError:  # prefix collision (1 in ~10^12): draw again
            continue
    raise RuntimeError("Could not allocate a unique API token prefix.")


def _create(workspace, name, prefix, plaintext, created_by) -> ApiToken:
    User = get_user_model()
    user = User(
        username=f"api-{prefix}",
        email=f"api-{prefix}@api-token.invalid",
        first_name=f"API: {name}"[:150],
        is_active=False,  # a service account: it never logs in
    )
    user.set_unusable_password()
    user.save()
    member = Membership.objects.create(
        workspace_id=workspace.pk, user=user, role=Role.ADMIN, display_name=f"API: {name}"[:120]
    )
    token = ApiToken.objects.create(
        workspace_id=workspace.pk,
        name=name,
        prefix=prefix,
        token_hash=hash_token(plaintext),
        membership=member,
        created_by=created_by,
    )
    _audit(workspace.pk, TOKEN_CREATED, token, created_by)
    return token


def check_create_token(actor: Membership, name: str = "") -> tuple[ApiToken, str]:
    require_admin(actor)
    if not (name or "").strip():
        raise ValidationError(_("Give the token a name, e.g. the system that will use it."))
    return create_token(actor.workspace, name, created_by=actor)


@in_workspace("token", atomic=True)
def revoke_token(token: ApiToken, revoked_by: Membership | None = None) -> ApiToken:
    """Revoke at once (idempotent); the service member is deactivated, its history kept."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    Membership.objects.filter(pk=token.membership_id).update(is_active=False)
    _audit(token.workspace_id, TOKEN_REVOKED, token, revoked_by)
    return token


def check_revoke_token(actor: Membership, token: ApiToken) -> ApiToken:
    require_admin(actor)
    if token.workspace_id != actor.workspace_id:
        raise ValidationError("Token of another workspace.")
    return revoke_token(token, revoked_by=actor)


def authenticate(plaintext: str) -> ApiToken | None:
    """The active token for ``plaintext`` (with ``membership``, its user and workspace), or None."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or len(parts[1]) != PREFIX_LENGTH:
        return None
    from hotro.privacy.rls import system_scope

    with system_scope():  # the workspace is not known before the token is found
        token = (
            ApiToken.objects.select_related("membership__user", "membership__workspace")
            .filter(prefix=parts[1])
            .first()
        )
    expected = token.token_hash if token is not None else "0" * 64
    if not hmac.compare_digest(expected, hash_token(plaintext)) or token is None:
        return None
    if token.revoked_at is not None or token.membership.workspace.closed_at is not None:
        return None
    if not token.membership.is_active or token.membership.role not in (Role.ADMIN, Role.OWNER):
        return None
    _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    """Record use, at most once a minute per token (no write on every request)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    from hotro.privacy.rls import tenant_scope

    with tenant_scope(token.workspace_id):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
