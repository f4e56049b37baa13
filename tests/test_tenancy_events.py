"""Settings changes carry the client's IP into the audit log and tell open browsers when a member's
access changes (realtime ``member.removed``)."""

from __future__ import annotations

import pytest

from hotro.privacy.audit import verify_chain
from hotro.privacy.models import AuditEvent
from hotro.realtime.models import RealtimeEvent
from hotro.tenancy.models import Invitation, Membership, Role, Team

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"


def _member(ws, email, role):
    from hotro.accounts.models import User

    user = User.objects.create_user(username=email, email=email, password=None)
    return Membership.objects.create(workspace=ws, user=user, role=role)


def test_it_records_the_client_ip_of_every_settings_change(client, owner_a):
    agent = _member(owner_a.workspace, "agent@alpha.test", Role.AGENT)
    other = _member(owner_a.workspace, "other@alpha.test", Role.AGENT)
    client.force_login(owner_a.user)

    def post(path, data=None):
        response = client.post(f"/settings/alpha/{path}", data or {}, REMOTE_ADDR=IP)
        assert response.status_code == 302, path
        return response

    settings_data = {"name": "Alpha Co", "time_zone": "Asia/Bangkok", "language": "en"}
    post("workspace/", settings_data)
    post(f"members/{agent.pk}/role/", {"role": "viewer"})
    post(f"members/{other.pk}/remove/")
    post("teams/", {"name": "Billing"})
    team = Team.objects.get(workspace=owner_a.workspace, name="Billing")
    post(f"teams/{team.pk}/", {"name": "Payments"})
    post(f"teams/{team.pk}/members/", {"membership": str(agent.pk)})
    post(f"teams/{team.pk}/members/{agent.pk}/remove/")
    post(f"teams/{team.pk}/delete/")
    post("invitations/", {"email": "new@example.test", "role": "agent"})
    invitation = Invitation.objects.get(workspace=owner_a.workspace)
    post(f"invitations/{invitation.pk}/resend/")
    post(f"invitations/{invitation.pk}/revoke/")

    events = AuditEvent.objects.filter(workspace=owner_a.workspace).exclude(action="member.joined")
    by_action = {e.action: e.ip for e in events}
    expected = {
        "workspace.settings_changed",
        "member.role_changed",
        "member.removed",
        "team.created",
        "team.renamed",
        "team.member_added",
        "team.member_removed",
        "team.deleted",
        "member.invited",
        "member.invitation_resent",
        "member.invitation_revoked",
    }
    assert expected <= set(by_action)
    assert {action: by_action[action] for action in expected} == dict.fromkeys(expected, IP)
    assert all("@" not in e.actor_label for e in events)
    assert verify_chain(owner_a.workspace_id) == []


def test_removing_a_member_or_changing_a_role_tells_open_browsers(
    client, owner_a, django_capture_on_commit_callbacks
):
    agent = _member(owner_a.workspace, "agent@alpha.test", Role.AGENT)
    viewer = _member(owner_a.workspace, "viewer@alpha.test", Role.VIEWER)
    client.force_login(owner_a.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/settings/alpha/members/{agent.pk}/role/", {"role": "admin"})
        client.post(f"/settings/alpha/members/{viewer.pk}/remove/")
    payloads = [
        e.payload
        for e in RealtimeEvent.objects.filter(workspace=owner_a.workspace, type="member.removed").order_by(
            "id"
        )
    ]
    assert payloads == [
        {"type": "member.removed", "membership_id": str(agent.pk), "reason": "role_changed"},
        {"type": "member.removed", "membership_id": str(viewer.pk), "reason": "removed"},
    ]


def test_a_refused_or_unchanged_role_change_tells_no_one(client, owner_a, django_capture_on_commit_callbacks):
    agent = _member(owner_a.workspace, "agent@alpha.test", Role.AGENT)
    client.force_login(owner_a.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/settings/alpha/members/{agent.pk}/role/", {"role": "agent"})  # no change
        client.post(f"/settings/alpha/members/{owner_a.pk}/remove/")  # the last owner: refused
    assert not RealtimeEvent.objects.filter(workspace=owner_a.workspace, type="member.removed").exists()
