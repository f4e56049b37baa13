import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from hotro.connectors.base import InboundAttachment, InboundMessage
from hotro.connectors.models import Delivery, Inbox
from hotro.conversations import actions
from hotro.conversations.models import Conversation, ConversationEvent, Direction, Message, Status
from hotro.realtime.models import RealtimeEvent
from hotro.tenancy.actions import do_add_member
from hotro.tenancy.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def inbox_a(ws_a):
    return Inbox.objects.create(workspace=ws_a, connector="api", name="API", credentials={"secret": "s"})


def inbound(ext="m1", text="Tôi muốn hoàn tiền", sender="cust-1", **kw):
    return InboundMessage(
        external_id=ext,
        channel="api",
        sender_address=sender,
        text=text,
        sender_name="Lan",
        sender_email=f"{sender}@example.vn",
        **kw,
    )


def test_it_creates_contact_conversation_and_message_once(inbox_a):
    m1, created = actions.do_receive_message(inbox_a, inbound())
    again, created_again = actions.do_receive_message(inbox_a, inbound())
    assert created and not created_again and again.pk == m1.pk
    conv = m1.conversation
    assert conv.number == 1 and conv.status == Status.OPEN
    assert Message.objects.filter(conversation=conv).count() == 1
    assert m1.text == "Tôi muốn hoàn tiền"
    assert conv.contact.email == "cust-1@example.vn"
    types = list(RealtimeEvent.objects.values_list("type", flat=True))
    assert "conversation.created" in types and "message.created" in types


def test_it_threads_follow_ups_and_reopens_resolved(inbox_a, owner_a):
    m1, _ = actions.do_receive_message(inbox_a, inbound("m1"))
    m2, _ = actions.do_receive_message(inbox_a, inbound("m2", text="còn nữa"))
    assert m2.conversation_id == m1.conversation_id
    conv = m1.conversation
    actions.check_change_status(
        owner_a, conv, Status.SNOOZED, snooze_until=timezone.now() + timezone.timedelta(hours=1)
    )
    m3, _ = actions.do_receive_message(inbox_a, inbound("m3"))
    conv.refresh_from_db()
    assert m3.conversation_id == conv.pk and conv.status == Status.OPEN
    assert ConversationEvent.objects.filter(conversation=conv, kind="reopened").exists()


def test_it_numbers_conversations_per_workspace(inbox_a, ws_b):
    inbox_b = Inbox.objects.create(workspace=ws_b, connector="api", name="B")
    a1, _ = actions.do_receive_message(inbox_a, inbound("x", sender="c1"))
    a2, _ = actions.do_receive_message(inbox_a, inbound("y", sender="c2"))
    b1, _ = actions.do_receive_message(inbox_b, inbound("x", sender="c1"))
    assert [a1.conversation.number, a2.conversation.number, b1.conversation.number] == [1, 2, 1]
    assert a1.conversation.contact_id != b1.conversation.contact_id


def test_reply_queues_delivery_and_sets_first_response(inbox_a, owner_a):
    m1, _ = actions.do_receive_message(inbox_a, inbound())
    reply = actions.check_send_reply(owner_a, m1.conversation, "Chúng tôi sẽ hoàn tiền")
    conv = Conversation.objects.get(pk=m1.conversation_id)
    assert reply.direction == Direction.OUTBOUND and conv.first_response_at is not None
    assert conv.assignee_id == owner_a.pk
    assert Delivery.objects.filter(message=reply).count() == 1
    with pytest.raises(ValidationError):
        actions.check_send_reply(owner_a, conv, "   ")


def test_viewer_cannot_reply(inbox_a, ws_a):
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied

    m1, _ = actions.do_receive_message(inbox_a, inbound())
    user = get_user_model().objects.create_user("v@alpha.test", "v@alpha.test", "pw-long-enough-1")
    viewer = do_add_member(ws_a, user, Role.VIEWER)
    with pytest.raises(PermissionDenied):
        actions.check_send_reply(viewer, m1.conversation, "hi")


def test_note_mentions_and_tags(inbox_a, owner_a, ws_a):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("minh", "minh@alpha.test", "pw-long-enough-1")
    agent = do_add_member(ws_a, user, Role.AGENT)
    m1, _ = actions.do_receive_message(inbox_a, inbound("a", sender="c1"))
    note = actions.check_add_note(owner_a, m1.conversation, "@minh xem giúp")
    assert list(note.mentions.all()) == [agent]
    actions.check_set_tags(owner_a, m1.conversation, ["VIP", "refund", "vip"])
    assert sorted(m1.conversation.tags.values_list("name", flat=True)) == ["refund", "vip"]
    actions.check_assign(owner_a, m1.conversation, assignee=agent)
    assert Conversation.objects.get(pk=m1.conversation_id).assignee_id == agent.pk


def test_merge_moves_messages_of_the_same_customer(inbox_a, owner_a):
    m1, _ = actions.do_receive_message(inbox_a, inbound("a", sender="c1"))
    actions.check_change_status(owner_a, m1.conversation, Status.RESOLVED)
    m2, _ = actions.do_receive_message(inbox_a, inbound("b", sender="c1"))
    assert m2.conversation_id != m1.conversation_id  # a resolved conversation is not reopened
    target = actions.check_merge(owner_a, m2.conversation, Conversation.objects.get(pk=m1.conversation_id))
    assert Message.objects.filter(conversation=target).count() == 2
    src = Conversation.objects.get(pk=m2.conversation_id)
    assert src.merged_into_id == target.pk and src.status == Status.RESOLVED
    with pytest.raises(ValidationError):  # already merged
        actions.check_merge(owner_a, src, target)


def test_merge_refuses_two_customers_and_cycles(inbox_a, owner_a):
    a, _ = actions.do_receive_message(inbox_a, inbound("a", sender="c1"))
    b, _ = actions.do_receive_message(inbox_a, inbound("b", sender="c2"))
    with pytest.raises(ValidationError):
        actions.check_merge(owner_a, b.conversation, a.conversation)
    actions.check_change_status(owner_a, a.conversation, Status.RESOLVED)
    c, _ = actions.do_receive_message(inbox_a, inbound("c", sender="c1"))
    stale_a = Conversation.objects.get(pk=a.conversation_id)
    stale_c = Conversation.objects.get(pk=c.conversation_id)
    actions.do_merge(owner_a, stale_c, stale_a)
    with pytest.raises(ValidationError):  # the reverse merge sees the locked, re-read row
        actions.do_merge(owner_a, stale_a, stale_c)


def test_snoozed_conversations_wake_when_due(inbox_a, owner_a):
    m1, _ = actions.do_receive_message(inbox_a, inbound())
    until = timezone.now() + timezone.timedelta(minutes=5)
    actions.check_change_status(owner_a, m1.conversation, Status.SNOOZED, snooze_until=until)
    assert actions.do_wake_snoozed(now=until - timezone.timedelta(minutes=1)) == 0
    assert actions.do_wake_snoozed(now=until + timezone.timedelta(seconds=1)) == 1
    conv = Conversation.objects.get(pk=m1.conversation_id)
    assert conv.status == Status.OPEN and conv.snoozed_until is None


def test_actions_refuse_objects_of_another_workspace(inbox_a, owner_a, owner_b, ws_b):
    m1, _ = actions.do_receive_message(inbox_a, inbound())
    inbox_b = Inbox.objects.create(workspace=ws_b, connector="api", name="B")
    with pytest.raises(ValidationError):
        actions.check_assign(owner_a, m1.conversation, assignee=owner_b)
    with pytest.raises(ValidationError):
        actions.check_move(owner_a, m1.conversation, inbox_b)


def test_inbound_attachments_are_stored(inbox_a):
    msg, _ = actions.do_receive_message(
        inbox_a, inbound(attachments=[InboundAttachment("hoadon.pdf", "application/pdf", b"%PDF-1.4 secret")])
    )
    att = msg.attachments.get()
    assert att.filename == "hoadon.pdf" and att.size == 15


def test_same_email_on_two_identities_joins_one_contact(inbox_a):
    a, _ = actions.do_receive_message(
        inbox_a,
        InboundMessage(external_id="e1", channel="api", sender_address="u1", sender_email="Lan@Example.vn"),
    )
    b, _ = actions.do_receive_message(
        inbox_a, InboundMessage(external_id="e2", channel="email", sender_address="lan@example.vn")
    )
    assert a.conversation.contact_id == b.conversation.contact_id


def test_public_replies_only_where_the_channel_has_them(inbox_a, owner_a):
    m1, _ = actions.do_receive_message(inbox_a, inbound())
    with pytest.raises(ValidationError):
        actions.check_send_reply(owner_a, m1.conversation, "công khai", public=True)
    comments = Inbox.objects.create(workspace=inbox_a.workspace, connector="comments", name="Bình luận")
    q, _ = actions.do_receive_message(
        comments,
        InboundMessage(external_id="q1", channel="comments", sender_address="v1", text="Còn size M?"),
    )
    reply = actions.check_send_reply(owner_a, q.conversation, "Còn ạ", public=True)
    assert reply.extra == {"public": True}


def test_replies_and_notes_are_in_the_history(inbox_a, owner_a):
    m1, _ = actions.do_receive_message(inbox_a, inbound())
    reply = actions.check_send_reply(owner_a, m1.conversation, "Dạ vâng")
    note = actions.check_add_note(owner_a, m1.conversation, "@owner xem lại")
    kinds = {e.kind: e.data for e in ConversationEvent.objects.filter(conversation=m1.conversation_id)}
    assert kinds["replied"]["message_id"] == str(reply.pk)
    assert kinds["noted"]["message_id"] == str(note.pk)
    assert kinds["noted"]["mentioned_ids"] == [str(owner_a.pk)]
