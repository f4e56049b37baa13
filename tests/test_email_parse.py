# ruff: noqa: E501  (test data: long literal lines read better unbroken)
"""parse_message beyond the corpus: size limits, huge attachments, hostile input, charset repair."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotro.connectors.email.charsets import codec_for, decode_bytes, looks_vietnamese_1258
from hotro.connectors.email.headers import decode_words, parse_addresses, parse_id_list
from hotro.connectors.email.html import html_to_text, sanitize_html
from hotro.connectors.email.mime import unflow
from hotro.connectors.email.parse import parse_message

CORPUS = Path(__file__).parent / "email_corpus"
MB = 1024 * 1024


def with_attachment(size: int, *, body: str = "Xem file đính kèm.", name: str = "video.mp4") -> bytes:
    data = os.urandom(size)
    return (
        (
            "From: An <an@gmail.com>\r\nTo: support@shop.vn\r\nSubject: big\r\nMessage-ID: <big@x>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n'
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
            f"{body}\r\n--B\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n"
            f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'
        ).encode()
        + base64.encodebytes(data).replace(b"\n", b"\r\n")
        + b"--B--\r\n"
    )


def test_it_drops_a_huge_attachment_and_says_so():
    raw = with_attachment(12 * MB)
    parsed = parse_message(raw, max_attachment_bytes=10 * MB, max_total_bytes=25 * MB)
    assert parsed.text == "Xem file đính kèm."
    [attachment] = parsed.attachments
    assert attachment.dropped and attachment.data == b"" and attachment.filename == "video.mp4"
    assert 11.9 * MB < attachment.size < 12.1 * MB
    assert parsed.truncated_notes == [
        "Attachment “video.mp4” (12.0 MB) was not kept: it is larger than the 10.0 MB limit per attachment."
    ]


def test_it_keeps_an_attachment_under_the_limit_byte_for_byte():
    raw = with_attachment(300_000)
    parsed = parse_message(raw, max_attachment_bytes=MB, max_total_bytes=2 * MB)
    [attachment] = parsed.attachments
    assert not attachment.dropped and attachment.size == 300_000 == len(attachment.data)
    start = raw.index(b'filename="video.mp4"\r\n\r\n') + len(b'filename="video.mp4"\r\n\r\n')
    assert attachment.data == base64.b64decode(raw[start : raw.rindex(b"--B--")])
    assert parsed.truncated_notes == []


def test_it_applies_the_total_limit_across_attachments():
    raw = with_attachment(700_000)
    parsed = parse_message(raw, max_attachment_bytes=MB, max_total_bytes=500_000)
    assert parsed.attachments[0].dropped
    assert "limit per message" in parsed.truncated_notes[0]


def test_it_cuts_an_oversized_body_and_says_so():
    body = "Dòng chữ rất dài. " * 5000
    raw = with_attachment(10, body=body)
    parsed = parse_message(raw, max_attachment_bytes=MB, max_total_bytes=10_000)
    assert len(parsed.text.encode()) <= 10_000 and parsed.text.startswith("Dòng chữ rất dài.")
    assert parsed.truncated_notes[0].startswith("The text of this message was cut")


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.stem)
def test_it_never_raises_on_truncated_or_mangled_corpus_messages(path):
    raw = path.read_bytes()
    for mangled in (
        raw[: len(raw) // 2],
        raw[: len(raw) // 3] + b"\xff\xfe\x00" + raw[len(raw) // 2 :],
        raw.replace(b"\r\n", b"\r"),
    ):
        parsed = parse_message(mangled, max_attachment_bytes=MB, max_total_bytes=2 * MB)
        assert "\x00" not in parsed.text and "\x00" not in parsed.subject


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_it_never_raises_on_random_bytes(raw):
    parsed = parse_message(raw, max_attachment_bytes=1000, max_total_bytes=5000)
    assert isinstance(parsed.text, str)


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(max_size=80),
    boundary=st.text(alphabet="abc-=_'\"", min_size=0, max_size=10),
    charset=st.sampled_from(["utf-8", "us-ascii", "windows-1258", "iso-2022-jp", "bogus", ""]),
    body=st.binary(max_size=400),
)
def test_it_never_raises_on_hostile_mime(subject, boundary, charset, body):
    raw = (
        f'Subject: {subject}\r\nFrom: {subject}\r\nContent-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode("utf-8", "surrogatepass") + body
    parse_message(raw, max_attachment_bytes=1000, max_total_bytes=5000)


# -- charsets and headers ----------------------------------------------------------------------------


def test_it_decodes_mislabelled_charsets():
    text = "Đơn hàng của tôi bị giao nhầm địa chỉ"
    assert decode_bytes(text.encode(), "us-ascii").text == text
    assert decode_bytes(text.encode(), "us-ascii").mislabelled is True
    assert decode_bytes(text.encode(), "iso-8859-1").text == text
    assert decode_bytes("Grüße".encode("latin-1"), "iso-8859-1").text == "Grüße"
    assert decode_bytes("Grüße".encode("latin-1"), "iso-8859-1").mislabelled is False
    assert decode_bytes(b"\x80 euro", "iso-8859-1").text == "€ euro"  # what senders mean: windows-1252


def test_it_recognizes_windows_1258_vietnamese():
    assert looks_vietnamese_1258(b"Vi\xea\xf2t Nam")
    assert not looks_vietnamese_1258("Grüße aus München".encode("latin-1"))
    assert decode_bytes(b"Vi\xea\xf2t Nam", None).text == "Việt Nam"


def test_it_maps_charset_labels_to_supersets():
    assert codec_for("GB2312") == "gb18030"
    assert codec_for('"ks_c_5601-1987"') == "cp949"
    assert codec_for("utf-8*vi") == "utf-8"
    assert codec_for("x-unknown") == ""
    assert codec_for(None) == ""


def test_it_decodes_encoded_words():
    assert decode_words("=?utf-8?Q?Ch=C3=A0o?= =?utf-8?Q?_b=E1=BA=A1n?=") == "Chào bạn"
    assert decode_words("=?utf-8?B?Q2jDoG8=?=abc") == "Chàoabc"
    assert decode_words("=?utf-8?B?Q2jDoG8?=") == "Chào"  # missing padding
    assert decode_words("a =?bogus-charset?Q?x?= b") == "a x b"
    assert decode_words("=?utf-8?Q?broken") == "=?utf-8?Q?broken"


def test_it_parses_address_lists():
    addrs = parse_addresses(['"Lê, Hoàng" <Hoang@X.vn>, =?utf-8?Q?Tr=E1=BA=A7n?= <tran@y.vn>, bare@z.vn'])
    assert [(a.name, a.email) for a in addrs] == [
        ("Lê, Hoàng", "hoang@x.vn"),
        ("Trần", "tran@y.vn"),
        ("", "bare@z.vn"),
    ]


def test_it_parses_message_id_lists():
    assert parse_id_list("<a@x> <b@x>\r\n <a@x>") == ["a@x", "b@x"]
    assert parse_id_list("a@x, b@x") == ["a@x", "b@x"]
    assert parse_id_list("") == []


def test_it_unflows_format_flowed():
    assert unflow("one \ntwo\n> quoted \n> more\n-- \nsig") == "one two\n> quoted more\n-- \nsig"
    assert unflow("glu\ned", delsp=False) == "glu\ned"
    assert unflow("glu \ned", delsp=True) == "glued"


def test_it_sanitizes_html_and_keeps_cid_images():
    clean = sanitize_html(
        '<p onclick="x()">Hi<img src="cid:a@b"><img src="http://t/p.gif"><script>bad()</script></p>'
    )
    assert clean.html == '<p>Hi<img src="cid:a@b"><img></p>'
    assert clean.remote_images == 1 and clean.content_ids == {"a@b"}


def test_it_renders_html_as_text():
    html = "<div>Line 1<br>Line 2</div><p>Para <a href='https://x.vn/a'>link</a></p><ol><li>a</li></ol><pre>  keep\n  me</pre>"
    assert html_to_text(html) == "Line 1\nLine 2\n\nPara link (https://x.vn/a)\n\n- a\n  keep\n  me"
