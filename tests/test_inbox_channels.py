"""Channel features in the agent UI: public replies and product links (comments), typing and "Seen"
(live chat), navigation links, creating widget inboxes with their embed snippet, @mention suggestions."""

from __future__ import annotations

import pytest
from django.conf import settings

from hotro.connectors.base import InboundMessage
from hotro.connectors.models import Inbox
from hotro.conversations import actions
from hotro.conversations.models import Direction, Message, MessageStatus
from hotro.privacy.models import AuditEvent
from hotro.tenancy.models import Role
from inbox_helpers import add_member, make_inbox, receive

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
PRODUCT_URL = "https://shop.example.vn/san-pham/ao-dai-lua"


def login(client, member):
    member.user.language = "en"
    member.user.save(update_fields=["language"])
    client.force_login(member.user)
    return client


def receive_with(inbox, ext, channel, extra=None, name="Lan Anh"):
    message, _ = actions.do_receive_message(
        inbox,
        InboundMessage(
            external_id=ext,
            channel=channel,
            sender_address=f"visitor-{ext}",
            sender_name=name,
            text="Áo này có size XL không?",
            thread_id=f"t:{ext}",
            extra=extra or {},
        ),
    )
    return message.conversation


def comment_conversation(ws, kind="question", product_url=PRODUCT_URL):
    inbox = make_inbox(ws, "Bình luận", connector="comments")
    extra = {"product_url": product_url, "product_id": "sku-42", "product_title": "Áo dài lụa", "kind": kind}
    return receive_with(inbox, f"c-{kind}", "comments", extra)


@pytest.fixture
def admin_a(ws_a):
    return add_member(ws_a, "admin@alpha.test", Role.ADMIN, display_name="Quản Trị")


# --- public replies (product comments) --------------------------------------------------------------
def test_comments_reply_box_offers_public_or_private_with_public_default_for_questions(client, owner_a, ws_a):
    conv = comment_conversation(ws_a)
    body = login(client, owner_a).get(f"/w/alpha/c/{conv.number}/").content.decode()
    assert "Publish on the product page" in body and "Reply privately (by e-mail)" in body
    assert 'name="visibility" value="public" checked' in body
    assert 'value="private" checked' not in body


def test_plain_comments_default_to_a_private_answer(client, owner_a, ws_a):
    conv = comment_conversation(ws_a, kind="comment")
    body = login(client, owner_a).get(f"/w/alpha/c/{conv.number}/").content.decode()
    assert 'name="visibility" value="private" checked' in body


def test_public_reply_is_marked_and_labelled_published(client, owner_a, ws_a):
    conv = comment_conversation(ws_a)
    login(client, owner_a)
    response = client.post(
        f"/w/alpha/c/{conv.number}/reply/", {"text": "Có size XL ạ.", "visibility": "public"}, headers=HTMX
    )
    assert response.status_code == 200, response.content
    out = Message.objects.get(conversation=conv, direction=Direction.OUTBOUND)
    assert out.extra == {"public": True}
    assert "Published on the page" in response.content.decode()
    client.post(
        f"/w/alpha/c/{conv.number}/reply/", {"text": "Gửi riêng.", "visibility": "private"}, headers=HTMX
    )
    private = Message.objects.filter(conversation=conv, direction=Direction.OUTBOUND).exclude(pk=out.pk).get()
    assert not (private.extra or {}).get("public")
    body = client.get(f"/w/alpha/c/{conv.number}/").content.decode()
    assert body.count("Published on the page") == 1 and "Sent privately" in body


def test_channels_without_public_replies_refuse_a_public_reply_and_show_no_choice(client, owner_a, ws_a):
    conv = receive(make_inbox(ws_a), "api-1").conversation
    login(client, owner_a)
    assert "Publish on the product page" not in client.get(f"/w/alpha/c/{conv.number}/").content.decode()
    response = client.post(
        f"/w/alpha/c/{conv.number}/reply/", {"text": "Chào", "visibility": "public"}, headers=HTMX
    )
    assert response.status_code == 422
    assert "This channel has no public replies." in response.content.decode()
    assert not Message.objects.filter(conversation=conv, direction=Direction.OUTBOUND).exists()


def test_product_link_opens_in_a_new_tab_and_only_for_http_urls(client, owner_a, ws_a):
    conv = comment_conversation(ws_a)
    body = login(client, owner_a).get(f"/w/alpha/c/{conv.number}/").content.decode()
    assert f'<a href="{PRODUCT_URL}" target="_blank" rel="noopener noreferrer">Áo dài lụa</a>' in body
    bad = comment_conversation(ws_a, kind="comment", product_url="javascript:alert(1)")
    body = client.get(f"/w/alpha/c/{bad.number}/").content.decode()
    assert "javascript:alert" not in body.split('id="thread"')[0]
    assert "Áo dài lụa" in body.split('id="thread"')[0]  # the product is still named, without a link


# --- live chat: typing and read state ---------------------------------------------------------------
def test_livechat_conversation_has_typing_indicator_and_agent_typing_endpoint(client, owner_a, ws_a):
    conv = receive_with(make_inbox(ws_a, "Chat", connector="livechat"), "lc-1", "livechat")
    body = login(client, owner_a).get(f"/w/alpha/c/{conv.number}/").content.decode()
    assert 'id="typing-indicator"' in body and "Lan Anh is typing…" in body
    typing_url = f"/widget/agent/typing/{conv.pk}"
    assert f'data-typing-url="{typing_url}"' in body
    assert client.post(typing_url, {"typing": "1"}).status_code == 204


def test_other_channels_have_no_typing_signals(client, owner_a, ws_a):
    conv = receive(make_inbox(ws_a), "api-2").conversation
    body = login(client, owner_a).get(f"/w/alpha/c/{conv.number}/").content.decode()
    assert "typing-indicator" not in body and "data-typing-url" not in body


def test_read_livechat_replies_show_seen(client, owner_a, ws_a):
    conv = receive_with(make_inbox(ws_a, "Chat", connector="livechat"), "lc-2", "livechat")
    first = actions.do_send_reply(owner_a, conv, "Chào bạn")
    actions.do_send_reply(owner_a, conv, "Bạn cần gì ạ?")
    Message.objects.filter(pk=first.pk).update(status=MessageStatus.READ)
    body = login(client, owner_a).get(f"/w/alpha/c/{conv.number}/pane/").content.decode()
    assert body.count("Seen") == 1
    api_conv = receive(make_inbox(ws_a), "api-3").conversation
    reply = actions.do_send_reply(owner_a, api_conv, "Chào")
    Message.objects.filter(pk=reply.pk).update(status=MessageStatus.READ)
    assert "Seen" not in client.get(f"/w/alpha/c/{api_conv.number}/pane/").content.decode()


# --- navigation -------------------------------------------------------------------------------------
def topbar(client, path="/w/alpha/"):
    return client.get(path).content.decode().split("</header>")[0]


def test_comments_moderation_link_for_admins_of_workspaces_with_comments(client, ws_a, admin_a):
    login(client, admin_a)
    assert "/comments/manage/alpha/" not in topbar(client)
    make_inbox(ws_a, "Bình luận", connector="comments")
    assert "/comments/manage/alpha/" in topbar(client)
    agent = add_member(ws_a, "agent@alpha.test", Role.AGENT)
    login(client, agent)
    assert "/comments/manage/alpha/" not in topbar(client)


def test_channels_page_links_api_tokens_and_widget_channels(client, admin_a):
    body = login(client, admin_a).get("/w/alpha/admin/inboxes/").content.decode()
    assert 'href="/api/manage/alpha/tokens/"' in body
    assert "?channel=livechat" in body and "?channel=comments" in body


# --- creating widget inboxes ------------------------------------------------------------------------
def test_creating_live_chat_shows_the_embed_snippet_and_is_audited(client, ws_a, admin_a):
    login(client, admin_a)
    assert "Brand colour" in client.get("/w/alpha/admin/inboxes/new/?channel=livechat").content.decode()
    response = client.post(
        "/w/alpha/admin/inboxes/new/",
        {
            "channel": "livechat",
            "name": "Chat web",
            "allowed_origins": "https://shop.example.vn\nhttps://*.shop.example.vn",
            "color": "#AA3300",
            "greeting_vi": "Xin chào!",
            "greeting_en": "",
            "hours_days": ["mon", "fri"],
            "hours_open": "08:00",
            "hours_close": "17:30",
            "hours_timezone": "Asia/Ho_Chi_Minh",
        },
    )
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    inbox = Inbox.objects.get(workspace=ws_a, connector="livechat")
    conf = inbox.settings
    assert conf["allowed_origins"] == ["https://shop.example.vn", "https://*.shop.example.vn"]
    assert conf["color"] == "#aa3300" and conf["greeting"] == {"vi": "Xin chào!"}
    assert conf["business_hours"]["days"] == {"mon": [["08:00", "17:30"]], "fri": [["08:00", "17:30"]]}
    body = response.content.decode()
    loader = f"{settings.PUBLIC_URL}/widget/{inbox.public_key}.js"
    snippet = f"&lt;script src=&quot;{loader}&quot; async&gt;&lt;/script&gt;"
    assert snippet in body and 'data-copy-target="embed-snippet"' in body
    event = AuditEvent.objects.get(workspace=ws_a, action="inbox.created")
    assert event.object_id == str(inbox.pk)
    # the snippet stays on the detail page; the identity secret was shown only in the POST's response
    from hotro.connectors.widget.identity import identity_secret

    assert identity_secret(inbox) in body
    detail = client.get(f"/w/alpha/admin/inboxes/{inbox.pk}/").content.decode()
    assert snippet in detail and identity_secret(inbox) not in detail


def test_live_chat_with_a_bad_origin_or_hours_is_refused_with_sentences(client, ws_a, admin_a):
    login(client, admin_a)
    base = {"channel": "livechat", "name": "Chat", "color": "#0f766e"}
    response = client.post("/w/alpha/admin/inboxes/new/", {**base, "allowed_origins": "not a site"})
    assert response.status_code == 200
    assert "is not a web site origin such as https://shop.example." in response.content.decode()
    response = client.post(
        "/w/alpha/admin/inboxes/new/",
        {
            **base,
            "allowed_origins": "https://shop.example.vn",
            "hours_days": ["mon"],
            "hours_open": "18:00",
            "hours_close": "08:00",
        },
    )
    assert "Each business-hours span must end after it starts." in response.content.decode()
    assert not Inbox.objects.filter(workspace=ws_a, connector="livechat").exists()
    assert not AuditEvent.objects.filter(workspace=ws_a, action="inbox.created").exists()


def test_creating_product_comments_with_a_moderation_policy(client, ws_a, admin_a):
    login(client, admin_a)
    response = client.post(
        "/w/alpha/admin/inboxes/new/",
        {
            "channel": "comments",
            "name": "Hỏi đáp sản phẩm",
            "allowed_origins": "https://shop.example.vn",
            "moderation": "publish_verified",
        },
    )
    assert response.status_code == 200, response.content
    inbox = Inbox.objects.get(workspace=ws_a, connector="comments")
    assert inbox.settings["moderation"] == "publish_verified"
    body = response.content.decode()
    assert f"{settings.PUBLIC_URL}/comments/{inbox.public_key}.js" in body
    assert "data-product-id" in body and "Copy the snippet" in body
    events = list(AuditEvent.objects.filter(workspace=ws_a, action="inbox.created"))
    assert len(events) == 1 and events[0].object_id == str(inbox.pk)


def test_agents_cannot_create_widget_inboxes(client, ws_a):
    login(client, add_member(ws_a, "agent@alpha.test", Role.AGENT))
    response = client.post(
        "/w/alpha/admin/inboxes/new/",
        {
            "channel": "livechat",
            "name": "x",
            "allowed_origins": "https://shop.example.vn",
            "color": "#0f766e",
        },
    )
    assert response.status_code == 403
    assert not Inbox.objects.filter(workspace=ws_a, connector="livechat").exists()


# --- @mentions --------------------------------------------------------------------------------------
def test_mention_suggestions_list_matching_active_members_without_emails(
    client, ws_a, ws_b, owner_a, admin_a
):
    add_member(ws_a, "lan@alpha.test", Role.AGENT, display_name="Lan Phạm")
    gone = add_member(ws_a, "linh@alpha.test", Role.AGENT, display_name="Linh Cũ")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    add_member(ws_b, "lam@beta.test", Role.AGENT, display_name="Lâm Khác")
    login(client, owner_a)
    data = client.get("/w/alpha/mentions/?q=l").json()
    assert data["results"] == [{"handle": "LanPhạm", "name": "Lan Phạm"}]
    folded = client.get("/w/alpha/mentions/?q=pham").json()["results"]
    assert [r["handle"] for r in folded] == ["LanPhạm"]
    assert [r["handle"] for r in client.get("/w/alpha/mentions/?q=quan").json()["results"]] == ["QuảnTrị"]
    everyone = client.get("/w/alpha/mentions/?q=").content.decode()
    assert "@" not in everyone.replace("@alpha", "")  # handles only
    assert "alpha.test" not in everyone


def test_a_suggested_handle_mentions_the_member(client, ws_a, owner_a):
    lan = add_member(ws_a, "lan@alpha.test", Role.AGENT, display_name="Lan Phạm")
    conv = receive(make_inbox(ws_a), "m-1").conversation
    login(client, owner_a)
    handle = client.get("/w/alpha/mentions/?q=lan").json()["results"][0]["handle"]
    client.post(f"/w/alpha/c/{conv.number}/note/", {"text": f"@{handle} xem giúp"}, headers=HTMX)
    note = Message.objects.get(conversation=conv, direction=Direction.NOTE)
    assert [m.pk for m in note.mentions.all()] == [lan.pk]


def test_mention_suggestions_need_membership(client, ws_b, owner_b):
    assert client.get("/w/alpha/mentions/?q=a").status_code in (302, 403)
    login(client, owner_b)
    assert client.get("/w/alpha/mentions/?q=a").status_code in (403, 404)


def test_note_box_is_an_accessible_combobox(client, owner_a, ws_a):
    conv = receive(make_inbox(ws_a), "m-2").conversation
    body = login(client, owner_a).get(f"/w/alpha/c/{conv.number}/").content.decode()
    assert 'role="combobox"' in body and 'aria-controls="mention-list"' in body
    assert 'role="listbox"' in body and 'data-mentions-url="/w/alpha/mentions/"' in body
