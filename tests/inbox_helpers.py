"""Shared helpers of the inbox / realtime tests (imported by tests/test_inbox_*.py and friends)."""

from __future__ import annotations

from hotro.connectors.base import InboundAttachment, InboundMessage
from hotro.connectors.models import Inbox
from hotro.conversations import actions
from hotro.privacy.rls import tenant_scope
from hotro.tenancy.models import Membership


def make_inbox(workspace, name="Web API", connector="api") -> Inbox:
    with tenant_scope(workspace.pk):
        return Inbox.objects.create(
            workspace=workspace, connector=connector, name=name, credentials={"s": "x"}
        )


def receive(
    inbox, ext, text="Tôi muốn hoàn tiền đơn hàng", sender="cust-1", name="Nguyễn Văn An", attachments=()
):
    """One inbound customer message (through the real action); returns the message."""
    message, _ = actions.do_receive_message(
        inbox,
        InboundMessage(
            external_id=ext,
            channel="api",
            sender_address=sender,
            text=text,
            sender_name=name,
            sender_email=f"{sender}@example.vn",
            attachments=[InboundAttachment(*a) for a in attachments],
        ),
    )
    return message


def add_member(workspace, email, role, display_name="") -> Membership:
    from hotro.accounts.models import User
    from hotro.tenancy.actions import do_add_member

    user = User.objects.create_user(username=email, email=email, password="correct-horse-9")
    return do_add_member(workspace, user, role, display_name=display_name)
