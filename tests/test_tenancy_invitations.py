"""Invitations: invite by e-mail, accept (new or existing account), expiry, revoke, resend."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from hotro.tenancy.models import Invitation, Membership, Role

pytestmark = pytest.mark.django_db

LINK = re.compile(r"/invite/([A-Za-z0-9_-]+)/")


def _invite(client, owner, email, role, capture):
    client.force_login(owner.user)
    with capture(execute=True):
        response = client.post(
            f"/settings/{owner.workspace.slug}/invitations/", {"email": email, "role": role}
        )
    assert response.status_code == 302
    client.logout()
    return LINK.search(mail.outbox[-1].body).group(1)


def test_invite_stores_hashed_token_and_encrypted_address(
    client, owner_a, django_capture_on_commit_callbacks
):
    token = _invite(client, owner_a, "New.Agent@Example.test", Role.AGENT, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(workspace=owner_a.workspace)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert invitation.email == "new.agent@example.test"
    raw = Invitation.objects.filter(pk=invitation.pk).values_list("email", flat=True).get()
    assert b"new.agent" not in bytes(raw)
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
    message = mail.outbox[-1]
    assert message.to == ["new.agent@example.test"]
    assert "Alpha" in message.subject
    assert "Bạn được mời" in message.subject  # the workspace speaks Vietnamese
    from hotro.privacy.models import AuditEvent

    assert AuditEvent.objects.filter(workspace=owner_a.workspace, action="member.invited").count() == 1


def test_accepting_creates_the_account_and_membership_with_the_role(
    client, owner_a, django_capture_on_commit_callbacks
):
    token = _invite(client, owner_a, "admin2@example.test", Role.ADMIN, django_capture_on_commit_callbacks)
    page = client.get(f"/invite/{token}/")
    assert page.status_code == 200
    response = client.post(
        f"/invite/{token}/", {"password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/w/alpha/"
    member = Membership.objects.select_related("user").get(
        workspace=owner_a.workspace, user__email="admin2@example.test"
    )
    assert member.role == Role.ADMIN and member.is_active
    assert member.user.check_password("a-long-pass-phrase")
    assert client.session["_auth_user_id"] == str(member.user.pk)
    # The link works once.
    client.logout()
    assert client.get(f"/invite/{token}/").status_code == 404


def test_accepting_refuses_a_weak_password(client, owner_a, django_capture_on_commit_callbacks):
    token = _invite(client, owner_a, "weak@example.test", Role.AGENT, django_capture_on_commit_callbacks)
    response = client.post(f"/invite/{token}/", {"password1": "12345", "password2": "12345"})
    assert response.status_code == 200
    assert not Membership.objects.filter(user__email="weak@example.test").exists()


def test_a_signed_in_user_accepts_for_their_own_account(
    client, owner_a, owner_b, django_capture_on_commit_callbacks
):
    token = _invite(client, owner_a, "owner@beta.test", Role.VIEWER, django_capture_on_commit_callbacks)
    # Not signed in: asked to sign in first, nothing created.
    page = client.get(f"/invite/{token}/")
    assert page.status_code == 200 and "/accounts/login/?next=" in page.content.decode()
    client.force_login(owner_b.user)
    response = client.post(f"/invite/{token}/")
    assert response.status_code == 302
    member = Membership.objects.get(workspace=owner_a.workspace, user=owner_b.user)
    assert member.role == Role.VIEWER


def test_expired_and_revoked_invitations_are_refused(client, owner_a, django_capture_on_commit_callbacks):
    expired = _invite(client, owner_a, "late@example.test", Role.AGENT, django_capture_on_commit_callbacks)
    Invitation.objects.filter(token_hash=hashlib.sha256(expired.encode()).hexdigest()).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(f"/invite/{expired}/").status_code == 404
    response = client.post(
        f"/invite/{expired}/", {"password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}
    )
    assert response.status_code == 404
    assert not Membership.objects.filter(user__email="late@example.test").exists()

    revoked = _invite(client, owner_a, "gone@example.test", Role.AGENT, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(token_hash=hashlib.sha256(revoked.encode()).hexdigest())
    client.force_login(owner_a.user)
    assert client.post(f"/settings/alpha/invitations/{invitation.pk}/revoke/").status_code == 302
    client.logout()
    assert client.get(f"/invite/{revoked}/").status_code == 404
    assert client.get("/invite/not-a-real-token/").status_code == 404


def test_resend_replaces_the_link(client, owner_a, django_capture_on_commit_callbacks):
    first = _invite(client, owner_a, "again@example.test", Role.AGENT, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(workspace=owner_a.workspace)
    client.force_login(owner_a.user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/settings/alpha/invitations/{invitation.pk}/resend/").status_code == 302
    second = LINK.search(mail.outbox[-1].body).group(1)
    assert second != first
    client.logout()
    assert client.get(f"/invite/{first}/").status_code == 404
    assert client.get(f"/invite/{second}/").status_code == 200


def test_inviting_twice_or_a_member_is_refused(client, owner_a, django_capture_on_commit_callbacks):
    _invite(client, owner_a, "twice@example.test", Role.AGENT, django_capture_on_commit_callbacks)
    client.force_login(owner_a.user)
    client.post("/settings/alpha/invitations/", {"email": "TWICE@example.test", "role": "agent"})
    client.post("/settings/alpha/invitations/", {"email": "owner@alpha.test", "role": "agent"})
    assert Invitation.objects.filter(workspace=owner_a.workspace).count() == 1


def test_admins_cannot_invite_owners_and_agents_cannot_invite(client, owner_a):
    from hotro.accounts.models import User

    for role in (Role.ADMIN, Role.AGENT):
        user = User.objects.create_user(
            username=f"{role}@alpha.test", email=f"{role}@alpha.test", password=None
        )
        Membership.objects.create(workspace=owner_a.workspace, user=user, role=role)
    client.force_login(User.objects.get(email="admin@alpha.test"))
    assert client.post(
        "/settings/alpha/invitations/", {"email": "boss@example.test", "role": "owner"}
    ).status_code in (
        302,
        403,
    )
    client.force_login(User.objects.get(email="agent@alpha.test"))
    assert (
        client.post("/settings/alpha/invitations/", {"email": "x@example.test", "role": "viewer"}).status_code
        == 403
    )
    assert not Invitation.objects.exists()


def test_it_refuses_a_forwarded_link_to_another_signed_in_account(
    client, owner_a, owner_b, django_capture_on_commit_callbacks
):
    token = _invite(client, owner_a, "invitee@example.test", Role.OWNER, django_capture_on_commit_callbacks)
    client.force_login(owner_b.user)  # owner@beta.test opens a link sent to invitee@example.test
    response = client.post(f"/invite/{token}/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert not Membership.objects.filter(workspace=owner_a.workspace, user=owner_b.user).exists()
    assert "This invitation was sent to another address" in response.content.decode()
    invitation = Invitation.objects.get(workspace=owner_a.workspace)
    assert invitation.accepted_at is None  # still usable by the right person


def test_it_refuses_accepting_directly_for_an_account_with_another_address(owner_a, owner_b):
    from django.core.exceptions import ValidationError

    from hotro.privacy.rls import tenant_scope
    from hotro.tenancy.invitations import do_accept_invitation, do_invite

    with tenant_scope(owner_a.workspace_id):
        invitation = do_invite(owner_a, "Someone@Example.test", Role.ADMIN)
    with pytest.raises(ValidationError, match="sent to another address"), translation.override("en"):
        do_accept_invitation(invitation, owner_b.user)
    assert not Membership.objects.filter(workspace=owner_a.workspace, user=owner_b.user).exists()


def test_a_signed_in_user_with_the_invited_address_in_other_case_joins(
    client, owner_a, owner_b, django_capture_on_commit_callbacks
):
    token = _invite(client, owner_a, "Owner@Beta.TEST", Role.AGENT, django_capture_on_commit_callbacks)
    client.force_login(owner_b.user)
    assert client.post(f"/invite/{token}/").status_code == 302
    assert Membership.objects.get(workspace=owner_a.workspace, user=owner_b.user).role == Role.AGENT
