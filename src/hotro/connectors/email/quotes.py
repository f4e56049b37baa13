"""Separate what the customer just wrote from quoted history, signatures and mobile footers.

``split_reply(text, html)`` returns ``(new_text, rest)``; ``rest`` (quoted mail, signature, footer)
is kept so the full original stays one click away.  The rule is to never hide words the customer
wrote: interleaved answers ("> question" / answer / "> question" / answer) are all new text, and
when nothing would be left, everything is new text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from .html import html_to_text

_ATTRIBUTION_START = re.compile(r"^(?:On|Vào|Le|Am|El|Il|Op|Em|Ngày)\b", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(
    r"(?:wrote|writes|đã viết|viết|a écrit|schrieb|escribió|ha scritto|schreef|escreveu)\s*:\s*$",
    re.IGNORECASE,
)
# "X <x@y> wrote:" / "X đã viết:" alone on a line (Thunderbird's short form, many webmails).
_SHORT_ATTRIBUTION = re.compile(
    r"^.{1,120}(?:<[^>]+@[^>]+>|@\S+)\s*(?:wrote|đã viết|a écrit|schrieb)\s*:\s*$", re.I
)
_JA_ATTRIBUTION = re.compile(
    r"^(?:.{0,160}(?:のメッセージ|さんは書きました|は書きました)|\d{4}年\d{1,2}月\d{1,2}日.{0,120}@.{0,80})\s*[:：]\s*$"
)
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original message|forwarded message|message d'origine|ursprüngliche nachricht|"
    r"thư gốc|tin nhắn gốc|thư (?:đã |được )?chuyển tiếp|tin nhắn (?:đã |được )?chuyển tiếp|"
    r"元のメッセージ|転送メッセージ)"
    r"\s*-{2,}\s*$|^\s*(?:begin forwarded message|bắt đầu thư (?:được )?chuyển tiếp)\s*:\s*$",
    re.IGNORECASE,
)
_REPLY_ABOVE = re.compile(
    r"^\W*(?:please )?(?:type |write |reply )?(?:your reply )?above this line\W*$|"
    r"^\W*(?:vui lòng )?(?:trả lời|viết|nhập)(?: thư| câu trả lời)? (?:phía |ở )?trên dòng này\W*$",
    re.IGNORECASE,
)
_MOBILE = re.compile(
    r"^\s*(?:sent from my \w[\w\s-]{0,40}|"
    r"sent from (?:outlook|mail|yahoo mail|samsung|gmail|my mobile)\b.{0,40}|"
    r"get outlook for (?:ios|android)|sent from \w+ for (?:ios|android|windows).{0,20}|"
    r"(?:được )?gửi từ (?:iphone|ipad|điện thoại|thiết bị|outlook|samsung|yahoo|thư)\b.{0,40}|"
    r"tải outlook cho (?:ios|android)|envoyé de mon \w+.{0,20}|von meinem \w+ gesendet|iphoneから送信)"
    r"[.!]?\s*(?:<[^>]*>)?\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(?:from|từ|de|von|差出人|发件人)\s*\*?\s*[:：]", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(
    r"^\s*\*?(?:sent|date|to|cc|subject|đã gửi|ngày gửi|ngày|đến|gửi đến|tới|chủ đề|tiêu đề|envoyé|à|objet|"
    r"gesendet|an|betreff|送信日時|宛先|件名|发送时间|收件人|主题)\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_QUOTE_CLASSES = {
    "gmail_quote", "gmail_quote_container", "moz-cite-prefix", "yahoo_quoted", "gmail_signature",
    "moz-signature", "OutlookMessageHeader", "moz-forward-container", "protonmail_quote", "zmail_extra",
    "x_gmail_quote",
}  # fmt: skip
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _is_signature(line: str) -> bool:
    return line.rstrip("\r") in {"-- ", "--", "—", "-- \u00a0"} or line.strip() == "--"


def _is_outlook_header(lines: list[str], index: int) -> bool:
    """A "From: … / Sent: … / To: … / Subject: …" block (Outlook, in English, Vietnamese and others)."""
    if not _OUTLOOK_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 8] if line.strip()]
    return sum(1 for line in following[:5] if _OUTLOOK_NEXT.match(line)) >= 2


def _attribution_span(lines: list[str], index: int) -> int:
    """Lines taken by an "On <date>, <name> wrote:" attribution (wrapped over up to three lines), or 0."""
    first = lines[index].strip()
    if _SHORT_ATTRIBUTION.match(first) or _JA_ATTRIBUTION.match(first):
        return 1 if _followed_by_quote(lines, index + 1) or "@" in first else 0
    if not _ATTRIBUTION_START.match(first):
        return 0
    joined = first
    for extra in range(0, 3):
        if extra:
            if index + extra >= len(lines) or not lines[index + extra].strip():
                return 0
            joined += " " + lines[index + extra].strip()
        if _ATTRIBUTION_END.search(joined) and len(joined) < 300:
            return extra + 1 if re.search(r"\d|@", joined) else 0
    return 0


def _followed_by_quote(lines: list[str], start: int) -> bool:
    for line in lines[start : start + 3]:
        if line.strip():
            return _is_quoted(line)
    return False


def _only_quotes_or_footer_after(lines: list[str], start: int) -> bool:
    """True unless unquoted text follows quoted text (an interleaved, inline answer)."""
    for index in range(start, len(lines)):
        line = lines[index]
        if not line.strip() or _is_quoted(line):
            continue
        if _is_signature(line) or _MOBILE.match(line):
            return True
        return False
    return True


def find_cut(lines: list[str]) -> int | None:
    """Index of the first line that starts quoted history, a signature or a footer."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if _is_signature(line) or _MOBILE.match(line) or _REPLY_ABOVE.match(line) or _SEPARATOR.match(line):
            return index
        if _UNDERSCORES.match(line) and index + 1 < len(lines):
            nxt = next((i for i in range(index + 1, min(len(lines), index + 4)) if lines[i].strip()), None)
            if nxt is not None and _is_outlook_header(lines, nxt):
                return index
        if _is_outlook_header(lines, index):
            return index
        span = _attribution_span(lines, index)
        if span:
            if _only_quotes_or_footer_after(lines, index + span):
                return index
            return None  # inline answers below the attribution: all of it is new text
        if _is_quoted(line):
            return index if _only_quotes_or_footer_after(lines, index) else None
    return None


def _split_text(text: str) -> tuple[str, str]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = find_cut(lines)
    if cut is None:
        return text.strip(), ""
    new = "\n".join(lines[:cut]).strip()
    rest = "\n".join(lines[cut:]).strip()
    return new, rest


def _is_quote_container(tag: str, attrs: dict[str, str]) -> bool:
    classes = set((attrs.get("class") or "").split())
    ident = (attrs.get("id") or "").lower()
    style = re.sub(r"\s+", "", (attrs.get("style") or "").lower())
    if classes & _QUOTE_CLASSES:
        return True
    if ident in {
        "divrplyfwdmsg",
        "appendonsend",
        "x_divrplyfwdmsg",
        "mail-editor-reference-message-container",
    }:
        return True
    if tag == "blockquote" and (attrs.get("type") or "").lower() == "cite":
        return True
    if tag == "div" and ("border-top:solid#e1e1e1" in style or "border-top:solid#b5c4df" in style):
        return True
    return tag == "hr" and ident == "stopspelling"


class _QuoteFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.position: tuple[int, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.position is None and _is_quote_container(tag, {k: v or "" for k, v in attrs}):
            self.position = self.getpos()


def _html_cut(html: str) -> int | None:
    finder = _QuoteFinder()
    try:
        finder.feed(html)
        finder.close()
    except Exception:  # noqa: BLE001
        return None
    if finder.position is None:
        return None
    line, offset = finder.position
    starts = [0]
    for match in re.finditer("\n", html):
        starts.append(match.end())
    return starts[line - 1] + offset if line - 1 < len(starts) else None


def split_reply(text: str, html: str | None = None) -> tuple[str, str]:
    """``(new_text, quoted_text)``: the customer's new words, and the history/signature/footer below them."""
    text = text or ""
    if html:
        cut = _html_cut(html)
        if cut is not None:
            head = html_to_text(html[:cut])
            tail = html_to_text(html[cut:])
            new, rest = _split_text(head)
            if new:
                return new, "\n\n".join(part for part in (rest, tail) if part)
        if not text.strip():
            text = html_to_text(html)
    new, rest = _split_text(text)
    if not new:
        return text.strip(), ""
    return new, rest
