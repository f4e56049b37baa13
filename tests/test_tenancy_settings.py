"""Settings pages: roles, removal, teams, workspace settings; no reach into another workspace."""

from __future__ import annotations

import pytest

from conftest import as_the_application
from hotro.privacy.models import AuditEvent
from hotro.tenancy.models import Membership, Role, Team, TeamMember

pytestmark = pytest.mark.django_db


def _member(ws, email, role):
    from hotro.accounts.models import User

    user = User.objects.create_user(username=email, email=email, password=None)  # no hashing: force_login
    return Membership.objects.create(workspace=ws, user=user, role=role)


def _role(member):
    member.refresh_from_db()
    return member.role


def test_admin_changes_roles_but_not_owners(client, owner_a):
    admin = _member(owner_a.workspace, "admin@alpha.test", Role.ADMIN)
    agent = _member(owner_a.workspace, "agent@alpha.test", Role.AGENT)
    client.force_login(admin.user)
    assert client.post(f"/settings/alpha/members/{agent.pk}/role/", {"role": "viewer"}).status_code == 302
    assert _role(agent) == Role.VIEWER
    # Owners are out of an admin's reach, both ways.
    assert client.post(f"/settings/alpha/members/{agent.pk}/role/", {"role": "owner"}).status_code == 403
    assert client.post(f"/settings/alpha/members/{owner_a.pk}/role/", {"role": "agent"}).status_code == 403
    assert client.post(f"/settings/alpha/members/{owner_a.pk}/remove/").status_code == 403
    assert _role(agent) == Role.VIEWER and _role(owner_a) == Role.OWNER
    event = AuditEvent.objects.get(workspace=owner_a.workspace, action="member.role_changed")
    assert event.data == {"from": "agent", "to": "viewer"}


def test_agents_cannot_open_settings(client, owner_a):
    agent = _member(owner_a.workspace, "agent@alpha.test", Role.AGENT)
    client.force_login(agent.user)
    response = client.get("/settings/alpha/members/")
    assert response.status_code == 403
    assert "Hãy hỏi chủ sở hữu" in response.content.decode()
    assert client.post(f"/settings/alpha/members/{owner_a.pk}/role/", {"role": "viewer"}).status_code == 403


def test_the_last_owner_cannot_be_demoted_or_removed(client, owner_a):
    client.force_login(owner_a.user)
    client.post(f"/settings/alpha/members/{owner_a.pk}/role/", {"role": "admin"})
    client.post(f"/settings/alpha/members/{owner_a.pk}/remove/")
    owner_a.refresh_from_db()
    assert owner_a.role == Role.OWNER and owner_a.is_active
    # With a second owner, the first may step down.
    second = _member(owner_a.workspace, "second@alpha.test", Role.AGENT)
    client.post(f"/settings/alpha/members/{second.pk}/role/", {"role": "owner"})
    assert _role(second) == Role.OWNER
    client.post(f"/settings/alpha/members/{owner_a.pk}/role/", {"role": "admin"})
    assert _role(owner_a) == Role.ADMIN


def test_removing_a_member_deactivates_and_leaves_teams(client, owner_a):
    agent = _member(owner_a.workspace, "agent@alpha.test", Role.AGENT)
    team = Team.objects.create(workspace=owner_a.workspace, name="Support")
    TeamMember.objects.create(workspace=owner_a.workspace, team=team, membership=agent)
    client.force_login(owner_a.user)
    assert client.post(f"/settings/alpha/members/{agent.pk}/remove/").status_code == 302
    agent.refresh_from_db()
    assert not agent.is_active
    assert not TeamMember.objects.filter(membership=agent).exists()
    assert AuditEvent.objects.filter(workspace=owner_a.workspace, action="member.removed").exists()
    client.force_login(agent.user)
    assert client.get("/settings/alpha/members/").status_code == 404


def test_team_crud_and_membership(client, owner_a):
    agent = _member(owner_a.workspace, "agent@alpha.test", Role.AGENT)
    client.force_login(owner_a.user)
    client.post("/settings/alpha/teams/", {"name": "Hỗ trợ"})
    team = Team.objects.get(workspace=owner_a.workspace)
    assert team.name == "Hỗ trợ"
    client.post("/settings/alpha/teams/", {"name": "Hỗ trợ"})  # duplicate: refused with a message
    assert Team.objects.filter(workspace=owner_a.workspace).count() == 1
    client.post(f"/settings/alpha/teams/{team.pk}/", {"name": "Bán hàng"})
    team.refresh_from_db()
    assert team.name == "Bán hàng"
    client.post(f"/settings/alpha/teams/{team.pk}/members/", {"membership": str(agent.pk)})
    assert list(team.members.all()) == [agent]
    page = client.get(f"/settings/alpha/teams/{team.pk}/")
    assert "agent@alpha.test" in page.content.decode()
    client.post(f"/settings/alpha/teams/{team.pk}/members/{agent.pk}/remove/")
    assert not team.members.exists()
    client.post(f"/settings/alpha/teams/{team.pk}/delete/")
    assert not Team.objects.filter(workspace=owner_a.workspace).exists()


def test_workspace_settings_mfa_switch_is_for_owners(client, owner_a):
    admin = _member(owner_a.workspace, "admin@alpha.test", Role.ADMIN)
    data = {"name": "Alpha Co", "time_zone": "Asia/Bangkok", "language": "en", "mfa_required": "on"}
    client.force_login(admin.user)
    assert client.post("/settings/alpha/workspace/", data).status_code == 302
    ws = owner_a.workspace
    ws.refresh_from_db()
    assert (ws.name, ws.time_zone, ws.language, ws.mfa_required) == ("Alpha Co", "Asia/Bangkok", "en", False)
    client.force_login(owner_a.user)
    client.post("/settings/alpha/workspace/", data)
    ws.refresh_from_db()
    assert ws.mfa_required
    events = AuditEvent.objects.filter(workspace=ws, action="workspace.settings_changed").order_by("seq")
    assert [sorted(e.data["changed"]) for e in events] == [
        ["language", "name", "time_zone"],
        ["mfa_required"],
    ]


def test_workspace_settings_reject_an_unknown_time_zone(client, owner_a):
    client.force_login(owner_a.user)
    data = {"name": "Alpha", "time_zone": "Mars/Olympus", "language": "vi"}
    assert client.post("/settings/alpha/workspace/", data).status_code == 200
    owner_a.workspace.refresh_from_db()
    assert owner_a.workspace.time_zone == "Asia/Ho_Chi_Minh"


def test_every_settings_endpoint_refuses_another_workspace(client, owner_a, owner_b):
    from hotro.tenancy.invitations import do_invite

    team_b = Team.objects.create(workspace=owner_b.workspace, name="B team")
    invitation_b = do_invite(owner_b, "someone@example.test", Role.AGENT)
    team_a = Team.objects.create(workspace=owner_a.workspace, name="A team")
    client.force_login(owner_a.user)
    b, mb = "beta", owner_b.pk
    # Another workspace's slug: 404 everywhere.
    slug_urls = [
        f"/settings/{b}/",
        f"/settings/{b}/workspace/",
        f"/settings/{b}/members/",
        f"/settings/{b}/teams/",
        f"/settings/{b}/teams/{team_b.pk}/",
    ]
    for url in slug_urls:
        assert client.get(url).status_code == 404, url
    # Own slug, another workspace's ids: 404 too.
    post_urls = [
        f"/settings/{b}/invitations/",
        f"/settings/alpha/members/{mb}/role/",
        f"/settings/alpha/members/{mb}/remove/",
        f"/settings/alpha/invitations/{invitation_b.pk}/resend/",
        f"/settings/alpha/invitations/{invitation_b.pk}/revoke/",
        f"/settings/alpha/teams/{team_b.pk}/",
        f"/settings/alpha/teams/{team_b.pk}/delete/",
        f"/settings/alpha/teams/{team_b.pk}/members/",
        f"/settings/alpha/teams/{team_a.pk}/members/{mb}/remove/",
        f"/settings/alpha/teams/{team_b.pk}/members/{owner_a.pk}/remove/",
    ]
    for url in post_urls:
        assert client.post(url, {"role": "viewer", "name": "x", "email": "a@b.test"}).status_code == 404, url
    assert (
        client.post(f"/settings/alpha/teams/{team_a.pk}/members/", {"membership": str(mb)}).status_code == 404
    )
    owner_b.refresh_from_db()
    invitation_b.refresh_from_db()
    assert owner_b.role == Role.OWNER and owner_b.is_active and invitation_b.revoked_at is None
    assert Team.objects.filter(pk=team_b.pk, name="B team").exists()


def test_mfa_required_workspace_forces_totp_activation(client, owner_a):
    from accounts_totp import totp_now

    ws = owner_a.workspace
    ws.mfa_required = True
    ws.save()
    client.post("/accounts/login/", {"login": "owner@alpha.test", "password": "correct-horse-9"})
    response = client.get("/settings/alpha/members/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/")
    # allauth asks for the password again before an authenticator is added.
    confirm = client.get(response["Location"])
    assert confirm["Location"].startswith("/accounts/reauthenticate/")
    client.post(confirm["Location"], {"password": "correct-horse-9"})
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in body  # the QR code is inline, from no other origin
    secret = page.context["form"].secret
    activated = client.post("/accounts/2fa/totp/activate/", {"code": totp_now(secret)})
    assert activated.status_code == 302
    codes = client.get(activated["Location"])  # allauth shows the new recovery codes next
    assert 'href="/settings/alpha/members/"' in codes.content.decode()  # "Continue" to where they were going
    assert client.get("/settings/alpha/members/").status_code == 200
    assert "hotro_mfa_next" not in client.session


# --- PostgreSQL Row-Level Security: the pages work as the application role ----------------------
@pytest.fixture
def as_app_role(db):
    """The PostgreSQL pass runs every test as the application role (conftest): check that premise."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        role, is_super, bypasses = cursor.fetchone()
    assert not is_super and not bypasses
    return role


@pytest.mark.postgres
def test_settings_and_invitations_work_under_row_level_security(
    client, owner_a, owner_b, django_capture_on_commit_callbacks, as_app_role
):
    import re

    from django.core import mail

    from hotro.privacy import keys

    with as_the_application():
        assert Membership.objects.count() == 0  # outside any scope the application role sees nothing
    client.force_login(owner_a.user)
    page = client.get("/settings/alpha/members/")
    assert page.status_code == 200
    assert "owner@alpha.test" in page.content.decode() and "owner@beta.test" not in page.content.decode()
    assert client.get("/settings/beta/members/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/settings/alpha/invitations/", {"email": "rls@example.test", "role": "agent"})
    token = re.search(r"/invite/([A-Za-z0-9_-]+)/", mail.outbox[-1].body).group(1)
    client.logout()
    keys.forget_cached_keys()  # as in another process: the workspace key is read under RLS
    response = client.post(
        f"/invite/{token}/", {"password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}
    )
    assert response.status_code == 302
    assert client.get("/settings/alpha/members/").status_code == 403  # an agent now, signed in
