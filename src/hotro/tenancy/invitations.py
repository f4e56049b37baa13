"""Invitations by e-mail: invite, resend, revoke, accept.

The token is 256 random bits, sent only in the e-mail link ``/invite/<token>/`` and stored as its
SHA-256; the address is encrypted with a blind index for look-ups.  An invitation is usable until it
is accepted, revoked or ``HOTRO_INVITATION_DAYS`` (7) days old.  The e-mail goes out after the
transaction commits, in the workspace's language; a delivery failure is logged (without the address)
and the admin can resend.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from smtplib import SMTPException

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from hotro.privacy.blind import email_index, normalize_email
from hotro.privacy.rls import in_workspace, system_scope, tenant_scope

from .access import AccessDenied, require_admin
from .actions import audit
from .models import Invitation, Membership, Role

log = logging.getLogger(__name__)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def pending_invitations(workspace_id):
    return Invitation.objects.filter(
        workspace_id=workspace_id,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


def find_invitation(token: str) -> Invitation | None:
    """The usable invitation for a token from a link, or None (unknown, expired, revoked or used)."""
    if not token or len(token) > 128:
        return None
    with system_scope():  # the token names the workspace: the look-up crosses workspaces
        invitation = (
            Invitation.objects.select_related("workspace", "invited_by")
            .filter(token_hash=hash_token(token))
            .first()
        )
    if invitation is None or not is_usable(invitation):
        return None
    return invitation


def is_usable(invitation: Invitation) -> bool:
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > timezone.now()
        and invitation.workspace.closed_at is None
    )


def _new_token(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(token)
    invitation.expires_at = timezone.now() + timedelta(days=settings.HOTRO_INVITATION_DAYS)
    return token


def _require_may_invite(actor: Membership, role: str) -> None:
    require_admin(actor)
    if role not in Role.values:
        raise ValidationError(_("Choose a role from the list."))
    if role == Role.OWNER and not actor.has_role(Role.OWNER):
        raise AccessDenied(_("Only an owner can invite another owner."))


def check_invite(actor: Membership, email: str, role: str, *, ip=None) -> Invitation:
    _require_may_invite(actor, role)
    email = normalize_email(email)
    User = get_user_model()
    if Membership.objects.filter(
        workspace_id=actor.workspace_id, is_active=True, user__in=User.objects.filter(email__iexact=email)
    ).exists():
        raise ValidationError(_("This person is already a member of the workspace."))
    for invitation in pending_invitations(actor.workspace_id).filter(
        email_bidx=email_index(actor.workspace_id, email)
    ):
        if invitation.email == email:
            raise ValidationError(_("This address already has a pending invitation. Resend it instead."))
    return do_invite(actor, email, role, ip=ip)


@in_workspace("actor", atomic=True)
def do_invite(actor: Membership, email: str, role: str, *, ip=None) -> Invitation:
    """Create the invitation and e-mail its link after commit; audited as ``member.invited``."""
    email = normalize_email(email)
    invitation = Invitation(
        workspace_id=actor.workspace_id,
        email=email,
        email_bidx=email_index(actor.workspace_id, email),
        role=role,
        invited_by=actor,
    )
    token = _new_token(invitation)
    invitation.save()
    audit(
        actor.workspace_id,
        "member.invited",
        actor=actor,
        object_type="invitation",
        object_id=invitation.pk,
        data={"role": role},
        ip=ip,
    )
    transaction.on_commit(lambda: send_invitation(invitation.workspace_id, invitation.pk, token))
    return invitation


def check_resend_invitation(actor: Membership, invitation: Invitation, *, ip=None) -> Invitation:
    _require_may_invite(actor, invitation.role)
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError(_("This invitation was already used or revoked. Send a new one."))
    return do_resend_invitation(invitation, actor=actor, ip=ip)


@in_workspace("invitation", atomic=True)
def do_resend_invitation(invitation: Invitation, *, actor: Membership | None = None, ip=None) -> Invitation:
    """A fresh token and expiry (the old link stops working), and the e-mail again."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    token = _new_token(invitation)
    invitation.save(update_fields=["token_hash", "expires_at"])
    audit(
        invitation.workspace_id,
        "member.invitation_resent",
        actor=actor,
        object_type="invitation",
        object_id=invitation.pk,
        ip=ip,
    )
    transaction.on_commit(lambda: send_invitation(invitation.workspace_id, invitation.pk, token))
    return invitation


def check_revoke_invitation(actor: Membership, invitation: Invitation, *, ip=None) -> Invitation:
    _require_may_invite(actor, invitation.role)
    return do_revoke_invitation(invitation, actor=actor, ip=ip)


@in_workspace("invitation", atomic=True)
def do_revoke_invitation(invitation: Invitation, *, actor: Membership | None = None, ip=None) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.revoked_at or invitation.accepted_at:
        return invitation
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit(
        invitation.workspace_id,
        "member.invitation_revoked",
        actor=actor,
        object_type="invitation",
        object_id=invitation.pk,
        ip=ip,
    )
    return invitation


WRONG_ADDRESS = gettext_noop(
    "This invitation was sent to another address. Sign out and open the link again, or ask for a new "
    "invitation."
)


def is_for_user(invitation: Invitation, user) -> bool:
    """Whether ``user``'s account has the invited address (the link alone proves nothing: it can be
    forwarded).  Call inside the invitation's ``tenant_scope`` (the address is decrypted)."""
    email = getattr(user, "email", "") or ""
    return bool(email) and normalize_email(email) == normalize_email(invitation.email or "")


def do_accept_invitation(invitation: Invitation, user) -> Membership:
    """Make ``user`` a member with the invited role (re-activating a former membership).

    Raises ValidationError when the invitation is no longer usable, was sent to another address than
    the user's, or the user is already an active member.  Safe against double submission: the
    invitation row is locked and marked accepted.
    """
    with tenant_scope(invitation.workspace_id), transaction.atomic():
        return _accept(invitation, user)


def _accept(invitation: Invitation, user) -> Membership:
    invitation = Invitation.objects.select_for_update().select_related("workspace").get(pk=invitation.pk)
    if not is_usable(invitation):
        raise ValidationError(_("This invitation has expired or was revoked. Ask for a new one."))
    if not is_for_user(invitation, user):
        raise ValidationError(_(WRONG_ADDRESS))
    member = (
        Membership.objects.select_for_update().filter(workspace_id=invitation.workspace_id, user=user).first()
    )
    if member is not None and member.is_active:
        raise ValidationError(_("You are already a member of this workspace."))
    if member is None:
        member = Membership.objects.create(
            workspace_id=invitation.workspace_id, user=user, role=invitation.role
        )
    else:
        member.role = invitation.role
        member.is_active = True
        member.save(update_fields=["role", "is_active"])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit(
        invitation.workspace_id,
        "member.joined",
        actor=member,
        object_type="membership",
        object_id=member.pk,
        data={"role": member.role, "invitation": str(invitation.pk)},
    )
    return member


def send_invitation(workspace_id, invitation_id, token: str) -> bool:
    """E-mail the invitation link in the workspace's language; False (and a log line) on failure."""
    with tenant_scope(workspace_id):
        invitation = Invitation.objects.select_related("workspace", "invited_by__user").get(
            workspace_id=workspace_id, pk=invitation_id
        )
        address = invitation.email
    workspace = invitation.workspace
    link = settings.PUBLIC_URL + reverse("invitation_accept", args=[token])
    with translation.override(workspace.language):
        context = {
            "workspace": workspace,
            "inviter": str(invitation.invited_by) if invitation.invited_by else "",
            "role": invitation.get_role_display(),
            "link": link,
            "days": settings.HOTRO_INVITATION_DAYS,
        }
        subject = render_to_string("tenancy/email/invitation_subject.txt", context).strip()
        body = render_to_string("tenancy/email/invitation_body.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
    except (SMTPException, OSError):
        log.warning("invitation e-mail for invitation %s could not be sent", invitation.pk)
        return False
    return True
