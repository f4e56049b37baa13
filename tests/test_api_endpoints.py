import pytest

from api_support import later
from hotro.api.main import api
from hotro.conversations.models import Conversation, ConversationEvent, Message, Status

pytest_plugins = ["api_support"]
pytestmark = pytest.mark.django_db


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data, content_type="application/json")


def test_it_lists_and_filters_conversations(world_a, world_b):
    client = world_a.client()
    body = client.get("/api/v1/conversations").json()
    numbers = [c["number"] for c in body["items"]]
    assert sorted(numbers) == [1, 2] and body["next_cursor"] is None
    first = next(c for c in body["items"] if c["id"] == str(world_a.conversation.pk))
    assert (
        first["contact"]["name"] == "Lan" and first["inbox"]["channel"] == "api" and first["status"] == "open"
    )
    post(
        client,
        f"/api/v1/conversations/{world_a.conversation.pk}/assign",
        {"assignee_id": str(world_a.agent.pk)},
    )
    post(client, f"/api/v1/conversations/{world_a.conversation2.pk}/tags", {"tags": ["VIP"]})
    ids = lambda **q: [c["id"] for c in client.get("/api/v1/conversations", q).json()["items"]]  # noqa: E731
    assert ids(assignee=str(world_a.agent.pk)) == [str(world_a.conversation.pk)]
    assert ids(assignee="unassigned") == [str(world_a.conversation2.pk)]
    assert ids(tag="vip") == [str(world_a.conversation2.pk)]
    assert ids(inbox=str(world_a.inbox2.pk)) == []
    assert ids(status="resolved") == []
    assert ids(q="hoan tien") == [str(world_a.conversation.pk)]
    assert ids(q="Giao hàng") == [str(world_a.conversation2.pk)]


def test_assignee_me_is_the_token_member(world_a):
    client = world_a.client()
    post(client, f"/api/v1/conversations/{world_a.conversation.pk}/reply", {"text": "Chào chị"})
    items = client.get("/api/v1/conversations", {"assignee": "me"}).json()["items"]
    assert [c["id"] for c in items] == [str(world_a.conversation.pk)]
    assert items[0]["assignee"]["name"] == "API: CRM alpha"


def test_it_gets_a_conversation_by_id_or_number(world_a):
    client = world_a.client()
    by_id = client.get(f"/api/v1/conversations/{world_a.conversation.pk}").json()
    by_number = client.get(f"/api/v1/conversations/{world_a.conversation.number}").json()
    assert by_id == by_number and by_id["number"] == world_a.conversation.number
    assert client.get("/api/v1/conversations/999").json()["code"] == "not_found"
    assert client.get("/api/v1/conversations/not-a-uuid").status_code == 404


def test_reply_note_and_messages(world_a):
    client = world_a.client()
    url = f"/api/v1/conversations/{world_a.conversation.pk}"
    reply = post(client, f"{url}/reply", {"text": "Chúng tôi sẽ hoàn tiền"})
    assert (
        reply.status_code == 201 and reply.json()["direction"] == "out" and reply.json()["status"] == "queued"
    )
    note = post(client, f"{url}/notes", {"text": "@agent xem giúp"})
    assert note.status_code == 201 and note.json()["direction"] == "note"
    messages = client.get(f"{url}/messages").json()
    assert [m["direction"] for m in messages["items"]] == ["in", "out", "note"]
    assert messages["items"][0]["text"] == "Tôi muốn hoàn tiền"
    assert messages["items"][1]["author"]["name"] == "API: CRM alpha"
    empty = post(client, f"{url}/reply", {"text": "   "})
    assert empty.status_code == 422 and empty.json()["code"] == "validation_error"


def test_assign_team_status_priority_tags(world_a):
    client = world_a.client()
    url = f"/api/v1/conversations/{world_a.conversation.pk}"
    body = post(
        client, f"{url}/assign", {"assignee_id": str(world_a.agent.pk), "team_id": str(world_a.team.pk)}
    ).json()
    assert body["assignee"]["id"] == str(world_a.agent.pk) and body["team"]["id"] == str(world_a.team.pk)
    body = post(client, f"{url}/assign", {"assignee_id": None}).json()
    assert body["assignee"] is None and body["team"]["id"] == str(
        world_a.team.pk
    )  # team untouched when absent
    body = post(client, f"{url}/status", {"status": "snoozed", "snooze_until": later()}).json()
    assert body["status"] == "snoozed" and body["snoozed_until"]
    past = post(client, f"{url}/status", {"status": "snoozed", "snooze_until": later(-1)})
    assert past.status_code == 422 and "future" in past.json()["message"]
    assert post(client, f"{url}/status", {"status": "resolved"}).json()["resolved_at"]
    bad = post(client, f"{url}/status", {"status": "closed"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "status"
    assert patch(client, f"{url}/priority", {"priority": "urgent"}).json()["priority"] == "urgent"
    assert post(client, f"{url}/tags", {"tags": ["Refund", "vip", "refund"]}).json()["tags"] == [
        "refund",
        "vip",
    ]
    assert post(client, f"{url}/tags", {"tags": []}).json()["tags"] == []
    kinds = set(
        ConversationEvent.objects.filter(conversation=world_a.conversation).values_list("kind", flat=True)
    )
    assert {"assigned", "team_assigned", "status_changed", "priority_changed", "tagged"} <= kinds


def test_merge_and_move(world_a):
    from hotro.connectors.base import InboundMessage
    from hotro.conversations import actions

    client = world_a.client()
    other_customer = post(
        client,
        f"/api/v1/conversations/{world_a.conversation2.pk}/merge",
        {"target_id": str(world_a.conversation.pk)},
    )
    assert other_customer.status_code == 422  # two customers' threads are never merged
    target = world_a.conversation
    actions.do_change_status(None, target, Status.RESOLVED)
    again_msg, _ = actions.do_receive_message(
        world_a.inbox,
        InboundMessage(external_id="alpha-3", channel="api", sender_address="alpha-c1", text="Lại"),
    )
    source = again_msg.conversation
    merged = post(client, f"/api/v1/conversations/{source.pk}/merge", {"target_id": str(target.pk)})
    assert merged.status_code == 200 and merged.json()["id"] == str(target.pk)
    source.refresh_from_db()
    assert source.merged_into_id == target.pk and source.status == Status.RESOLVED
    assert Message.objects.filter(conversation=target).count() == 2
    again = post(client, f"/api/v1/conversations/{source.pk}/merge", {"target_id": str(target.pk)})
    assert again.status_code == 422
    moved = post(client, f"/api/v1/conversations/{target.pk}/move", {"inbox_id": str(world_a.inbox2.pk)})
    assert moved.json()["inbox"]["id"] == str(world_a.inbox2.pk)


def test_contacts_get_list_and_correct(world_a):
    from hotro.privacy import blind
    from hotro.privacy.models import AuditEvent

    client = world_a.client()
    listed = client.get("/api/v1/contacts").json()["items"]
    assert {c["id"] for c in listed} == {str(world_a.contact.pk), str(world_a.conversation2.contact_id)}
    one = client.get(f"/api/v1/contacts/{world_a.contact.pk}").json()
    assert one["email"] == "lan@alpha.example.vn" and one["name"] == "Lan"
    changed = patch(
        client,
        f"/api/v1/contacts/{world_a.contact.pk}",
        {"name": "Nguyễn Thị Lan", "email": "lan.nguyen@example.vn", "attributes": {"plan": "gold"}},
    )
    assert changed.status_code == 200 and changed.json()["name"] == "Nguyễn Thị Lan"
    world_a.contact.refresh_from_db()
    assert world_a.contact.email_bidx == blind.email_index(world_a.workspace.pk, "lan.nguyen@example.vn")
    assert world_a.contact.phone == "0912 345 678"  # absent fields are not touched
    audit = AuditEvent.objects.get(workspace=world_a.workspace, action="contact.updated")
    assert audit.data == {"fields": ["attributes", "email", "name"]}
    assert "Lan" not in str(audit.data)
    bad = patch(client, f"/api/v1/contacts/{world_a.contact.pk}", {"email": "not an address"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    bad_phone = patch(client, f"/api/v1/contacts/{world_a.contact.pk}", {"phone": "12"})
    assert bad_phone.status_code == 422


def test_inboxes_and_members(world_a):
    client = world_a.client()
    inboxes = client.get("/api/v1/inboxes").json()
    assert {i["name"] for i in inboxes} == {"API alpha", "API 2 alpha"}
    one = client.get(f"/api/v1/inboxes/{world_a.inbox.pk}").json()
    assert one["health"] == "ok" and one["last_error"] == "" and one["channel"] == "api"
    members = client.get("/api/v1/members").json()
    assert {m["role"] for m in members} == {"owner", "agent"}  # the token's service member is not listed
    assert {m["email"] for m in members} == {"owner@alpha.test", "agent@alpha.test"}
    agent = client.get(f"/api/v1/members/{world_a.agent.pk}").json()
    assert agent["name"] == "Agent alpha" and agent["role"] == "agent"


def test_it_creates_api_inboxes_only(world_a):
    client = world_a.client()
    created = post(client, "/api/v1/inboxes", {"channel": "api", "name": "Shop", "webhook_url": ""})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["channel"] == "api" and len(body["webhook_secret"]) >= 32
    assert client.get(f"/api/v1/inboxes/{body['id']}").json()["name"] == "Shop"
    assert "webhook_secret" not in client.get(f"/api/v1/inboxes/{body['id']}").json()
    later_channel = post(client, "/api/v1/inboxes", {"channel": "zalo", "name": "Zalo"})  # not yet built
    assert later_channel.status_code == 422 and later_channel.json()["code"] == "validation_error"
    unknown = post(client, "/api/v1/inboxes", {"channel": "pigeon", "name": "x"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "validation_error"


def test_inbound_is_processed_and_idempotent(world_a, django_capture_on_commit_callbacks):
    client = world_a.client()
    url = f"/api/v1/inboxes/{world_a.inbox.pk}/inbound"
    payload = {
        "external_id": "crm-42",
        "contact": {"name": "Minh", "email": "minh@example.vn"},
        "text": "Xin chào",
    }
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, url, payload)
    assert first.status_code == 202, first.content
    assert first.json()["duplicate"] is False
    with django_capture_on_commit_callbacks(execute=True):
        second = post(client, url, payload)
    assert second.status_code == 202
    assert (
        second.json()["duplicate"] is True and second.json()["raw_event_id"] == first.json()["raw_event_id"]
    )
    assert Message.objects.filter(inbox=world_a.inbox, external_id="crm-42").count() == 1
    found = client.get("/api/v1/contacts", {"email": "MINH@example.vn"}).json()["items"]
    assert [c["name"] for c in found] == ["Minh"]


def test_inbound_validation_errors_are_422(world_a):
    client = world_a.client()
    url = f"/api/v1/inboxes/{world_a.inbox.pk}/inbound"
    missing = post(client, url, {"contact": {"name": "x"}, "text": "hi"})
    assert missing.status_code == 422 and missing.json()["code"] == "validation_error"
    assert missing.json()["errors"]
    no_sender = post(client, url, {"external_id": "e1", "contact": {"name": "x"}, "text": "hi"})
    assert no_sender.status_code == 422 and "contact" in no_sender.json()["message"]


# --- another workspace's ids: every endpoint answers 404 and changes nothing ------------------------
def cross_cases():
    c, i, m, t, ct = "{conv_b}", "{inbox_b}", "{member_b}", "{team_b}", "{contact_b}"
    return [
        ("get", "/api/v1/conversations/{ref}", c, None, None),
        ("get", "/api/v1/conversations/{ref}/messages", c, None, None),
        ("post", "/api/v1/conversations/{ref}/reply", c, {"text": "x"}, None),
        ("post", "/api/v1/conversations/{ref}/notes", c, {"text": "x"}, None),
        ("post", "/api/v1/conversations/{ref}/assign", c, {"assignee_id": None}, None),
        ("post", "/api/v1/conversations/{ref}/status", c, {"status": "resolved"}, None),
        ("post", "/api/v1/conversations/{ref}/tags", c, {"tags": ["x"]}, None),
        ("post", "/api/v1/conversations/{ref}/merge", c, {"target_id": "{conv_a}"}, None),
        ("post", "/api/v1/conversations/{ref}/merge", "{conv_a}", {"target_id": c}, None),
        ("post", "/api/v1/conversations/{ref}/move", c, {"inbox_id": "{inbox_a}"}, None),
        ("post", "/api/v1/conversations/{ref}/move", "{conv_a}", {"inbox_id": i}, None),
        ("post", "/api/v1/conversations/{ref}/assign", "{conv_a}", {"assignee_id": m}, None),
        ("post", "/api/v1/conversations/{ref}/assign", "{conv_a}", {"team_id": t}, None),
        ("patch", "/api/v1/conversations/{ref}/priority", c, {"priority": "high"}, None),
        ("get", "/api/v1/conversations", None, None, {"assignee": m}),
        ("get", "/api/v1/conversations", None, None, {"inbox": i}),
        ("get", "/api/v1/conversations", None, None, {"team": t}),
        ("get", "/api/v1/contacts/{ref}", ct, None, None),
        ("patch", "/api/v1/contacts/{ref}", ct, {"name": "Mallory"}, None),
        ("get", "/api/v1/inboxes/{ref}", i, None, None),
        (
            "post",
            "/api/v1/inboxes/{ref}/inbound",
            i,
            {"external_id": "x", "contact": {"external_id": "y"}, "text": "z"},
            None,
        ),
        ("get", "/api/v1/members/{ref}", m, None, None),
    ]


@pytest.mark.parametrize(("method", "path", "ref", "body", "query"), cross_cases())
def test_every_endpoint_refuses_ids_of_another_workspace(world_a, world_b, method, path, ref, body, query):
    ids = {
        "{conv_a}": str(world_a.conversation.pk),
        "{inbox_a}": str(world_a.inbox2.pk),
        "{conv_b}": str(world_b.conversation.pk),
        "{inbox_b}": str(world_b.inbox.pk),
        "{member_b}": str(world_b.agent.pk),
        "{team_b}": str(world_b.team.pk),
        "{contact_b}": str(world_b.contact.pk),
    }
    fill = lambda v: ids.get(v, v) if isinstance(v, str) else v  # noqa: E731
    url = path.replace("{ref}", fill(ref)) if ref else path
    body = {k: fill(v) for k, v in body.items()} if body else None
    query = {k: fill(v) for k, v in query.items()} if query else None
    before_b = (
        Message.objects.filter(workspace=world_b.workspace).count(),
        ConversationEvent.objects.filter(workspace=world_b.workspace).count(),
    )
    before_a = ConversationEvent.objects.filter(workspace=world_a.workspace).count()
    client = world_a.client()
    if method == "get":
        response = client.get(url, query)
    else:
        response = getattr(client, method)(url, body, content_type="application/json")
    assert response.status_code == 404, response.content
    assert response.json() == {"code": "not_found", "message": response.json()["message"]}
    assert before_b == (
        Message.objects.filter(workspace=world_b.workspace).count(),
        ConversationEvent.objects.filter(workspace=world_b.workspace).count(),
    )
    assert before_a == ConversationEvent.objects.filter(workspace=world_a.workspace).count()
    world_b.contact.refresh_from_db()
    assert world_b.contact.name == "Lan"
    assert Conversation.objects.get(pk=world_b.conversation.pk).status == Status.OPEN


def test_the_cross_workspace_cases_cover_every_endpoint_taking_an_id():
    covered = {(method, path.replace("{ref}", "")) for method, path, ref, _b, q in cross_cases() if ref or q}
    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            takes_id = "{" in path or any(
                p["name"] in ("assignee", "inbox", "team") for p in operation.get("parameters", [])
            )
            bare = path.split("{")[0] if "{" in path else path
            suffix = path.split("}")[1] if "}" in path else ""
            if takes_id:
                assert (method, bare + suffix) in covered, (
                    f"{method.upper()} {path} has no cross-workspace case"
                )


def test_creating_inboxes_and_viewing_contacts_through_the_api_is_audited(world_a, settings):
    from hotro.privacy.audit import verify_chain
    from hotro.privacy.models import AuditEvent

    settings.HOTRO_ALLOW_PRIVATE_WEBHOOKS = True
    client = world_a.client()
    api_inbox = post(
        client, "/api/v1/inboxes", {"channel": "api", "name": "CRM", "webhook_url": "http://127.0.0.1:9/h"}
    )
    chat = post(
        client,
        "/api/v1/inboxes",
        {"channel": "livechat", "name": "Chat", "allowed_origins": ["https://shop.example"]},
    )
    assert api_inbox.status_code == 201 and chat.status_code == 201
    # a live chat continues by e-mail: its address is where visitors' e-mail answers come back
    assert chat.json()["receiving_address"].endswith("@mail.localhost")
    assert api_inbox.json()["receiving_address"] == ""
    created = AuditEvent.objects.filter(workspace=world_a.workspace, action="inbox.created")
    assert sorted(created.values_list("object_id", flat=True)) == sorted(
        [api_inbox.json()["id"], chat.json()["id"]]
    )
    assert client.get(f"/api/v1/contacts/{world_a.contact.pk}").status_code == 200
    viewed = AuditEvent.objects.get(workspace=world_a.workspace, action="contact.viewed")
    assert viewed.object_id == str(world_a.contact.pk)
    assert verify_chain(world_a.workspace.pk) == []
