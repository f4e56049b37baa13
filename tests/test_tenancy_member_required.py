"""member_required: workspace resolution, roles, time zone, language, MFA enforcement."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.utils import timezone, translation

from hotro.tenancy.middleware import default_workspace_for, member_required
from hotro.tenancy.models import Membership, Role

pytestmark = pytest.mark.django_db


def _request(user, path="/w/alpha/"):
    request = RequestFactory().get(path)
    request.user = user
    request.session = SessionStore()
    return request


@member_required()
def _any_member(request, slug):
    return HttpResponse(
        f"{request.workspace.slug}|{request.member.role}|{timezone.get_current_timezone_name()}|"
        f"{translation.get_language()}"
    )


@member_required(role=Role.ADMIN)
def _admins_only(request, slug):
    return HttpResponse("ok")


def _add(ws, email, role, active=True):
    from hotro.accounts.models import User

    user = User.objects.create_user(username=email, email=email, password=None)  # no hashing: force_login
    return Membership.objects.create(workspace=ws, user=user, role=role, is_active=active)


def test_it_resolves_member_workspace_zone_and_language(owner_a):
    response = _any_member(_request(owner_a.user), "alpha")
    assert response.content.decode() == "alpha|owner|Asia/Ho_Chi_Minh|vi"


def test_it_prefers_the_users_language_over_the_workspaces(owner_a):
    owner_a.user.language = "en"
    owner_a.user.save()
    assert _any_member(_request(owner_a.user), "alpha").content.decode().endswith("|en")


def test_it_answers_404_for_another_workspace_or_unknown_slug(owner_a, ws_b):
    with pytest.raises(Http404):
        _any_member(_request(owner_a.user), "beta")
    with pytest.raises(Http404):
        _any_member(_request(owner_a.user), "nope")


def test_it_answers_404_for_an_inactive_member(ws_a):
    member = _add(ws_a, "gone@alpha.test", Role.ADMIN, active=False)
    with pytest.raises(Http404):
        _any_member(_request(member.user), "alpha")


def test_it_redirects_anonymous_users_to_login(ws_a):
    response = _any_member(_request(AnonymousUser()), "alpha")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_it_refuses_a_low_role_with_a_friendly_403(ws_a):
    agent = _add(ws_a, "agent@alpha.test", Role.AGENT)
    response = _admins_only(_request(agent.user), "alpha")
    assert response.status_code == 403
    assert "Hãy hỏi chủ sở hữu" in response.content.decode()  # the workspace speaks Vietnamese
    assert _any_member(_request(agent.user), "alpha").status_code == 200


def test_it_forces_totp_activation_when_the_workspace_requires_mfa(owner_a):
    from allauth.mfa.models import Authenticator

    ws = owner_a.workspace
    ws.mfa_required = True
    ws.save()
    response = _any_member(_request(owner_a.user), "alpha")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/")
    Authenticator.objects.create(user=owner_a.user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert _any_member(_request(owner_a.user), "alpha").status_code == 200


def test_it_restores_the_time_zone_after_the_view(owner_a):
    timezone.deactivate()
    _any_member(_request(owner_a.user), "alpha")
    assert timezone.get_current_timezone_name() == "UTC"


def test_default_workspace_is_the_oldest_active_membership(owner_a, ws_b):
    user = owner_a.user
    assert default_workspace_for(user) == owner_a.workspace
    Membership.objects.create(workspace=ws_b, user=user, role=Role.AGENT)
    assert default_workspace_for(user) == owner_a.workspace
    Membership.objects.filter(pk=owner_a.pk).update(is_active=False)
    assert default_workspace_for(user) == ws_b
    assert default_workspace_for(AnonymousUser()) is None


def test_a_refused_action_anywhere_shows_the_friendly_403_page(owner_a):
    from django.views.defaults import permission_denied

    from hotro.tenancy.access import AccessDenied

    request = _request(owner_a.user)
    with translation.override("en"):
        response = permission_denied(request, AccessDenied("no"))
    assert response.status_code == 403
    assert "Ask an owner or admin of the workspace" in response.content.decode()
