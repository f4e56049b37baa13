import hashlib

import pytest
from django.test import Client

from hotro.api.models import ApiToken
from hotro.api.tokens import create_token, revoke_token
from hotro.privacy.models import AuditEvent
from hotro.tenancy.models import Membership, Role

pytest_plugins = ["api_support"]
pytestmark = pytest.mark.django_db


def bearer(plaintext):
    return Client(headers={"Authorization": f"Bearer {plaintext}"})


def test_it_stores_only_the_hash_of_a_token(ws_a, owner_a):
    token, plaintext = create_token(ws_a, "CRM", created_by=owner_a)
    assert plaintext.startswith(f"hotro_{token.prefix}_") and len(token.prefix) == 8
    row = ApiToken.objects.values().get(pk=token.pk)
    assert row["token_hash"] == hashlib.sha256(plaintext.encode()).hexdigest()
    secret = plaintext.split("_", 2)[2]
    assert not any(secret in str(value) for value in row.values())
    assert token.membership.role == Role.ADMIN and token.membership.display_name == "API: CRM"
    assert not token.membership.user.is_active and not token.membership.user.has_usable_password()


def test_it_authenticates_and_records_last_use(world_a):
    response = world_a.client().get("/api/v1/members")
    assert response.status_code == 200
    world_a.token.refresh_from_db()
    assert world_a.token.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["", "Bearer ", "Bearer hotro_abcdefgh_nope", "Basic dXNlcjpwYXNz", "Bearer not-a-token"],
)
def test_it_refuses_missing_or_wrong_tokens(world_a, header):
    client = Client(headers={"Authorization": header} if header else {})
    response = client.get("/api/v1/conversations")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized" and response.json()["message"]


def test_it_refuses_a_token_with_a_right_prefix_and_wrong_secret(world_a):
    forged = f"hotro_{world_a.token.prefix}_{'x' * 43}"
    assert bearer(forged).get("/api/v1/conversations").status_code == 401


def test_revoked_token_is_refused_and_audited(world_a):
    assert world_a.client().get("/api/v1/members").status_code == 200
    revoke_token(world_a.token, revoked_by=world_a.owner)
    response = world_a.client().get("/api/v1/members")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
    assert not Membership.objects.get(pk=world_a.token.membership_id).is_active
    actions = list(AuditEvent.objects.filter(workspace=world_a.workspace).values_list("action", flat=True))
    assert "api_token.created" in actions and "api_token.revoked" in actions


def test_token_of_a_closed_workspace_is_refused(world_a):
    from django.utils import timezone

    world_a.workspace.closed_at = timezone.now()
    world_a.workspace.save(update_fields=["closed_at"])
    assert world_a.client().get("/api/v1/members").status_code == 401


def test_api_actions_show_the_token_name_in_history(world_a):
    from hotro.conversations.models import ConversationEvent

    response = world_a.client().patch(
        f"/api/v1/conversations/{world_a.conversation.pk}/priority",
        {"priority": "high"},
        content_type="application/json",
    )
    assert response.status_code == 200
    event = ConversationEvent.objects.get(conversation=world_a.conversation, kind="priority_changed")
    assert str(event.actor) == "API: CRM alpha"


def test_admin_creates_lists_and_revokes_tokens_in_settings(ws_a, owner_a):
    client = Client()
    client.force_login(owner_a.user)
    page = client.post("/api/manage/alpha/tokens/", {"name": "Billing"})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(workspace=ws_a, name="Billing")
    html = page.content.decode()
    plaintext = html.split('<code class="secret">')[1].split("</code>")[0]
    assert plaintext.startswith(f"hotro_{token.prefix}_")
    assert bearer(plaintext).get("/api/v1/members").status_code == 200
    listing = client.get("/api/manage/alpha/tokens/").content.decode()
    assert token.prefix in listing and plaintext not in listing
    assert client.post(f"/api/manage/alpha/tokens/{token.pk}/revoke/").status_code == 302
    assert bearer(plaintext).get("/api/v1/members").status_code == 401


def test_agents_cannot_manage_tokens_and_other_workspaces_tokens_are_hidden(world_a, world_b):
    agent_client = Client()
    agent_client.force_login(world_a.agent.user)
    assert agent_client.get("/api/manage/alpha/tokens/").status_code == 403
    assert agent_client.post("/api/manage/alpha/tokens/", {"name": "x"}).status_code == 403
    owner_client = Client()
    owner_client.force_login(world_a.owner.user)
    response = owner_client.post(f"/api/manage/alpha/tokens/{world_b.token.pk}/revoke/")
    assert response.status_code == 404
    world_b.token.refresh_from_db()
    assert world_b.token.revoked_at is None
    assert world_b.token.prefix not in owner_client.get("/api/manage/alpha/tokens/").content.decode()
