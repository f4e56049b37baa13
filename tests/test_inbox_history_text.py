"""Every kind of history entry the code records reads as a sentence in the agent's timeline, in
English and Vietnamese (never the raw kind such as "Livechat emailed")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from hotro.conversations.models import ConversationEvent
from hotro.inbox.thread import describe

SRC = Path(__file__).resolve().parent.parent / "src" / "hotro"
RECORD = re.compile(r"(?:history\.record|record_history)\(\s*[\w.]+,\s*\"([a-z_]+)\"")


def recorded_kinds() -> set[str]:
    kinds = set()
    for path in SRC.rglob("*.py"):
        kinds.update(RECORD.findall(path.read_text(encoding="utf-8")))
    return kinds


def test_the_scan_finds_the_kinds_channels_record():
    assert {"created", "replied", "livechat_offline", "livechat_emailed", "csat_received", "follows_up"} <= (
        recorded_kinds()
    )


@pytest.mark.parametrize("language", ["en", "vi"])
def test_every_recorded_kind_has_its_own_sentence(language):
    data = {
        "previous_number": 7,
        "rating": 4,
        "into_number": 3,
        "from_number": 2,
        "priority": "high",
        "status": "resolved",
        "previous": "open",
    }
    raw_fallbacks = []
    with translation.override(language):
        for kind in sorted(recorded_kinds()):
            text = describe(ConversationEvent(kind=kind, data=data), {}, {})
            if text == kind.replace("_", " ").capitalize():
                raw_fallbacks.append(kind)
        assert "7" in describe(ConversationEvent(kind="follows_up", data=data), {}, {})
        assert "4" in describe(ConversationEvent(kind="csat_received", data=data), {}, {})
    assert raw_fallbacks == []


def test_channel_entries_are_translated():
    for kind in ("follows_up", "livechat_offline", "livechat_emailed", "csat_received"):
        event = ConversationEvent(kind=kind, data={"previous_number": 7, "rating": 4})
        with translation.override("en"):
            english = describe(event, {}, {})
        with translation.override("vi"):
            vietnamese = describe(event, {}, {})
        assert vietnamese != english, kind
