# ruff: noqa: E501  (test data: long literal lines read better unbroken)
"""split_reply on its own, noise classification and DSN parsing from raw bytes, Authentication-Results."""

from __future__ import annotations

import email
import email.policy

import pytest

from hotro.connectors.email.auth_results import looks_spoofed, parse_authentication_results, parse_header
from hotro.connectors.email.noise import classify, parse_dsn
from hotro.connectors.email.quotes import split_reply

# -- quotes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "new"),
    [
        ("Ok\n\nOn Mon, Jan 5, 2026 at 10:00 AM A <a@b.c> wrote:\n> old", "Ok"),
        ("Ok\n\nVào Th 2, 5 thg 1, 2026 vào lúc 10:00 A <a@b.c> đã viết:\n> cũ", "Ok"),
        ("Ok\n\nOn Jan 5, 2026, at 10:00, A <a@b.c> wrote:\n\n> old", "Ok"),
        ("Ok\n\nOn 01/02/2026 10:00, A wrote:\n> old", "Ok"),
        ("Ok\r\n\r\nFrom: A <a@b.c>\r\nSent: Monday\r\nTo: B\r\nSubject: x\r\n\r\nold", "Ok"),
        ("Ok\n\nTừ: A <a@b.c>\nĐã gửi: Thứ Hai\nĐến: B\nChủ đề: x\n\ncũ", "Ok"),
        ("Ok\n\n*From:* A\n*Sent:* Monday\n*To:* B\n*Subject:* x", "Ok"),
        ("Ok\n-----Original Message-----\nFrom: A", "Ok"),
        ("Ok\n\nSent from my iPhone", "Ok"),
        ("Ok\n\nGửi từ iPhone của tôi", "Ok"),
        ("Ok\n\nGet Outlook for iOS", "Ok"),
        ("Ok\n\nSent from Outlook for Android", "Ok"),
        ("Ok\n-- \nJohn", "Ok"),
        ("Ok\n> old\n> older", "Ok"),
        ("Ok", "Ok"),
        ("", ""),
    ],
)
def test_it_splits_plain_text_replies(text, new):
    assert split_reply(text)[0] == new


def test_it_keeps_a_from_line_that_is_not_a_header_block():
    text = "From: my phone I can't log in.\nPlease help."
    assert split_reply(text) == (text, "")


@pytest.mark.parametrize(
    "html",
    [
        '<div>Mới</div><div class="gmail_quote">On ... wrote:<blockquote class="gmail_quote">Cũ</blockquote></div>',
        '<div>Mới</div><hr><div id="divRplyFwdMsg"><b>From:</b> A</div><div>Cũ</div>',
        '<div>Mới</div><blockquote type="cite">Cũ</blockquote>',
        '<p>Mới</p><div class="moz-cite-prefix">On 01/02/2026, A wrote:</div><blockquote type="cite">Cũ</blockquote>',
        '<p>Mới</p><div style="border:none;border-top:solid #E1E1E1 1.0pt"><p><b>Từ:</b> A</p></div><p>Cũ</p>',
    ],
)
def test_it_splits_html_replies_at_the_quote_container(html):
    new, quoted = split_reply("", html)
    assert new == "Mới" and "Cũ" in quoted


def test_it_prefers_the_html_markers_over_the_text_part():
    text = "Answer\n\nOld text the client did not mark"
    html = '<div>Answer</div><div class="gmail_quote"><blockquote class="gmail_quote">Old text</blockquote></div>'
    assert split_reply(text, html) == ("Answer", "> Old text")


# -- noise and DSN from raw bytes -------------------------------------------------------------------


def test_it_classifies_raw_bytes_and_message_objects():
    raw = b"From: x@y.z\r\nSubject: Automatic reply: hi\r\nAuto-Submitted: auto-replied\r\n\r\nAway"
    for message in (raw, email.message_from_bytes(raw, policy=email.policy.default)):
        noise = classify(message)
        assert noise.is_auto_reply and noise.is_out_of_office and noise.suppress_auto_ack
        assert "Auto-Submitted: auto-replied" in noise.reasons


def test_it_lets_a_person_be_acknowledged():
    noise = classify(b"From: Real Person <real@example.com>\r\nSubject: Help\r\n\r\nMy order")
    assert not noise.suppress_auto_ack and noise.reasons == []


def test_it_parses_a_dsn_from_bytes():
    raw = (
        b"From: MAILER-DAEMON@mx\r\nSubject: Undelivered Mail\r\nContent-Type: multipart/report; report-type=delivery-status;"
        b' boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status'
        b"\r\n\r\nReporting-MTA: dns; mx\r\n\r\nFinal-Recipient: RFC822; <Gone@Example.com>\r\nAction: Failed\r\n"
        b"Status: 5.1.1 (unknown user)\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-Id: <orig@shop.vn>\r\n"
        b"Subject: hi\r\n\r\n--b--\r\n"
    )
    [report] = parse_dsn(raw)
    assert (report.recipient, report.action, report.status, report.original_message_id) == (
        "gone@example.com",
        "failed",
        "5.1.1",
        "orig@shop.vn",
    )
    assert report.permanent
    assert classify(raw).is_bounce


def test_it_does_not_take_a_customer_mail_about_delivery_for_a_bounce():
    raw = b"From: an@gmail.com\r\nSubject: Delivery failed again!\r\n\r\nYour courier could not be delivered to my house."
    assert parse_dsn(raw) == [] and not classify(raw).is_bounce


# -- Authentication-Results --------------------------------------------------------------------------


def test_it_parses_comments_quotes_and_several_dkim_signatures():
    authserv, results = parse_header(
        'mx.google.com (v1.2); dkim=fail (bad sig) header.d=a.example header.s="s;1"; dkim=pass header.d=b.example;'
        " spf=softfail (google.com: 1.2.3.4 is neither permitted) smtp.mailfrom=x@a.example; dmarc=pass header.from=b.example"
    )
    assert authserv == "mx.google.com"
    assert [(r.method, r.result) for r in results] == [
        ("dkim", "fail"),
        ("dkim", "pass"),
        ("spf", "softfail"),
        ("dmarc", "pass"),
    ]
    assert results[0].properties == {"header.d": "a.example", "header.s": "s;1"}


def test_it_reads_only_the_trusted_server_and_the_newest_header():
    headers = [
        "evil.example; spf=pass; dkim=pass; dmarc=pass",
        "MX.Shop.VN; spf=fail smtp.mailfrom=x; dmarc=fail",
        "mx.shop.vn; spf=pass; dmarc=pass",
    ]
    results = parse_authentication_results(headers, "mx.shop.vn")
    assert (results.found, results.spf, results.dkim, results.dmarc, results.failed) == (
        True,
        "fail",
        "none",
        "fail",
        True,
    )
    assert parse_authentication_results(headers[:1], ["mx.shop.vn"]).found is False
    assert parse_authentication_results(["mx.shop.vn; none"], "mx.shop.vn").results == []


@pytest.mark.parametrize(
    ("display", "address", "spoofed"),
    [
        ("support@shop.vn", "billing@evil.example", True),
        ("Shop.vn Support", "x@evil.example", True),
        ("ｓｈｏｐ．ｖｎ", "x@evil.example", True),  # full-width
        ("shop\u200b.vn team", "x@evil.example", True),  # zero-width space
        ("Sales (sales @ shop . vn)", "x@evil.example", True),
        ("Hỗ trợ Shop", "support@shop.vn", False),
        ("support@shop.vn", "support@mail.shop.vn", False),  # a subdomain of the business
        ("Nguyễn Văn An", "an@gmail.com", False),
        ("myshop.vn fan", "fan@gmail.com", False),  # another domain that merely ends the same way
    ],
)
def test_it_spots_display_name_spoofing(display, address, spoofed):
    assert looks_spoofed(display, address, ["shop.vn"]) is spoofed
