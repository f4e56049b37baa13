# ruff: noqa: E501  (test data: long literal lines read better unbroken)
"""Helpers shared by the corpus builders (see make_corpus.py)."""

from __future__ import annotations

import base64
import quopri
import unicodedata

CORPUS: dict[str, tuple[bytes, dict]] = {}
DATE = "Mon, 05 Jan 2026 10:00:00 +0700"
SUPPORT = "Hỗ trợ Shop <support@shop.vn>"
SUPPORT_H = "=?utf-8?B?" + base64.b64encode("Hỗ trợ Shop".encode()).decode() + "?= <support@shop.vn>"
OUR_MID = "<hotro.aaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbb.cccccccccc@shop.vn>"
VI = "Chào shop, đơn hàng #1234 của tôi vẫn chưa được giao. Mong shop kiểm tra giúp."
VI_SUBJ = "Đơn hàng chưa được giao"


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").rstrip("\n")


def qp(text: str, charset: str = "utf-8") -> str:
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def ew(text: str, charset: str = "utf-8", codec: str | None = None) -> str:
    """One RFC 2047 B-encoded word."""
    return f"=?{charset}?B?{base64.b64encode(text.encode(codec or charset)).decode()}?="


def cp1258(text: str) -> bytes:
    """Vietnamese in Windows-1258: base letters + combining tone marks where no precomposed byte exists."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        # a precomposed letter with one of the marks (ă â ê ô ơ ư) plus the tone mark as a combining byte
        for index in range(len(marks)):
            head = unicodedata.normalize("NFC", base + marks[index])
            rest = marks[:index] + marks[index + 1 :]
            try:
                out += head.encode("cp1258") + rest.encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            out += (base + marks).encode("cp1258")
    return bytes(out)


def add(name: str, headers: str, body: str | bytes = "", *, lf: bool = False, **expect) -> None:
    assert name not in CORPUS, name
    head = headers.strip("\n").encode("utf-8")
    data = body.encode("utf-8") if isinstance(body, str) else body
    if data.startswith(b"Content-"):  # a MIME entity: its Content-* lines join the message headers
        entity_head, _, data = data.partition(b"\n\n")
        head += b"\n" + entity_head
    raw = head + b"\n\n" + data
    if not lf:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    CORPUS[name] = (raw, expect)


def std(
    subject: str, frm: str = "Nguyễn Văn An <an.nguyen@gmail.com>", mid: str = "", extra: str = ""
) -> str:
    """Common headers; ``frm`` may contain raw UTF-8 only if the test wants it: encode names otherwise."""
    if "<" in frm and not frm.isascii():
        name, _, addr = frm.partition("<")
        frm = f"{ew(name.strip())} <{addr}"
    if not subject.isascii():
        subject = ew(subject)
    mid = mid or "<msg-1@mail.gmail.com>"
    lines = [
        f"From: {frm}",
        "To: support@shop.vn",
        f"Subject: {subject}",
        f"Date: {DATE}",
        f"Message-ID: {mid}",
    ]
    if extra:
        lines.append(extra.strip("\n"))
    return "\n".join(lines) + "\nMIME-Version: 1.0"


def text_part(text: str, charset: str = "utf-8") -> str:
    return f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: quoted-printable\n\n{qp(text, charset)}"


def html_part(html: str, charset: str = "utf-8") -> str:
    return f"Content-Type: text/html; charset={charset}\nContent-Transfer-Encoding: quoted-printable\n\n{qp(html, charset)}"


def multipart(kind: str, boundary: str, parts: list[str], params: str = "") -> str:
    body = "".join(f"--{boundary}\n{part}\n" for part in parts) + f"--{boundary}--\n"
    return f'Content-Type: multipart/{kind}; boundary="{boundary}"{params}\n\n{body}'


def top(headers: str, mime: str) -> tuple[str, str]:
    """Split a MIME entity into (its Content-* header lines, its body) to sit under message headers."""
    head, _, body = mime.partition("\n\n")
    return headers + "\n" + head, body


def add_mime(name: str, headers: str, mime: str, **expect) -> None:
    head, body = top(headers, mime)
    add(name, head, body, **expect)
