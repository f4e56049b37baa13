# ruff: noqa: E501  (test data: long literal lines read better unbroken)
"""Our Message-ID tokens, subject tags, and the thread decision table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from hotro.connectors.email.headers import Address
from hotro.connectors.email.noise import BounceReport, Noise
from hotro.connectors.email.parse import ParsedEmail, parse_message
from hotro.connectors.email.threading import (
    ConversationState,
    ThreadPolicy,
    add_subject_tag,
    choose_thread,
    find_subject_tag,
    make_message_id,
    parse_message_id,
    strip_subject_prefixes,
)

SECRET = b"k" * 32
WS = uuid.UUID("0190d0a0-0000-7000-8000-000000000001")
CONV = uuid.UUID("0190d0a0-1111-7000-8000-00000000abcd")
NOW = datetime(2026, 1, 20, tzinfo=UTC)


# -- Message-ID tokens ------------------------------------------------------------------------------


def test_it_round_trips_our_message_id():
    mid = make_message_id(WS, CONV, SECRET, "Shop.VN")
    assert mid.startswith("<hotro.") and mid.endswith("@shop.vn>")
    assert parse_message_id(mid, SECRET, workspace_id=WS) == CONV
    assert parse_message_id(mid.strip("<>"), SECRET, workspace_id=WS) == CONV
    assert parse_message_id(mid.upper(), SECRET, workspace_id=WS) == CONV  # servers that fold case


def test_it_makes_a_fresh_id_for_every_message():
    assert make_message_id(WS, CONV, SECRET, "shop.vn") != make_message_id(WS, CONV, SECRET, "shop.vn")


def test_it_rejects_a_tampered_message_id():
    mid = make_message_id(WS, CONV, SECRET, "shop.vn").strip("<>")
    local, domain = mid.split("@")
    prefix, conv, nonce, mac = local.split(".")
    other_conv = make_message_id(WS, uuid.UUID(int=CONV.int + 1), SECRET, "x").split(".")[1]
    flipped = "a" if mac[0] != "a" else "b"
    for forged in (
        f"{prefix}.{other_conv}.{nonce}.{mac}@{domain}",  # another conversation, same MAC
        f"{prefix}.{conv}.{nonce[:-1]}{'a' if nonce[-1] != 'a' else 'b'}.{mac}@{domain}",  # changed nonce
        f"{prefix}.{conv}.{nonce}.{flipped}{mac[1:]}@{domain}",  # changed MAC
        f"{prefix}.{conv}.{nonce}@{domain}",  # MAC removed
    ):
        assert parse_message_id(forged, SECRET, workspace_id=WS) is None
    assert parse_message_id(mid, b"another secret", workspace_id=WS) is None
    assert parse_message_id(mid, SECRET, workspace_id=uuid.uuid4()) is None  # bound to the workspace
    assert parse_message_id("<CAF=abc@mail.gmail.com>", SECRET, workspace_id=WS) is None
    assert parse_message_id("", SECRET, workspace_id=WS) is None


@pytest.mark.parametrize(
    "subject",
    [
        "Your order [#1234]",
        "Re: Your order [#1234]",
        "RE: Fwd: TL: Your order [#1234]",
        "Trả lời: Chuyển tiếp: Đơn hàng [#1234]",
        "AW: [# 1234 ] Bestellung",
        "Re: Your order ［＃1234］",  # full-width brackets from an IME
    ],
)
def test_it_finds_the_subject_tag(subject):
    assert find_subject_tag(subject) == 1234


def test_it_finds_no_tag_in_plain_subjects():
    assert find_subject_tag("Order #1234 is late") is None
    assert find_subject_tag("") is None


def test_it_adds_the_subject_tag_once():
    assert add_subject_tag("Your order", 42) == "Your order [#42]"
    assert add_subject_tag("Re: Your order [#42]", 42) == "Re: Your order [#42]"
    assert add_subject_tag("Your order [#7]", 42) == "Your order [#42]"
    assert add_subject_tag("", 42) == "[#42]"


def test_it_strips_reply_prefixes():
    assert strip_subject_prefixes("Re: TL: Fwd: RE[2]: Trả lời: Hello [#12]") == "Hello [#12]"
    assert strip_subject_prefixes("Reply needed") == "Reply needed"


# -- the decision table ----------------------------------------------------------------------------


@dataclass
class Conv:
    number: int
    participants: set[str]
    status: str = "open"
    resolved_at: datetime | None = None
    merged_into: Conv | None = None


@dataclass
class FakeLookups:
    ours: dict[str, Conv] = field(default_factory=dict)
    known: dict[str, Conv] = field(default_factory=dict)
    numbers: dict[int, Conv] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def conversation_for_our_message_id(self, message_id):
        self.calls.append(f"ours:{message_id}")
        return self.ours.get(message_id)

    def conversation_for_known_message_id(self, message_id):
        self.calls.append(f"known:{message_id}")
        return self.known.get(message_id)

    def conversation_by_number(self, number):
        return self.numbers.get(number)

    def is_participant(self, conversation, sender_address):
        return sender_address in conversation.participants

    def conversation_state(self, conversation):
        return ConversationState(conversation.status, conversation.resolved_at, conversation.merged_into)


def mail(sender="an@gmail.com", subject="Hello", in_reply_to=(), references=(), message_id="new@x", **extra):
    return ParsedEmail(
        message_id=message_id,
        in_reply_to=list(in_reply_to),
        references=list(references),
        subject=subject,
        from_=Address("", sender),
        **extra,
    )


AN = Conv(1, {"an@gmail.com"})
BICH = Conv(2, {"bich@yahoo.com"})


def test_it_threads_by_our_token_for_any_sender_and_flags_the_newcomer():
    lookups = FakeLookups(ours={"hotro.ours@shop.vn": AN})
    decision = choose_thread(mail("colleague@company.vn", in_reply_to=["hotro.ours@shop.vn"]), lookups)
    assert (decision.action, decision.conversation, decision.matched_by) == ("append", AN, "our-message-id")
    assert decision.add_sender_as_participant is True


def test_it_threads_by_a_known_id_from_a_participant():
    lookups = FakeLookups(known={"an-first@gmail.com": AN})
    decision = choose_thread(mail(references=["an-first@gmail.com"]), lookups)
    assert (decision.action, decision.conversation, decision.matched_by) == ("append", AN, "known-message-id")
    assert decision.add_sender_as_participant is False


def test_it_never_merges_an_unrelated_sender_by_known_id_zammad_5064():
    """A newsletter's Message-ID shared by many repliers must not pull them into one conversation."""
    lookups = FakeLookups(known={"newsletter@brand.example": AN})
    decision = choose_thread(mail("stranger@example.com", in_reply_to=["newsletter@brand.example"]), lookups)
    assert decision.action == "new" and decision.conversation is None
    assert decision.refused == ["known-message-id: sender is not a participant"]


def test_it_never_merges_an_unrelated_sender_by_subject_tag():
    lookups = FakeLookups(numbers={1: AN})
    decision = choose_thread(mail("stranger@example.com", subject="Re: Your order [#1]"), lookups)
    assert decision.action == "new"
    assert choose_thread(mail(subject="Re: Your order [#1]"), lookups).conversation is AN


def test_it_survives_a_rewritten_message_id_chatwoot_10028():
    """The server replaced our Message-ID, so In-Reply-To is unknown, but References still holds the chain."""
    lookups = FakeLookups(ours={"hotro.first@shop.vn": AN}, known={"an-first@gmail.com": AN})
    parsed = mail(
        in_reply_to=["ABC123@EURPRD01.outlook.com"],
        references=["an-first@gmail.com", "hotro.first@shop.vn", "ABC123@EURPRD01.outlook.com"],
    )
    decision = choose_thread(parsed, lookups)
    assert decision.conversation is AN and decision.matched_by == "our-message-id"
    # newest first: the rewritten id, then our token; the customer's first mail was never needed
    assert lookups.calls[2:] == [
        "ours:ABC123@EURPRD01.outlook.com",
        "known:ABC123@EURPRD01.outlook.com",
        "ours:hotro.first@shop.vn",
    ]


def test_it_uses_the_original_id_a_relay_kept():
    lookups = FakeLookups(ours={"hotro.first@shop.vn": AN})
    parsed = mail(in_reply_to=["rewritten@relay"], original_message_ids=["hotro.first@shop.vn"])
    assert choose_thread(parsed, lookups).matched_by == "original-message-id"


def test_it_prefers_headers_over_the_subject_tag():
    lookups = FakeLookups(known={"an-first@gmail.com": AN}, numbers={2: BICH})
    BICH.participants.add("an@gmail.com")
    try:
        decision = choose_thread(mail(subject="Re: [#2]", in_reply_to=["an-first@gmail.com"]), lookups)
    finally:
        BICH.participants.discard("an@gmail.com")
    assert decision.conversation is AN


def test_it_starts_a_new_conversation_when_nothing_matches():
    decision = choose_thread(mail(subject="Hello [#999]", in_reply_to=["unknown@x"]), FakeLookups())
    assert (decision.action, decision.conversation, decision.reason) == ("new", None, "no thread matched")


def test_it_marks_a_message_seen_before_as_duplicate():
    lookups = FakeLookups(known={"dup@gmail.com": AN})
    decision = choose_thread(mail("stranger@example.com", message_id="dup@gmail.com"), lookups)
    assert (decision.action, decision.conversation) == ("duplicate", AN)


def test_it_follows_merged_conversations():
    target = Conv(3, {"an@gmail.com"})
    merged = Conv(4, {"an@gmail.com"}, merged_into=target)
    decision = choose_thread(mail(in_reply_to=["m@x"]), FakeLookups(known={"m@x": merged}))
    assert decision.conversation is target


RESOLVED_3_DAYS = NOW - timedelta(days=3)
RESOLVED_40_DAYS = NOW - timedelta(days=40)


@pytest.mark.parametrize(
    ("resolved_at", "policy", "noise", "action"),
    [
        (RESOLVED_3_DAYS, ThreadPolicy(), Noise(), "reopen"),
        (RESOLVED_40_DAYS, ThreadPolicy(), Noise(), "reopen"),
        (RESOLVED_3_DAYS, ThreadPolicy(reopen_within_days=30), Noise(), "reopen"),
        (RESOLVED_40_DAYS, ThreadPolicy(reopen_within_days=30), Noise(), "new"),
        (RESOLVED_3_DAYS, ThreadPolicy(reopen_within_days=0), Noise(), "new"),
        (RESOLVED_3_DAYS, ThreadPolicy(), Noise(is_auto_reply=True, is_out_of_office=True), "append"),
        (RESOLVED_40_DAYS, ThreadPolicy(reopen_within_days=30), Noise(is_bulk=True), "append"),
    ],
)
def test_it_applies_the_resolved_policy(resolved_at, policy, noise, action):
    conv = Conv(5, {"an@gmail.com"}, status="resolved", resolved_at=resolved_at)
    decision = choose_thread(
        mail(in_reply_to=["r@x"], noise=noise), FakeLookups(known={"r@x": conv}), policy=policy, now=NOW
    )
    assert decision.action == action
    if action == "new":
        assert decision.previous is conv and decision.conversation is None
    else:
        assert decision.conversation is conv


def test_it_attaches_a_bounce_to_the_message_it_reports():
    report = BounceReport("hotro.sent@shop.vn", "nobody@example.com", "failed", "5.1.1", "550 unknown")
    parsed = mail(
        "mailer-daemon@mx.example", noise=Noise(is_bounce=True, is_auto_reply=True), bounces=[report]
    )
    conv = Conv(6, {"an@gmail.com"}, status="resolved", resolved_at=RESOLVED_3_DAYS)
    decision = choose_thread(parsed, FakeLookups(ours={"hotro.sent@shop.vn": conv}), now=NOW)
    assert (decision.action, decision.conversation, decision.matched_by) == ("bounce", conv, "dsn")


def test_it_threads_a_real_reply_end_to_end():
    """make_message_id -> a client's reply quoting it -> parse -> choose_thread."""
    conv_id = uuid.uuid4()
    ours = make_message_id(WS, conv_id, SECRET, "shop.vn")
    conversation = Conv(7, {"an@gmail.com"})

    class Lookups(FakeLookups):
        def conversation_for_our_message_id(self, message_id):
            return conversation if parse_message_id(message_id, SECRET, workspace_id=WS) == conv_id else None

    raw = (
        "From: An <An@Gmail.com>\r\nTo: support@shop.vn\r\nSubject: Re: Order [#7]\r\nMessage-ID: <r@gmail.com>\r\n"
        f"In-Reply-To: {ours}\r\nReferences: <a@gmail.com> {ours}\r\n\r\nThanks!\r\n"
    ).encode()
    parsed = parse_message(raw, max_attachment_bytes=10**6, max_total_bytes=10**7)
    decision = choose_thread(parsed, Lookups())
    assert (decision.action, decision.conversation, decision.matched_by) == (
        "append",
        conversation,
        "our-message-id",
    )
