"""The real request paths work as the unprivileged application role, and still cannot cross tenants.

Data is seeded as the owner; then the connection switches (``SET LOCAL ROLE``) to a fresh role that is
neither superuser nor table owner, so PostgreSQL's Row-Level Security applies to every query the
API makes — a view that forgot its workspace scope would find nothing and fail these tests.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from api_support import world_a, world_b  # noqa: F401 - fixtures
from hotro.contacts.models import Contact
from hotro.conversations.models import Conversation
from hotro.privacy.rls import ensure_app_role

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.db_owner]  # switches role itself


@pytest.fixture
def as_app_role(db):
    name = f"hotro_app_req_{uuid.uuid4().hex[:10]}"
    ensure_app_role(name)

    def switch():
        with connection.cursor() as cursor:
            cursor.execute(f'SET LOCAL ROLE "{name}"')

    yield switch
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def test_the_api_serves_its_own_workspace_under_rls(world_a, world_b, as_app_role):
    as_app_role()
    assert Conversation.objects.count() == 0  # unscoped: nothing
    client = world_a.client()
    listed = client.get("/api/v1/conversations")
    assert listed.status_code == 200, listed.content
    numbers = sorted(c["number"] for c in listed.json()["items"])
    assert numbers == sorted([world_a.conversation.number, world_a.conversation2.number])
    assert client.get(f"/api/v1/conversations/{world_b.conversation.pk}").status_code == 404
    found = client.get("/api/v1/contacts", {"email": "lan@alpha.example.vn"})
    assert [c["id"] for c in found.json()["items"]] == [str(world_a.contact.pk)]
    assert client.get("/api/v1/contacts", {"email": "lan@beta.example.vn"}).json()["items"] == []


def test_writes_through_the_api_work_under_rls(world_a, world_b, as_app_role):
    as_app_role()
    client = world_a.client()
    reply = client.post(
        f"/api/v1/conversations/{world_a.conversation.pk}/reply",
        {"text": "Chúng tôi đã hoàn tiền"},
        content_type="application/json",
    )
    assert reply.status_code == 201, reply.content
    inbound = client.post(
        f"/api/v1/inboxes/{world_a.inbox.pk}/inbound",
        {"external_id": "rls-1", "contact": {"external_id": "rls-c", "name": "Hoa"}, "text": "xin chào"},
        content_type="application/json",
    )
    assert inbound.status_code == 202, inbound.content
    assert Contact.objects.count() == 0  # still nothing outside a scope
    assert (
        client.post(
            f"/api/v1/conversations/{world_b.conversation.pk}/reply",
            {"text": "x"},
            content_type="application/json",
        ).status_code
        == 404
    )


def test_events_after_commit_are_published_under_rls(
    world_a, as_app_role, django_capture_on_commit_callbacks
):
    from hotro.privacy.keys import forget_cached_keys
    from hotro.privacy.rls import tenant_scope
    from hotro.realtime.models import RealtimeEvent

    with tenant_scope(world_a.workspace.pk):
        before = RealtimeEvent.objects.filter(workspace=world_a.workspace).count()
    forget_cached_keys()
    as_app_role()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = world_a.client().post(
            f"/api/v1/conversations/{world_a.conversation.pk}/notes",
            {"text": "kiểm tra"},
            content_type="application/json",
        )
    assert note.status_code == 201, note.content
    assert callbacks  # publish_event ran, as the app role, after the request's transaction
    with tenant_scope(world_a.workspace.pk):
        assert RealtimeEvent.objects.filter(workspace=world_a.workspace).count() > before


def test_snoozed_conversations_wake_under_rls(world_a, as_app_role):
    from django.utils import timezone

    from hotro.conversations.actions import do_change_status, do_wake_snoozed
    from hotro.privacy.rls import tenant_scope

    until = timezone.now() + timezone.timedelta(minutes=5)
    do_change_status(None, world_a.conversation, "snoozed", snooze_until=until)
    as_app_role()
    assert do_wake_snoozed(now=until + timezone.timedelta(seconds=1)) == 1
    with tenant_scope(world_a.workspace.pk):
        assert Conversation.objects.get(pk=world_a.conversation.pk).status == "open"
