import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hotro.contacts.models import Contact
from hotro.conversations.actions.receive import allocate_number
from hotro.conversations.models import Conversation, ConversationTag, Tag
from hotro.privacy import blind

pytest_plugins = ["api_support"]
pytestmark = pytest.mark.django_db


def add_conversations(world, count, *, same_time=None):
    """``count`` conversations with a contact, an assignee and a tag each (fast: no message pipeline)."""
    ws = world.workspace
    tag, _ = Tag.objects.get_or_create(workspace=ws, name="bulk")
    now = timezone.now()
    made = []
    for n in range(count):
        contact = Contact.objects.create(workspace=ws, name=f"Khách {n}")
        conv = Conversation.objects.create(
            workspace=ws,
            number=allocate_number(ws.pk),
            inbox=world.inbox,
            contact=contact,
            assignee=world.agent,
            team=world.team,
            last_activity_at=same_time or now - timezone.timedelta(minutes=n % 7),
        )
        ConversationTag.objects.create(workspace=ws, conversation=conv, tag=tag)
        made.append(conv)
    return made


def walk(client, url, limit, **query):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **query}
        if cursor:
            params["cursor"] = cursor
        body = client.get(url, params).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 100


def test_conversation_pages_are_complete_and_without_duplicates(world_a, world_b):
    tied = timezone.now() - timezone.timedelta(hours=2)
    add_conversations(world_a, 9, same_time=tied)  # ties on last_activity_at are broken by id
    add_conversations(world_a, 12)
    expected = list(
        Conversation.objects.filter(workspace=world_a.workspace)
        .order_by("-last_activity_at", "-id")
        .values_list("id", flat=True)
    )
    seen, pages = walk(world_a.client(), "/api/v1/conversations", 4)
    assert seen == [str(pk) for pk in expected] and len(seen) == 23 and pages == 6
    assert walk(world_a.client(), "/api/v1/conversations", 100)[0] == seen


def test_messages_and_contacts_pages_are_complete(world_a):
    from hotro.conversations.actions import check_add_note

    for n in range(7):
        check_add_note(world_a.owner, world_a.conversation, f"note {n}")
    seen, _ = walk(world_a.client(), f"/api/v1/conversations/{world_a.conversation.pk}/messages", 3)
    assert len(seen) == 8 and len(set(seen)) == 8
    add_conversations(world_a, 5)
    contacts, _ = walk(world_a.client(), "/api/v1/contacts", 2)
    assert sorted(contacts) == sorted(
        str(pk) for pk in Contact.objects.filter(workspace=world_a.workspace).values_list("id", flat=True)
    )


def test_a_bad_cursor_or_limit_is_refused(world_a):
    client = world_a.client()
    bad = client.get("/api/v1/conversations", {"cursor": "garbage!"})
    assert bad.status_code == 404 and bad.json()["code"] == "invalid_cursor"
    too_many = client.get("/api/v1/conversations", {"limit": 101})
    assert too_many.status_code == 422 and too_many.json()["code"] == "validation_error"


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"limit": 100})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["items"])


def test_conversation_list_runs_a_constant_number_of_queries(world_a, django_assert_max_num_queries):
    client = world_a.client()
    client.get("/api/v1/conversations")  # warm the key cache and the token's last-use stamp
    add_conversations(world_a, 3)
    few, rows_few = count_queries(client, "/api/v1/conversations")
    add_conversations(world_a, 45)
    with django_assert_max_num_queries(few):
        many, rows_many = count_queries(client, "/api/v1/conversations")
    assert (rows_few, rows_many) == (5, 50)
    assert many == few <= 12  # PostgreSQL adds the RLS scope statements


@pytest.mark.parametrize(
    "spelling", ["lan@alpha.example.vn", "  LAN@Alpha.Example.VN ", "Lan@alpha.example.vn"]
)
def test_contact_lookup_by_email_spellings(world_a, world_b, spelling):
    items = world_a.client().get("/api/v1/contacts", {"email": spelling}).json()["items"]
    assert [c["id"] for c in items] == [str(world_a.contact.pk)]


@pytest.mark.parametrize(
    "spelling",
    ["0912345678", "0912 345 678", "+84 912 345 678", "+84912345678", "091-234-5678", "(+84) 912.345.678"],
)
def test_contact_lookup_by_phone_spellings(world_a, world_b, spelling):
    items = world_a.client().get("/api/v1/contacts", {"phone": spelling}).json()["items"]
    assert [c["id"] for c in items] == [str(world_a.contact.pk)]


def test_contact_lookup_misses_and_never_crosses_workspaces(world_a, world_b):
    client = world_a.client()
    assert client.get("/api/v1/contacts", {"email": "lan@beta.example.vn"}).json()["items"] == []
    assert client.get("/api/v1/contacts", {"phone": "0987 000 111"}).json()["items"] == []
    assert client.get("/api/v1/contacts", {"phone": "not a phone"}).json()["items"] == []
    # world_b's contact has the same phone: only ours is found
    assert world_b.contact.phone_bidx is not None
    assert world_a.contact.phone_bidx == blind.phone_index(world_a.workspace.pk, "+84912345678")
    items = client.get("/api/v1/contacts", {"phone": "+84912345678"}).json()["items"]
    assert [c["id"] for c in items] == [str(world_a.contact.pk)]
