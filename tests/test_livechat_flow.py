"""Live chat over HTTP: sessions, history visibility, identity verification, consents, replies,
attachments, CSAT, embedding checks and rate limits."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from api_support import world_a  # noqa: F401 - fixture
from hotro.connectors.livechat.models import ConsentRecord, CsatResponse, VisitorEvent
from hotro.conversations.actions import check_add_note, check_change_status, check_send_reply
from hotro.conversations.models import Conversation, Message
from livechat_helpers import SITE, make_inbox, post, say, start, verified_hash

pytestmark = pytest.mark.django_db(transaction=True)

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 40


@pytest.fixture
def inbox(ws_a):
    return make_inbox(ws_a, prechat={"enabled": True, "fields": ["name", "email"], "required": ["email"]})


def texts(data):
    return [m["text"] for m in data["messages"]]


def test_a_returning_visitor_on_the_same_device_sees_the_history_and_others_do_not(inbox):
    client = Client()
    first = start(client, inbox).json()
    assert say(client, inbox, first["token"], "Xin chào, còn hàng không?").status_code == 201
    again = start(client, inbox, token=first["token"]).json()
    assert texts(again) == ["Xin chào, còn hàng không?"]
    stranger = start(Client(), inbox).json()
    assert stranger["messages"] == [] and stranger["token"] != first["token"]
    conversation = Conversation.objects.get(inbox=inbox)
    message = Message.objects.get(conversation=conversation)
    assert message.text == "Xin chào, còn hàng không?" and message.sender_identity.channel == "livechat"


def test_resending_the_same_client_id_does_not_double_the_message(inbox):
    client = Client()
    token = start(client, inbox).json()["token"]
    client_id = str(uuid.uuid4())
    one = say(client, inbox, token, "hello", client_id).json()["message"]
    two = say(client, inbox, token, "hello", client_id).json()["message"]
    assert one["id"] == two["id"] and one["client_id"] == client_id
    assert Message.objects.filter(inbox=inbox).count() == 1


def test_verified_visitors_see_their_history_on_any_device_and_forgeries_are_refused(inbox):
    phone, laptop = Client(), Client()
    good = verified_hash(inbox, "cust-7")
    session = start(phone, inbox, user_id="cust-7", secret_hash=good).json()
    assert session["verified"]
    say(phone, inbox, session["token"], "đơn hàng #123 của tôi")
    other_device = start(laptop, inbox, user_id="cust-7", secret_hash=good).json()
    assert texts(other_device) == ["đơn hàng #123 của tôi"]
    forged = start(Client(), inbox, user_id="cust-7", secret_hash="0" * 64)
    assert forged.status_code == 403 and forged.json()["error"] == "identity_refused"
    anonymous = start(Client(), inbox).json()
    assert anonymous["messages"] == [] and not anonymous["verified"]
    identity = Message.objects.get(inbox=inbox).sender_identity
    assert identity.is_verified and identity.address == "user:cust-7"


def test_with_mandatory_verification_unverified_visitors_write_but_never_see_earlier_chats(ws_a):
    inbox = make_inbox(ws_a, identity_mandatory=True, prechat={"enabled": False})
    client = Client()
    first = start(client, inbox).json()
    assert say(client, inbox, first["token"], "first visit").status_code == 201
    back = start(client, inbox, token=first["token"]).json()
    assert back["messages"] == [] and back["token"] != first["token"]
    assert say(client, inbox, back["token"], "second visit").status_code == 201
    assert Message.objects.filter(inbox=inbox).count() == 2


def test_an_unverified_visitor_typing_someones_email_does_not_get_their_history(inbox):
    owner = Client()
    verified = start(owner, inbox, user_id="lan", secret_hash=verified_hash(inbox, "lan")).json()
    post(owner, inbox, verified["token"], "prechat", {"email": "lan@example.vn", "privacy_consent": True})
    say(owner, inbox, verified["token"], "secret order details")
    intruder = Client()
    session = start(intruder, inbox).json()
    r = post(
        intruder, inbox, session["token"], "prechat", {"email": "lan@example.vn", "privacy_consent": True}
    )
    assert r.status_code == 200
    assert start(intruder, inbox, token=session["token"]).json()["messages"] == []
    poll = intruder.get(
        f"/widget/{inbox.public_key}/poll?after=0&wait=0", HTTP_X_HOTRO_VISITOR=session["token"]
    )
    assert poll.json()["events"] == []


def test_prechat_requires_the_privacy_notice_and_records_both_consents(inbox):
    client = Client()
    token = start(client, inbox).json()["token"]
    refused = post(client, inbox, token, "prechat", {"name": "Lan", "email": "lan@example.vn"})
    message = refused.json()["message"]
    assert refused.status_code == 400 and ("privacy" in message.lower() or "riêng" in message)
    missing = post(client, inbox, token, "prechat", {"name": "Lan", "privacy_consent": True})
    assert missing.status_code == 400
    ok = post(
        client,
        inbox,
        token,
        "prechat",
        {"name": "Lan", "email": "lan@example.vn", "privacy_consent": True, "marketing_consent": False},
    )
    assert ok.status_code == 200
    records = {r.purpose: r for r in ConsentRecord.objects.filter(workspace=inbox.workspace)}
    assert records["privacy_notice"].granted is True and records["marketing"].granted is False
    assert records["privacy_notice"].source == f"livechat:{inbox.pk}"
    assert records["privacy_notice"].contact.email == "lan@example.vn"
    assert records["privacy_notice"].contact.identities.filter(channel="email").exists()
    assert start(client, inbox, token=token).json()["prechat_done"]


def test_offline_mode_requires_an_email_and_marks_the_conversation(ws_a):
    inbox = make_inbox(ws_a, offline=True, prechat={"enabled": False})
    client = Client()
    session = start(client, inbox).json()
    assert session["online"] is False
    r = post(client, inbox, session["token"], "prechat", {"privacy_consent": True})
    assert r.status_code == 400
    r = post(client, inbox, session["token"], "prechat", {"email": "an@example.vn", "privacy_consent": True})
    assert r.status_code == 200
    say(client, inbox, session["token"], "please email me")
    conversation = Conversation.objects.get(inbox=inbox)
    assert conversation.history.filter(kind="livechat_offline").exists()
    assert Message.objects.get(inbox=inbox).extra == {"livechat": {"offline": True}}


def test_agent_replies_reach_the_visitor_stream_delivered_and_notes_stay_private(inbox, owner_a):
    client = Client()
    token = start(client, inbox).json()["token"]
    say(client, inbox, token, "hi")
    conversation = Conversation.objects.get(inbox=inbox)
    check_add_note(owner_a, conversation, "internal: VIP customer")
    reply = check_send_reply(owner_a, conversation, "Chào bạn, mình là Chi!")
    reply.refresh_from_db()
    assert reply.status == "delivered"
    poll = client.get(f"/widget/{inbox.public_key}/poll?after=0&wait=0", HTTP_X_HOTRO_VISITOR=token).json()
    shown = [e["event"]["message"]["text"] for e in poll["events"]]
    assert shown == ["hi", "Chào bạn, mình là Chi!"]
    assert poll["events"][1]["event"]["message"]["agent"]["name"]
    history = start(client, inbox, token=token).json()
    assert "internal: VIP customer" not in texts(history)
    after = poll["events"][-1]["id"]
    none = client.get(f"/widget/{inbox.public_key}/poll?after={after}&wait=0", HTTP_X_HOTRO_VISITOR=token)
    assert none.json()["events"] == []
    r = post(client, inbox, token, "signal", {"type": "read", "conversation_id": str(conversation.pk)})
    assert r.json()["read"] == 1
    reply.refresh_from_db()
    assert reply.status == "read"


def test_resolving_asks_for_a_rating_which_is_stored_once_per_conversation(inbox, owner_a):
    client = Client()
    token = start(client, inbox).json()["token"]
    say(client, inbox, token, "hi")
    conversation = Conversation.objects.get(inbox=inbox)
    check_change_status(owner_a, conversation, "resolved")
    assert VisitorEvent.objects.filter(kind="conversation", data__status="resolved").exists()
    bad = post(client, inbox, token, "csat", {"conversation_id": str(conversation.pk), "rating": 6})
    assert bad.status_code == 400
    stranger = Client()
    other = start(stranger, inbox).json()["token"]
    assert (
        post(
            stranger, inbox, other, "csat", {"conversation_id": str(conversation.pk), "rating": 1}
        ).status_code
        == 403
    )
    assert (
        post(
            client,
            inbox,
            token,
            "csat",
            {"conversation_id": str(conversation.pk), "rating": 4, "comment": "nhanh"},
        ).status_code
        == 200
    )
    post(client, inbox, token, "csat", {"conversation_id": str(conversation.pk), "rating": 5})
    csat = CsatResponse.objects.get(conversation=conversation)
    assert csat.rating == 5 and csat.inbox_id == inbox.pk
    assert start(client, inbox, token=token).json()["conversations"][0]["rated"]


def test_attachments_are_sniffed_stored_encrypted_and_served_only_to_their_visitor(inbox, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    token = start(client, inbox).json()["token"]
    url = f"/widget/{inbox.public_key}/messages"
    fake = SimpleUploadedFile("photo.png", b"MZ\x90\x00\x03" + b"\x00" * 60, content_type="image/png")
    r = client.post(url, {"client_id": str(uuid.uuid4()), "files": fake}, HTTP_X_HOTRO_VISITOR=token)
    assert r.status_code == 400
    html = SimpleUploadedFile("x.png", b"<html><script>alert(1)</script>\x00", content_type="image/png")
    assert (
        client.post(
            url, {"client_id": str(uuid.uuid4()), "files": html}, HTTP_X_HOTRO_VISITOR=token
        ).status_code
        == 400
    )
    settings.HOTRO_MAX_UPLOAD_BYTES = 1000
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * 2000, content_type="image/png")
    assert (
        client.post(
            url, {"client_id": str(uuid.uuid4()), "files": big}, HTTP_X_HOTRO_VISITOR=token
        ).status_code
        == 400
    )
    png = SimpleUploadedFile("../../ảnh.png", PNG, content_type="application/octet-stream")
    r = client.post(
        url, {"client_id": str(uuid.uuid4()), "text": "", "files": png}, HTTP_X_HOTRO_VISITOR=token
    )
    assert r.status_code == 201, r.content
    item = r.json()["message"]["attachments"][0]
    assert item["content_type"] == "image/png" and item["filename"] == "ảnh.png"
    from hotro.conversations.models import Attachment
    from hotro.privacy.storage import get_backend

    stored = Attachment.objects.get(pk=item["id"])
    with get_backend().open(inbox.workspace_id, stored.storage_key) as f:
        assert PNG[:16] not in f.read()  # encrypted at rest
    got = client.get(f"/widget/{inbox.public_key}/files/{item['id']}", HTTP_X_HOTRO_VISITOR=token)
    assert got.status_code == 200 and got.content == PNG and "sandbox" in got["Content-Security-Policy"]
    other = start(Client(), inbox).json()["token"]
    assert (
        client.get(f"/widget/{inbox.public_key}/files/{item['id']}", HTTP_X_HOTRO_VISITOR=other).status_code
        == 404
    )


def test_inputs_are_length_limited_and_tokens_are_required(inbox):
    client = Client()
    token = start(client, inbox).json()["token"]
    assert say(client, inbox, token, "x" * 5001).status_code == 400
    assert say(client, inbox, token, "   ").status_code == 400
    assert say(client, inbox, "forged-token", "hi").status_code == 403
    assert say(client, inbox, token, "hi", client_id="not-a-uuid").status_code == 400
    r = post(client, inbox, token, "prechat", {"name": "x" * 500, "privacy_consent": True, "email": "a@b.vn"})
    assert r.status_code == 400


def test_a_token_of_another_inbox_is_refused(inbox, ws_b):
    other = make_inbox(ws_b)
    client = Client()
    token = start(client, other).json()["token"]
    assert say(client, inbox, token, "hi").status_code == 403


def test_message_rate_limit_answers_429_with_a_sentence(inbox):
    client = Client()
    token = start(client, inbox).json()["token"]
    codes = [say(client, inbox, token, f"m{i}").status_code for i in range(21)]
    assert codes[:20] == [201] * 20 and codes[20] == 429
    last = say(client, inbox, token, "again").json()
    assert last["error"] == "rate_limited" and len(last["message"]) > 10


def test_the_loader_and_frame_are_served_only_to_allowed_sites_with_a_strict_csp(inbox):
    client = Client()
    js = client.get(f"/widget/{inbox.public_key}.js", HTTP_REFERER=SITE + "/product/1")
    assert js.status_code == 200 and js["Content-Type"].startswith("text/javascript")
    assert b"eval(" not in js.content and inbox.public_key.encode() in js.content
    assert (
        client.get(f"/widget/{inbox.public_key}.js", HTTP_REFERER="https://evil.example/").status_code == 403
    )
    assert client.get("/widget/nope.js").status_code == 403
    frame = client.get(f"/widget/{inbox.public_key}/frame/?origin={SITE}&lang=en")
    assert frame.status_code == 200
    csp = frame["Content-Security-Policy"]
    assert f"frame-ancestors {SITE}" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert "X-Frame-Options" not in frame
    assert b'lang="en"' in frame.content and b"Chat with us" in frame.content
    vi = client.get(f"/widget/{inbox.public_key}/frame/?origin={SITE}&lang=vi")
    assert b'lang="vi"' in vi.content
    assert client.get(f"/widget/{inbox.public_key}/frame/?origin=https://evil.example").status_code == 403


def test_the_rest_api_creates_a_livechat_inbox(world_a):  # noqa: F811 - fixture
    client = world_a.client()
    body = {
        "channel": "livechat",
        "name": "Shop chat",
        "allowed_origins": ["https://shop.example"],
        "greeting": {"vi": "Chào bạn!", "en": "Hi!"},
        "identity_mandatory": True,
    }
    r = client.post("/api/v1/inboxes", json.dumps(body), content_type="application/json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["channel"] == "livechat" and data["public_key"] in data["embed_script"]
    assert len(data["identity_secret"]) >= 32
    bad = dict(body, allowed_origins=["not a site"])
    assert client.post("/api/v1/inboxes", json.dumps(bad), content_type="application/json").status_code == 422


def test_agent_typing_needs_a_member_of_the_conversations_workspace_with_mfa_set_up(
    inbox, owner_a, owner_b, ws_a
):
    token = start(Client(), inbox).json()["token"]
    assert say(Client(), inbox, token, "Xin chào").status_code == 201
    url = f"/widget/agent/typing/{Conversation.objects.get(inbox=inbox).pk}"
    assert Client().post(url, {"typing": "1"}).status_code == 403  # not signed in
    other = Client()
    other.force_login(owner_b.user)
    assert other.post(url, {"typing": "1"}).status_code == 404  # a member of another workspace
    assert other.post(f"/widget/agent/typing/{uuid.uuid4()}", {"typing": "1"}).status_code == 404
    agent = Client()
    agent.force_login(owner_a.user)
    assert agent.post(url, {"typing": "1"}).status_code == 204
    ws_a.mfa_required = True
    ws_a.save(update_fields=["mfa_required"])
    refused = agent.post(url, {"typing": "1"})  # MFA required and not set up: activate it first
    assert refused.status_code == 302 and refused["Location"] == reverse("mfa_activate_totp")
    ws_a.mfa_required = False
    ws_a.save(update_fields=["mfa_required"])
    owner_a.is_active = False
    owner_a.save(update_fields=["is_active"])
    assert agent.post(url, {"typing": "1"}).status_code == 404  # no longer a member
