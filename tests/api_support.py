"""Shared builders for the API tests (imported by tests/test_api_*.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from hotro.api.tokens import create_token
from hotro.connectors.base import InboundMessage
from hotro.connectors.models import Inbox
from hotro.conversations import actions
from hotro.tenancy.actions import do_add_member, do_create_team
from hotro.tenancy.models import Role


@dataclass
class World:
    workspace: object
    owner: object
    agent: object
    team: object
    inbox: object
    inbox2: object
    conversation: object
    conversation2: object
    contact: object
    token: object
    plaintext: str

    def client(self) -> Client:
        return Client(headers={"Authorization": f"Bearer {self.plaintext}", "Accept-Language": "en"})


def make_world(workspace, owner, tag: str) -> World:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(f"agent@{tag}.test", f"agent@{tag}.test", None)
    agent = do_add_member(workspace, user, Role.AGENT, display_name=f"Agent {tag}")
    team = do_create_team(workspace, f"Team {tag}")
    inbox = Inbox.objects.create(workspace=workspace, connector="api", name=f"API {tag}")
    inbox2 = Inbox.objects.create(workspace=workspace, connector="api", name=f"API 2 {tag}")
    m1, _ = actions.do_receive_message(
        inbox,
        InboundMessage(
            external_id=f"{tag}-1",
            channel="api",
            sender_address=f"{tag}-c1",
            text="Tôi muốn hoàn tiền",
            sender_name="Lan",
            sender_email=f"lan@{tag}.example.vn",
            sender_phone="0912 345 678",
        ),
    )
    m2, _ = actions.do_receive_message(
        inbox,
        InboundMessage(
            external_id=f"{tag}-2", channel="api", sender_address=f"{tag}-c2", text="Giao hàng chậm"
        ),
    )
    token, plaintext = create_token(workspace, f"CRM {tag}", created_by=owner)
    return World(
        workspace,
        owner,
        agent,
        team,
        inbox,
        inbox2,
        m1.conversation,
        m2.conversation,
        m1.conversation.contact,
        token,
        plaintext,
    )


@pytest.fixture
def world_a(ws_a, owner_a):
    return make_world(ws_a, owner_a, "alpha")


@pytest.fixture
def world_b(ws_b, owner_b):
    return make_world(ws_b, owner_b, "beta")


def later(hours: int = 1) -> str:
    return (timezone.now() + timezone.timedelta(hours=hours)).isoformat()
