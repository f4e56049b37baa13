"""The agent inbox pages: rendering per role, tenancy (404s), POSTs through the actions, query counts."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hotro.connectors.models import Delivery
from hotro.conversations import actions
from hotro.conversations.models import Conversation, ConversationEvent, Direction, Message, Status
from hotro.inbox.listing import Filters, count_views, fetch_page
from hotro.privacy.models import AuditEvent
from hotro.privacy.rls import tenant_scope
from hotro.tenancy.models import Role
from inbox_helpers import add_member, make_inbox, receive

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def inbox_a(ws_a):
    return make_inbox(ws_a)


@pytest.fixture
def conv(inbox_a):
    return receive(inbox_a, "m1").conversation


@pytest.fixture
def agent_a(ws_a):
    return add_member(ws_a, "agent@alpha.test", Role.AGENT, display_name="Minh")


@pytest.fixture
def viewer_a(ws_a):
    return add_member(ws_a, "viewer@alpha.test", Role.VIEWER)


def login(client, member, language="en"):
    member.user.language = language
    member.user.save(update_fields=["language"])
    client.force_login(member.user)
    return client


def url(conv_or_number, suffix=""):
    number = getattr(conv_or_number, "number", conv_or_number)
    return f"/w/alpha/c/{number}/{suffix}"


# --- pages -------------------------------------------------------------------------------------------
def test_root_sends_members_to_their_workspace_and_strangers_to_login(client, owner_a):
    assert client.get("/").status_code == 302 and "/accounts/login/" in client.get("/")["Location"]
    login(client, owner_a)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/w/alpha/"


def test_root_explains_when_the_user_has_no_workspace(client, db):
    from hotro.accounts.models import User

    user = User.objects.create_user(
        username="lonely@x.test", email="lonely@x.test", password="correct-horse-9", language="en"
    )
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 404
    assert "invite" in response.content.decode()


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.AGENT, Role.VIEWER])
def test_list_and_conversation_render_for_every_role(client, ws_a, conv, role):
    member = add_member(ws_a, f"{role}@alpha.test", role) if role != Role.OWNER else None
    if member is None:
        from hotro.tenancy.models import Membership

        member = Membership.objects.get(workspace=ws_a, role=Role.OWNER)
    login(client, member)
    page = client.get("/w/alpha/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"#{conv.number}" in body and "Tôi muốn hoàn tiền đơn hàng" in body
    detail = client.get(url(conv)).content.decode()
    writer = role != Role.VIEWER
    assert ('id="reply-text"' in detail) is writer
    assert ('id="resolve-form"' in detail) is writer
    if writer:
        assert "Nguyễn Văn An" in body and "Nguyễn Văn An" in detail
    else:  # viewers see masks and a reveal button
        assert "Nguyễn Văn An" not in body and "N••• V••• A•••" in body
        assert "Nguyễn Văn An" not in detail and "contact/reveal/" in detail


def test_pages_set_no_inline_script_or_style(client, owner_a, conv):
    login(client, owner_a)
    for path in ("/w/alpha/", url(conv), "/w/alpha/admin/inboxes/"):
        response = client.get(path)
        body = response.content.decode()
        assert response.status_code == 200
        assert "<script>" not in body and " style=" not in body and " onclick=" not in body
        assert "https://" not in body.split("<body", 1)[0]  # nothing in <head> from another origin
        assert "script-src 'self'" in response["Content-Security-Policy"]


def test_other_workspaces_numbers_and_ids_answer_404(client, owner_a, ws_b, conv):
    inbox_b = make_inbox(ws_b, "B")
    other = receive(inbox_b, "b1", sender="b-cust")
    other_delivery_reply = other  # an inbound message of workspace B
    login(client, owner_a)
    assert client.get(url(99)).status_code == 404
    # workspace B's conversation #1 exists; alpha's #1 is ``conv``: the number resolves in alpha only
    assert client.get("/w/beta/c/1/").status_code == 404
    assert client.get("/w/beta/").status_code == 404
    assert client.post(url(99, "status/"), {"status": "resolved"}).status_code == 404
    assert client.get(f"/w/alpha/attachments/{other_delivery_reply.pk}/").status_code == 404
    assert client.post(f"/w/alpha/deliveries/{other.pk}/retry/").status_code == 404


# --- actions -----------------------------------------------------------------------------------------
def test_reply_is_sent_through_the_action_and_answers_the_pane(client, owner_a, conv):
    login(client, owner_a)
    response = client.post(url(conv, "reply/"), {"text": "Chúng tôi đã hoàn tiền"}, headers=HTMX)
    assert response.status_code == 200 and response["X-Hotro-Outcome"] == "ok"
    reply = Message.objects.get(conversation=conv, direction=Direction.OUTBOUND)
    assert reply.text == "Chúng tôi đã hoàn tiền" and reply.author_id == owner_a.pk
    assert Delivery.objects.filter(message=reply).count() == 1
    assert "Chúng tôi đã hoàn tiền" in response.content.decode()
    assert 'id="conv-live"' in response.content.decode() and "<html" not in response.content.decode()


def test_empty_reply_is_refused_with_a_sentence(client, owner_a, conv):
    login(client, owner_a)
    response = client.post(url(conv, "reply/"), {"text": "  "}, headers=HTMX)
    assert response.status_code == 422 and response["X-Hotro-Outcome"] == "error"
    assert "Write a message before sending." in response.content.decode()
    assert not Message.objects.filter(conversation=conv, direction=Direction.OUTBOUND).exists()


def test_reply_without_javascript_redirects_back_keeping_filters(client, owner_a, conv):
    login(client, owner_a)
    response = client.post(url(conv, "reply/") + "?status=all&q=ho%C3%A0n", {"text": "ok"})
    assert response.status_code == 302
    assert response["Location"].startswith(url(conv)) and "status=all" in response["Location"]


def test_reply_with_attachment_then_download_streams_the_decrypted_file(client, owner_a, conv):
    from django.core.files.uploadedfile import SimpleUploadedFile

    login(client, owner_a)
    upload = SimpleUploadedFile("hoá đơn.pdf", b"%PDF-1.4 secret invoice", content_type="application/pdf")
    assert client.post(url(conv, "reply/"), {"text": "Hoá đơn", "files": [upload]}).status_code == 302
    reply = Message.objects.get(conversation=conv, direction=Direction.OUTBOUND)
    attachment = reply.attachments.get()
    page = client.get(url(conv)).content.decode()
    assert f"/w/alpha/attachments/{attachment.pk}/" in page
    download = client.get(f"/w/alpha/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 secret invoice"
    assert "attachment;" in download["Content-Disposition"]
    assert (
        AuditEvent.objects.filter(action="attachment.downloaded", object_id=str(attachment.pk)).count() == 1
    )


@pytest.mark.parametrize("htmx", [False, True], ids=["plain-form", "htmx"])
def test_a_refused_upload_answers_422_with_the_stated_limit(client, owner_a, conv, settings, htmx):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.HOTRO_MAX_UPLOAD_BYTES = 1024 * 1024
    login(client, owner_a)
    page = client.get(url(conv)).content.decode()
    assert "up to 1 MB each" in page  # the limit is stated before anyone tries
    big = SimpleUploadedFile("ảnh.png", b"x" * (1024 * 1024 + 1), content_type="image/png")
    response = client.post(url(conv, "reply/"), {"text": "Ảnh", "files": [big]}, headers=HTMX if htmx else {})
    assert response.status_code == 422
    assert "ảnh.png is larger than 1 MB; send a smaller file." in response.content.decode()
    assert not Message.objects.filter(conversation=conv, direction=Direction.OUTBOUND).exists()


def test_status_resolve_and_snooze_in_the_workspace_time_zone(client, owner_a, conv):
    login(client, owner_a)
    assert client.post(url(conv, "status/"), {"status": "resolved"}, headers=HTMX).status_code == 200
    conv.refresh_from_db()
    assert conv.status == Status.RESOLVED
    local = (timezone.now() + timedelta(days=2)).astimezone(zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"))
    stamp = local.strftime("%Y-%m-%dT%H:%M")
    response = client.post(url(conv, "status/"), {"status": "snoozed", "snooze_until": stamp}, headers=HTMX)
    assert response.status_code == 200
    conv.refresh_from_db()
    expected = datetime.strptime(stamp, "%Y-%m-%dT%H:%M").replace(
        tzinfo=zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
    )
    assert conv.status == Status.SNOOZED and conv.snoozed_until == expected


def test_snooze_in_the_past_is_refused(client, owner_a, conv):
    login(client, owner_a)
    response = client.post(
        url(conv, "status/"), {"status": "snoozed", "snooze_until": "2001-01-01T10:00"}, headers=HTMX
    )
    assert response.status_code == 422
    conv.refresh_from_db()
    assert conv.status == Status.OPEN


def test_viewer_cannot_change_anything(client, viewer_a, conv):
    login(client, viewer_a)
    assert client.post(url(conv, "status/"), {"status": "resolved"}).status_code == 403
    assert client.post(url(conv, "reply/"), {"text": "hi"}, headers=HTMX).status_code == 403
    conv.refresh_from_db()
    assert conv.status == Status.OPEN
    assert not Message.objects.filter(conversation=conv, direction=Direction.OUTBOUND).exists()


def test_assign_priority_tags_and_note(client, owner_a, agent_a, conv):
    login(client, owner_a)
    client.post(url(conv, "assign/"), {"assignee": str(agent_a.pk), "team": ""}, headers=HTMX)
    client.post(url(conv, "priority/"), {"priority": "urgent"}, headers=HTMX)
    client.post(url(conv, "tags/"), {"tags": "Hoàn tiền, vip"}, headers=HTMX)
    response = client.post(url(conv, "note/"), {"text": "@minh xem giúp"}, headers=HTMX)
    conv.refresh_from_db()
    assert conv.assignee_id == agent_a.pk and conv.priority == "urgent"
    assert sorted(conv.tags.values_list("name", flat=True)) == ["hoàn tiền", "vip"]
    note = Message.objects.get(conversation=conv, direction=Direction.NOTE)
    assert list(note.mentions.all()) == [agent_a]
    body = response.content.decode()
    assert "Assigned to Minh" in body or "Minh" in body
    kinds = set(ConversationEvent.objects.filter(conversation=conv).values_list("kind", flat=True))
    assert {"assigned", "priority_changed", "tagged"} <= kinds


def test_assign_refuses_a_member_of_another_workspace(client, owner_a, owner_b, conv):
    login(client, owner_a)
    response = client.post(url(conv, "assign/"), {"assignee": str(owner_b.pk)}, headers=HTMX)
    assert response.status_code == 422
    conv.refresh_from_db()
    assert conv.assignee_id is None


def test_merge_by_number_and_unknown_number(client, owner_a, inbox_a, conv):
    stranger = receive(inbox_a, "m0", sender="cust-2", name="Trần Thị Bình").conversation
    actions.do_change_status(None, conv, "resolved")
    other = receive(inbox_a, "m2").conversation  # the same customer writes again: a new conversation
    assert other.pk != conv.pk
    login(client, owner_a)
    missing = client.post(url(conv, "merge/"), {"number": 999}, headers=HTMX)
    assert missing.status_code == 422 and "#999" in missing.content.decode()
    another_customer = client.post(url(stranger, "merge/"), {"number": conv.number}, headers=HTMX)
    assert another_customer.status_code == 422
    response = client.post(url(other, "merge/"), {"number": conv.number}, headers=HTMX)
    assert response.status_code == 204 and response["HX-Redirect"] == url(conv)
    other.refresh_from_db()
    assert other.merged_into_id == conv.pk
    assert Message.objects.filter(conversation=conv).count() == 2


def test_move_to_another_inbox_of_the_same_channel(client, owner_a, ws_a, ws_b, conv):
    second = make_inbox(ws_a, "Second API")
    foreign = make_inbox(ws_b, "Foreign")
    login(client, owner_a)
    refused = client.post(url(conv, "move/"), {"inbox": str(foreign.pk)}, headers=HTMX)
    assert refused.status_code == 422
    assert client.post(url(conv, "move/"), {"inbox": str(second.pk)}, headers=HTMX).status_code == 200
    conv.refresh_from_db()
    assert conv.inbox_id == second.pk


def test_viewer_reveal_is_audited_and_agents_views_are_recorded(client, viewer_a, owner_a, conv):
    login(client, viewer_a)
    response = client.post(url(conv, "contact/reveal/"), headers=HTMX)
    assert response.status_code == 200 and "Nguyễn Văn An" in response.content.decode()
    assert AuditEvent.objects.filter(action="contact.revealed", object_id=str(conv.contact_id)).count() == 1
    assert "Nguyễn Văn An" in client.get(url(conv, "pane/")).content.decode()  # kept for a few minutes
    client.logout()
    login(client, owner_a)
    client.get(url(conv))
    assert AuditEvent.objects.filter(action="contact.viewed", object_id=str(conv.contact_id)).count() == 1


def test_failed_delivery_shows_a_retry_button_that_requeues(client, owner_a, conv):
    from hotro.conversations.actions import do_send_reply

    reply = do_send_reply(owner_a, conv, "Xin lỗi")
    delivery = Delivery.objects.get(message=reply)
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", last_error="The webhook answered 500.")
    Message.objects.filter(pk=reply.pk).update(status="failed")
    login(client, owner_a)
    page = client.get(url(conv)).content.decode()
    assert f"/w/alpha/deliveries/{delivery.pk}/retry/" in page and "The webhook answered 500." in page
    response = client.post(f"/w/alpha/deliveries/{delivery.pk}/retry/", headers=HTMX)
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status != "failed"


def test_history_is_shown_in_sentences(client, owner_a, conv):
    login(client, owner_a)
    client.post(url(conv, "status/"), {"status": "pending"})
    body = client.get(url(conv)).content.decode()
    assert "Status changed from Open to Pending" in body


# --- the list ----------------------------------------------------------------------------------------
def test_filters_views_and_counts(owner_a, agent_a, inbox_a, ws_a):
    from hotro.conversations.actions import check_assign, check_change_status, check_set_tags

    c1 = receive(inbox_a, "a", sender="s1").conversation
    c2 = receive(inbox_a, "b", sender="s2").conversation
    c3 = receive(inbox_a, "c", sender="s3").conversation
    other_inbox = make_inbox(ws_a, "Other")
    c4 = receive(other_inbox, "d", sender="s4").conversation
    check_assign(owner_a, c1, assignee=owner_a)
    check_assign(owner_a, c2, assignee=agent_a)
    check_change_status(owner_a, c3, Status.PENDING)
    check_set_tags(owner_a, c2, ["vip"])
    with tenant_scope(owner_a.workspace_id), CaptureQueriesContext(connection) as ctx:  # as in the view
        counts = count_views(owner_a)
    assert len(ctx.captured_queries) == 1
    assert counts == {"mine": 1, "unassigned": 1, "open": 3, "pending": 1, "snoozed": 0, "resolved": 0}

    def numbers(**params):
        return {r.conversation.number for r in fetch_page(owner_a, Filters.from_query(params)).rows}

    assert numbers() == {c1.number, c2.number, c4.number}
    assert numbers(assignee="mine") == {c1.number}
    assert numbers(assignee="unassigned") == {c4.number}
    assert numbers(assignee=str(agent_a.pk)) == {c2.number}
    assert numbers(status="pending") == {c3.number}
    assert numbers(status="all", tag="vip") == {c2.number}
    assert numbers(status="all", inbox=str(other_inbox.pk)) == {c4.number}
    assert numbers(status="bogus", assignee="nonsense") == {c1.number, c2.number, c4.number}


def test_keyset_pagination_walks_every_conversation_once(owner_a, inbox_a):
    for i in range(7):
        receive(inbox_a, f"p{i}", sender=f"s{i}")
    # equal timestamps must not lose or repeat rows
    Conversation.objects.filter(workspace_id=owner_a.workspace_id).update(last_activity_at=timezone.now())
    seen, cursor = [], ""
    while True:
        page = fetch_page(owner_a, Filters(), cursor, page_size=3)
        seen += [r.conversation.number for r in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == list(range(1, 8))


def test_keyword_search_folds_diacritics(owner_a, inbox_a):
    receive(inbox_a, "x1", text="Tôi muốn hoàn tiền", sender="s1")
    receive(inbox_a, "x2", text="Giao hàng chậm", sender="s2")
    rows = fetch_page(owner_a, Filters.from_query({"q": "hoan tien"})).rows
    assert [r.snippet for r in rows] == ["Tôi muốn hoàn tiền"]


def _list_queries(client, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as ctx:
        response = client.get("/w/alpha/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_does_not_grow_with_conversations(
    client, owner_a, inbox_a, django_assert_max_num_queries
):
    from hotro.conversations.actions import check_set_tags

    def add(n, start):
        for i in range(start, start + n):
            conversation = receive(inbox_a, f"q{i}", sender=f"cust-{i}", text=f"tin nhắn {i}").conversation
            check_set_tags(owner_a, conversation, ["vip", f"t{i % 3}"])

    login(client, owner_a)
    add(5, 0)
    small = _list_queries(client, django_assert_max_num_queries, 25)
    add(35, 5)
    large = _list_queries(client, django_assert_max_num_queries, 25)
    assert small == large
    page = client.get("/w/alpha/").content.decode()
    assert page.count('class="conv-row') == 25 and "cursor=" in page


def test_rows_partial_and_counts_partial(client, owner_a, inbox_a):
    receive(inbox_a, "r1", sender="s1")
    login(client, owner_a)
    rows = client.get("/w/alpha/rows/?status=all", headers=HTMX)
    assert (
        rows.status_code == 200
        and "conv-row" in rows.content.decode()
        and "<html" not in rows.content.decode()
    )
    counts = client.get("/w/alpha/counts/", headers=HTMX).content.decode()
    assert 'data-view="open"' in counts


def test_download_streams_segment_by_segment_under_asgi(owner_a, inbox_a):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    big = bytes(range(256)) * 1024  # 256 KiB: several encrypted segments
    message = receive(inbox_a, "big", attachments=[("photo.bin", "application/octet-stream", big)])
    attachment = message.attachments.get()
    client = AsyncClient()
    client.force_login(owner_a.user)

    async def download():
        response = await client.get(f"/w/alpha/attachments/{attachment.pk}/")
        assert response.status_code == 200 and response.is_async
        parts = [part async for part in response.streaming_content]
        return parts

    parts = async_to_sync(download)()
    assert len(parts) > 1 and b"".join(parts) == big
