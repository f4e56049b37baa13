# ruff: noqa: E501  (test data: long literal lines read better unbroken)
"""Every corpus message parses, and the hand-written facts in expectations.json hold."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hotro.connectors.email.auth_results import looks_spoofed, parse_authentication_results
from hotro.connectors.email.headers import Headers
from hotro.connectors.email.parse import parse_message

CORPUS = Path(__file__).parent / "email_corpus"
EXPECT = json.loads((CORPUS / "expectations.json").read_text())
LIMITS = {"max_attachment_bytes": 10 * 1024 * 1024, "max_total_bytes": 25 * 1024 * 1024}
FLAG_NAMES = {
    "auto": "is_auto_reply",
    "ooo": "is_out_of_office",
    "bulk": "is_bulk",
    "bounce": "is_bounce",
    "receipt": "is_read_receipt",
    "noreply": "is_noreply_sender",
}


def test_it_has_at_least_100_messages_and_one_expectation_each():
    files = sorted(p.stem for p in CORPUS.glob("*.eml"))
    assert len(files) >= 100
    assert files == sorted(EXPECT)


def test_it_regenerates_the_same_corpus():
    sys.path.insert(0, str(CORPUS))
    try:
        import make_corpus

        built = make_corpus.build()
    finally:
        sys.path.remove(str(CORPUS))
    assert sorted(built) == sorted(EXPECT)
    for name, (raw, expect) in built.items():
        assert (CORPUS / f"{name}.eml").read_bytes() == raw, f"{name}.eml is stale: run make_corpus.py"
        assert json.loads(json.dumps(expect)) == EXPECT[name]


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_it_parses_the_corpus_message(name):  # noqa: C901, PLR0912, PLR0915
    expect = EXPECT[name]
    parsed = parse_message((CORPUS / f"{name}.eml").read_bytes(), **LIMITS)

    if "subject" in expect:
        assert parsed.subject == expect["subject"]
    if "from_email" in expect:
        assert parsed.from_ is not None and parsed.from_.email == expect["from_email"]
    if "from_name" in expect:
        assert parsed.from_ is not None and parsed.from_.name == expect["from_name"]
    for key in ("to", "cc", "reply_to"):
        if key in expect:
            assert [a.email for a in getattr(parsed, key)] == expect[key]
    if "reply_to_name" in expect:
        assert parsed.reply_to[0].name == expect["reply_to_name"]
    if "message_id" in expect:
        assert parsed.message_id == expect["message_id"]
    if "in_reply_to" in expect:
        assert parsed.in_reply_to == expect["in_reply_to"]
    if "references" in expect:
        assert parsed.references == expect["references"]
    if "date" in expect:
        assert (parsed.date.isoformat() if parsed.date else None) == expect["date"]

    for fragment in expect.get("text_contains", []):
        assert fragment in parsed.text
    for fragment in expect.get("text_not_contains", []):
        assert fragment not in parsed.text
    for fragment in expect.get("html_contains", []):
        assert fragment in parsed.html
    for fragment in expect.get("html_not_contains", []):
        assert fragment not in parsed.html
    if "text_from_html" in expect:
        assert parsed.text_from_html is expect["text_from_html"]
    if "remote_images" in expect:
        assert parsed.remote_images_blocked == expect["remote_images"]

    if "new" in expect:
        assert parsed.new_text == expect["new"]
    for fragment in expect.get("new_contains", []):
        assert fragment in parsed.new_text
    for fragment in expect.get("quoted_contains", []):
        assert fragment in parsed.quoted_text
        assert fragment not in parsed.new_text or fragment in {"wrote:"}
    if expect.get("quoted_empty"):
        assert parsed.quoted_text == ""

    if "attachments" in expect:
        assert [[a.filename, a.content_type] for a in parsed.attachments] == expect["attachments"]
        assert all(a.data and a.size == len(a.data) and not a.dropped for a in parsed.attachments)
    if "inline" in expect:
        assert sorted(a.filename for a in parsed.attachments if a.inline) == sorted(expect["inline"])
    for filename, prefix in expect.get("attachment_starts", {}).items():
        found = [a for a in parsed.attachments if a.filename == filename]
        assert found and found[0].data.startswith(prefix.encode())

    flags = expect.get("flags", {})
    for short, attr in FLAG_NAMES.items():
        assert getattr(parsed.noise, attr) is bool(flags.get(short)), (attr, parsed.noise.reasons)
    if "bounces" in expect:
        got = [(b.recipient, b.action, b.status, b.original_message_id) for b in parsed.bounces]
        want = [(b["recipient"], b["action"], b["status"], b["original"]) for b in expect["bounces"]]
        assert got == want
        for report, wanted in zip(parsed.bounces, expect["bounces"], strict=True):
            if "diagnostic_contains" in wanted:
                assert wanted["diagnostic_contains"] in report.diagnostic
    elif not flags.get("bounce"):
        assert parsed.bounces == []

    if "defects" in expect:
        assert bool(parsed.defects) is expect["defects"], parsed.defects
    if "auth" in expect:
        results = parse_authentication_results(Headers(parsed.headers), "mx.shop.vn")
        got = {"spf": results.spf, "dkim": results.dkim, "dmarc": results.dmarc, "found": results.found}
        assert got == expect["auth"]
    if "spoofed" in expect:
        assert looks_spoofed(parsed.from_.name, parsed.from_.email, ["shop.vn"]) is expect["spoofed"]
