"""Questions become conversations; agents answer in public (on the page) or privately by e-mail;
admins moderate (audited); comments inboxes are created in code and through the REST API."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import translation

from comments_helpers import ORIGIN, PRODUCT_ID, PRODUCT_URL, Visitor, _fresh_cache, make_inbox  # noqa: F401
from hotro.connectors.comments.models import Comment, CommentStatus
from hotro.connectors.models import Delivery, DeliveryStatus, InboxHealth
from hotro.conversations.actions import do_send_reply
from hotro.conversations.models import Conversation, Direction, Message
from hotro.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def ask(client, inbox, capture, text="Áo này có size XL không?", **fields):
    with capture(execute=True):
        response = Visitor(client, inbox, ip=fields.pop("ip", "198.51.100.7")).post(
            text, kind="question", **fields
        )
    assert response.status_code == 201, response.content
    return response.json()["comment"]


def reply(owner, conversation, capture, text, **extra):
    # delivery errors are stored in the language active when they happen
    with translation.override("en"), capture(execute=True):
        return do_send_reply(owner, conversation, text, extra=extra or None)


def test_a_question_becomes_a_conversation_with_the_product_link(
    client, ws_a, django_capture_on_commit_callbacks
):
    inbox = make_inbox(ws_a, "pending")
    question = ask(client, inbox, django_capture_on_commit_callbacks, name="Lan", email="lan@example.vn")
    conversation = Conversation.objects.get(inbox=inbox)
    assert conversation.channel_thread_id == f"comment:{question['id']}"
    message = conversation.messages.get()
    assert message.direction == Direction.INBOUND
    assert message.text.startswith("Áo này có size XL không?")
    assert PRODUCT_URL in message.text  # the agent sees the product's link
    assert message.extra["product_url"] == PRODUCT_URL
    assert message.extra["product_id"] == PRODUCT_ID
    assert message.extra["comment_id"] == question["id"]
    assert "Áo dài lụa" in conversation.subject
    contact = conversation.contact
    assert contact.name == "Lan" and contact.email == "lan@example.vn"
    assert Comment.objects.get(pk=question["id"]).contact_id == contact.pk
    # a second question is a conversation of its own, even from the same visitor
    ask(client, inbox, django_capture_on_commit_callbacks, "Còn màu xanh không?", ip="203.0.113.5")
    assert Conversation.objects.filter(inbox=inbox).count() == 2


def test_plain_comments_stay_out_of_the_inbox_unless_the_policy_says_so(
    client, ws_a, django_capture_on_commit_callbacks
):
    inbox = make_inbox(ws_a)
    with django_capture_on_commit_callbacks(execute=True):
        Visitor(client, inbox).post("Đẹp quá!")
    assert not Conversation.objects.filter(inbox=inbox).exists()
    forwarded = make_inbox(ws_a, comments_to_inbox=True)
    with django_capture_on_commit_callbacks(execute=True):
        Visitor(client, forwarded, ip="203.0.113.5").post("Đẹp quá!")
    assert Conversation.objects.filter(inbox=forwarded).count() == 1


def test_spam_questions_do_not_reach_agents(client, ws_a, django_capture_on_commit_callbacks):
    inbox = make_inbox(ws_a)
    ask(client, inbox, django_capture_on_commit_callbacks, "Giá bao nhiêu?", website="bot-filled")
    assert not Conversation.objects.exists()


def test_a_public_agent_reply_appears_on_the_page(client, ws_a, owner_a, django_capture_on_commit_callbacks):
    inbox = make_inbox(ws_a, "pending")
    question = ask(client, inbox, django_capture_on_commit_callbacks)
    conversation = Conversation.objects.get(inbox=inbox)
    answer = reply(owner_a, conversation, django_capture_on_commit_callbacks, "Dạ có size XL ạ.", public=True)
    delivery = Delivery.objects.get(message=answer)
    assert delivery.status == DeliveryStatus.SENT
    thread = Visitor(client, inbox, ip="192.0.2.1").thread()
    # answering in public published the pending question with it
    assert len(thread["comments"]) == 1
    shown = thread["comments"][0]
    assert shown["id"] == question["id"] and shown["answered"] is True
    business = shown["replies"][0]
    assert business["text"] == "Dạ có size XL ạ."
    assert business["business"] is True and business["author"] == ws_a.name
    assert mail.outbox == []
    # a retried delivery does not publish twice
    from hotro.connectors.comments.connector import CommentsConnector

    CommentsConnector().send(delivery)
    assert Comment.objects.filter(is_business_reply=True).count() == 1


def test_visitor_replies_under_an_answered_question_join_its_conversation(
    client, ws_a, owner_a, django_capture_on_commit_callbacks
):
    inbox = make_inbox(ws_a)
    question = ask(client, inbox, django_capture_on_commit_callbacks)
    conversation = Conversation.objects.get(inbox=inbox)
    with django_capture_on_commit_callbacks(execute=True):
        follow_up = Visitor(client, inbox, ip="203.0.113.5").post(
            "Còn size S không?", name="Hoa", parent_id=question["id"]
        )
    assert follow_up.status_code == 201
    assert Conversation.objects.filter(inbox=inbox).count() == 1
    assert [m.text.split("\n")[0] for m in conversation.messages.order_by("created_at")] == [
        "Áo này có size XL không?",
        "Còn size S không?",
    ]


def test_a_private_reply_goes_by_email(client, ws_a, owner_a, django_capture_on_commit_callbacks):
    inbox = make_inbox(ws_a)
    ask(client, inbox, django_capture_on_commit_callbacks, name="Lan", email="lan@example.vn")
    conversation = Conversation.objects.get(inbox=inbox)
    answer = reply(
        owner_a, conversation, django_capture_on_commit_callbacks, "Chị để lại số điện thoại giúp em nhé."
    )
    assert Delivery.objects.get(message=answer).status == DeliveryStatus.SENT
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["lan@example.vn"]
    assert "Chị để lại số điện thoại giúp em nhé." in sent.body
    assert PRODUCT_URL in sent.body
    assert ws_a.name in sent.subject and "Áo dài lụa" in sent.subject
    # nothing was published
    assert not Comment.objects.filter(is_business_reply=True).exists()


def test_a_private_reply_without_email_fails_permanently(
    client, ws_a, owner_a, django_capture_on_commit_callbacks
):
    inbox = make_inbox(ws_a)
    ask(client, inbox, django_capture_on_commit_callbacks)
    conversation = Conversation.objects.get(inbox=inbox)
    answer = reply(owner_a, conversation, django_capture_on_commit_callbacks, "Dạ có ạ.")
    delivery = Delivery.objects.get(message=answer)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "no e-mail address to reply privately" in delivery.last_error
    assert Message.objects.get(pk=answer.pk).status == "failed"
    assert mail.outbox == []


def test_a_mail_server_failure_is_retried(
    client, ws_a, owner_a, django_capture_on_commit_callbacks, monkeypatch
):
    import smtplib

    from hotro.connectors.outbox import run_delivery

    inbox = make_inbox(ws_a)
    ask(client, inbox, django_capture_on_commit_callbacks, email="lan@example.vn")
    conversation = Conversation.objects.get(inbox=inbox)

    def down(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    with monkeypatch.context() as patch:
        patch.setattr("django.core.mail.EmailMessage.send", down)
        answer = reply(owner_a, conversation, django_capture_on_commit_callbacks, "Dạ có ạ.")
    delivery = Delivery.objects.get(message=answer)
    assert delivery.status == DeliveryStatus.RETRYING
    assert "will be retried" in delivery.last_error
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    assert run_delivery(str(delivery.pk)) == DeliveryStatus.SENT
    assert [m.to for m in mail.outbox] == [["lan@example.vn"]]


def test_a_public_reply_to_a_hidden_question_is_refused(
    client, ws_a, owner_a, django_capture_on_commit_callbacks
):
    inbox = make_inbox(ws_a)
    question = ask(client, inbox, django_capture_on_commit_callbacks)
    Comment.objects.filter(pk=question["id"]).update(status=CommentStatus.HIDDEN)
    conversation = Conversation.objects.get(inbox=inbox)
    answer = reply(owner_a, conversation, django_capture_on_commit_callbacks, "Dạ có ạ.", public=True)
    delivery = Delivery.objects.get(message=answer)
    assert delivery.status == DeliveryStatus.FAILED
    assert "hidden or marked as spam" in delivery.last_error
    assert not Comment.objects.filter(is_business_reply=True).exists()


# --- moderation -----------------------------------------------------------------------------------
def test_admins_moderate_from_the_manage_page_and_it_is_audited(
    client, ws_a, owner_a, django_capture_on_commit_callbacks
):
    inbox = make_inbox(ws_a, "pending")
    with django_capture_on_commit_callbacks(execute=True):
        Visitor(client, inbox).post("Chờ duyệt nhé <script>alert(1)</script>", email="lan@example.vn")
    comment = Comment.objects.get()
    client.force_login(owner_a.user)
    page = client.get("/comments/manage/alpha/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Chờ duyệt nhé &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "lan@example.vn" not in html  # masked
    assert str(comment.pk) in html
    for action, status in (("publish", "published"), ("hide", "hidden"), ("spam", "spam")):
        response = client.post(
            f"/comments/manage/alpha/{comment.pk}/",
            {"action": action, "next": "/comments/manage/alpha/?status=all"},
        )
        assert response.status_code == 302 and response["Location"] == "/comments/manage/alpha/?status=all"
        comment.refresh_from_db()
        assert comment.status == status
    events = list(AuditEvent.objects.filter(workspace=ws_a, action="comment.moderated").order_by("seq"))
    assert [(e.data["from"], e.data["to"]) for e in events] == [
        ("pending", "published"),
        ("published", "hidden"),
        ("hidden", "spam"),
    ]
    assert all(e.actor_id == owner_a.user_id and e.object_id == str(comment.pk) for e in events)
    assert Visitor(client, inbox, ip="192.0.2.1").thread()["comments"] == []
    spam_list = client.get("/comments/manage/alpha/?status=spam").content.decode()
    assert str(comment.pk) in spam_list


def test_agents_and_other_workspaces_cannot_moderate(
    client, ws_a, ws_b, owner_b, django_capture_on_commit_callbacks
):
    from hotro.accounts.models import User
    from hotro.tenancy.actions import do_add_member

    inbox = make_inbox(ws_a, "pending")
    Visitor(client, inbox).post("Chờ duyệt")
    comment = Comment.objects.get()
    agent_user = User.objects.create_user(
        username="minh@alpha.test", email="minh@alpha.test", password="x-long-password-1"
    )
    do_add_member(ws_a, agent_user, "agent")
    client.force_login(agent_user)
    assert client.get("/comments/manage/alpha/").status_code == 403
    assert client.post(f"/comments/manage/alpha/{comment.pk}/", {"action": "publish"}).status_code == 403
    client.force_login(owner_b.user)
    assert client.post(f"/comments/manage/beta/{comment.pk}/", {"action": "publish"}).status_code == 404
    assert client.post(f"/comments/manage/alpha/{comment.pk}/", {"action": "publish"}).status_code == 404
    comment.refresh_from_db()
    assert comment.status == CommentStatus.PENDING
    assert not AuditEvent.objects.filter(action="comment.moderated").exists()


def test_a_question_taken_out_of_spam_reaches_the_inbox(
    client, ws_a, owner_a, django_capture_on_commit_callbacks
):
    inbox = make_inbox(ws_a)
    ask(client, inbox, django_capture_on_commit_callbacks, "Có ship COD không?", website="filled")
    comment = Comment.objects.get()
    assert comment.status == CommentStatus.SPAM and not Conversation.objects.exists()
    client.force_login(owner_a.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/comments/manage/alpha/{comment.pk}/", {"action": "publish"})
    assert Conversation.objects.filter(inbox=inbox).count() == 1


# --- creating inboxes -----------------------------------------------------------------------------
def test_create_comments_inbox_validates_origins_and_policy(ws_a):
    from django.core.exceptions import ValidationError

    from hotro.connectors.comments.inboxes import create_comments_inbox

    inbox = create_comments_inbox(
        ws_a, "Shop", "https://shop.example.vn, https://*.example.vn", "publish_verified"
    )
    assert inbox.connector == "comments"
    assert inbox.settings["allowed_origins"] == ["https://shop.example.vn", "https://*.example.vn"]
    assert inbox.settings["moderation"] == "publish_verified"
    assert inbox.credentials["identity_secret"]
    assert AuditEvent.objects.filter(action="inbox.created", object_id=str(inbox.pk)).exists()
    with pytest.raises(ValidationError):
        create_comments_inbox(ws_a, "Shop", ["not an origin"], "pending")
    with pytest.raises(ValidationError):
        create_comments_inbox(ws_a, "Shop", [], "pending")
    with pytest.raises(ValidationError):
        create_comments_inbox(ws_a, "Shop", [ORIGIN], "publish_everything")
    assert inbox.health == InboxHealth.OK


def test_the_rest_api_creates_comments_inboxes(ws_a, owner_a):
    import json

    from django.test import Client

    from hotro.api.tokens import create_token

    _token, plaintext = create_token(ws_a, "CRM", created_by=owner_a)
    api = Client(headers={"Authorization": f"Bearer {plaintext}", "Accept-Language": "en"})
    body = {
        "channel": "comments",
        "name": "Bình luận",
        "allowed_origins": [ORIGIN],
        "moderation": "publish_verified",
    }
    created = api.post("/api/v1/inboxes", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["channel"] == "comments" and data["public_key"]
    assert f"/comments/{data['public_key']}.js" in data["embed_script"]
    from hotro.connectors.models import Inbox
    from hotro.connectors.widget.identity import identity_secret

    inbox = Inbox.objects.get(pk=data["id"])
    assert data["identity_secret"] == identity_secret(inbox)
    assert inbox.settings["moderation"] == "publish_verified"
    assert "identity_secret" not in api.get(f"/api/v1/inboxes/{data['id']}").json()
    bad = api.post(
        "/api/v1/inboxes",
        json.dumps({**body, "allowed_origins": ["ftp://nope"]}),
        content_type="application/json",
    )
    assert bad.status_code == 422 and "ftp://nope" in bad.json()["message"]


@pytest.mark.postgres
@pytest.mark.db_owner  # switches to a role of its own
def test_the_whole_flow_works_under_row_level_security(
    client, ws_a, ws_b, owner_a, django_capture_on_commit_callbacks
):
    import uuid

    from django.db import connection

    from hotro.privacy import rls
    from hotro.privacy.rls import tenant_scope

    role = f"hotro_app_cm_{uuid.uuid4().hex[:8]}"
    rls.ensure_app_role(role)
    inbox = make_inbox(ws_a)
    make_inbox(ws_b)
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')
    try:
        question = ask(client, inbox, django_capture_on_commit_callbacks)
        assert Visitor(client, inbox, ip="192.0.2.1").thread()["comments"][0]["id"] == question["id"]
        with tenant_scope(ws_a.pk):
            conversation = Conversation.objects.get(inbox=inbox)
            answer = reply(owner_a, conversation, django_capture_on_commit_callbacks, "Dạ có ạ.", public=True)
            assert Delivery.objects.get(message=answer).status == DeliveryStatus.SENT
        assert Visitor(client, inbox, ip="192.0.2.2").thread()["comments"][0]["answered"] is True
        with tenant_scope(ws_b.pk):
            assert not Comment.objects.exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
