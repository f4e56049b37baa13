"""E-mail HTML: sanitizing with nh3 and a readable plain-text rendering."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import nh3

_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) | {"font", "center", "span", "div", "u", "s", "strike", "hr"}
_ALLOWED_TAGS -= {"input", "button", "form", "select", "textarea"}
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _tag in ("div", "span", "p", "td", "th", "table", "blockquote", "img", "font"):
    _ATTRIBUTES.setdefault(_tag, set()).update({"class", "dir", "align"})
_ATTRIBUTES.setdefault("blockquote", set()).update({"type", "cite"})
_ATTRIBUTES.setdefault("div", set()).add("id")
_ATTRIBUTES.setdefault("font", set()).update({"color", "size"})
_ATTRIBUTES.setdefault("img", set()).update({"src", "alt", "width", "height", "title"})
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


@dataclass
class CleanHTML:
    html: str
    remote_images: int = 0  # <img> pointing at another server (trackers), removed
    content_ids: set[str] = field(default_factory=set)  # cid: references kept for inline images


def sanitize_html(html: str) -> CleanHTML:
    """Safe HTML for the agent view: no scripts, styles, forms or remote images.

    ``cid:`` image sources are kept so the caller can rewrite them to our own attachment URLs;
    ``data:`` and remote images are dropped (remote ones are counted: they are mostly trackers)."""
    result = CleanHTML("")

    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        if tag == "img" and attr == "src":
            lowered = value.strip().lower()
            if lowered.startswith("cid:"):
                result.content_ids.add(value.strip()[4:].strip("<>"))
                return value.strip()
            if lowered.startswith(("http:", "https:", "//")):
                result.remote_images += 1
            return None
        return value

    result.html = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        attribute_filter=attribute_filter,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()
    return result


_BLOCK = {
    "p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "pre", "address", "center", "hr", "form", "fieldset", "blockquote",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title", "template", "noscript", "xml", "o:p"}


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.depth = 0  # blockquote nesting
        self.line_depth = 0
        self.skip = 0
        self.pre = 0
        self.links: list[tuple[str, int]] = []

    def newline(self, force: bool = False) -> None:
        text = "".join(self.current).rstrip()
        if text or force:
            prefix = "> " * self.line_depth if self.line_depth else ""
            self.lines.append((prefix + text).rstrip() if prefix else text)
        self.current = []
        self.line_depth = self.depth

    def paragraph(self) -> None:
        self.newline()
        if self.lines and self.lines[-1] != "" and not self.lines[-1].startswith(">"):
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        if tag == "br":
            self.newline(force=True)
        elif tag == "blockquote":
            self.newline()
            self.depth += 1
            self.line_depth = self.depth
        elif tag == "li":
            self.newline()
            self.current.append("- ")
        elif tag in {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table"}:
            self.paragraph()
        elif tag in _BLOCK or tag in {"tr"}:
            self.newline()
        elif tag in {"td", "th"} and self.current:
            self.current.append("  ")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len("".join(self.current))))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.current.append(f"[{alt}]")
        if tag == "pre":
            self.pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag == "blockquote":
            self.newline()
            self.depth = max(0, self.depth - 1)
            self.line_depth = self.depth
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            shown = "".join(self.current)[start:].strip()
            if href.startswith(("http:", "https:")) and href.rstrip("/") not in shown:
                self.current.append(f" ({href})" if shown else href)
            elif href.startswith("mailto:") and not shown:
                self.current.append(href[7:])
        elif tag in {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table"}:
            self.paragraph()
        elif tag in _BLOCK or tag in {"tr", "li"}:
            self.newline()
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            parts = data.split("\n")
            for index, part in enumerate(parts):
                if index:
                    self.newline(force=True)
                self.current.append(part)
            return
        data = re.sub(r"[ \t\r\n\f\u00a0]+", " ", data)
        if not self.current or "".join(self.current).endswith(" "):
            data = data.lstrip()
        if data:
            if not self.current:
                self.line_depth = self.depth
            self.current.append(data)


def html_to_text(html: str) -> str:
    """Readable text: blocks on their own lines, lists as "- ", links kept, quotes as "> "."""
    renderer = _TextRenderer()
    try:
        renderer.feed(html)
        renderer.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient, but never let a page break parsing
        return re.sub(r"<[^>]*>", " ", html).strip()
    renderer.newline()
    text = "\n".join(line.rstrip() for line in renderer.lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")
