"""Conversation actions: ``check_*`` authorizes and validates, then calls the trusted ``do_*``."""

from .manage import (
    check_assign,
    check_change_status,
    check_merge,
    check_move,
    check_set_priority,
    check_set_tags,
    do_assign,
    do_change_status,
    do_merge,
    do_move,
    do_set_priority,
    do_set_tags,
    do_wake_snoozed,
)
from .receive import do_create_conversation, do_receive_message
from .reply import check_add_note, check_send_reply, do_add_note, do_send_reply

__all__ = [
    "check_add_note",
    "check_assign",
    "check_change_status",
    "check_merge",
    "check_move",
    "check_send_reply",
    "check_set_priority",
    "check_set_tags",
    "do_add_note",
    "do_assign",
    "do_change_status",
    "do_create_conversation",
    "do_merge",
    "do_move",
    "do_receive_message",
    "do_send_reply",
    "do_set_priority",
    "do_set_tags",
    "do_wake_snoozed",
]
