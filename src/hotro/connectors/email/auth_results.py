"""Authentication-Results (RFC 8601) from our own border server, and display-name spoofing.

A sender can write any Authentication-Results header it likes, so only headers whose authserv-id
is the inbox's trusted server are read (the newest, i.e. topmost, one wins).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message

from .headers import Headers, header_list

_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


@dataclass(frozen=True)
class MethodResult:
    method: str
    result: str  # pass | fail | softfail | neutral | none | temperror | permerror | policy
    properties: dict[str, str] = field(default_factory=dict)  # e.g. {"header.d": "example.com"}


@dataclass
class AuthResults:
    authserv_id: str = ""
    found: bool = False  # a header from the trusted server was present
    results: list[MethodResult] = field(default_factory=list)

    def result(self, method: str) -> str:
        """The result of a method: "pass" if any instance passed (several DKIM signatures), else the first."""
        found = [r.result for r in self.results if r.method == method]
        if not found:
            return "none"
        return "pass" if "pass" in found else found[0]

    @property
    def spf(self) -> str:
        return self.result("spf")

    @property
    def dkim(self) -> str:
        return self.result("dkim")

    @property
    def dmarc(self) -> str:
        return self.result("dmarc")

    @property
    def failed(self) -> bool:
        """DMARC failed, or (without DMARC) neither SPF nor DKIM passed while one of them failed."""
        if self.dmarc == "fail":
            return True
        if self.dmarc == "pass":
            return False
        return self.spf not in {"pass"} and self.dkim not in {"pass"} and "fail" in {self.spf, self.dkim}


def _strip_comments(value: str) -> str:
    """Remove (nested) CFWS comments, leaving quoted strings alone."""
    out, depth, quoted, escaped = [], 0, False, False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if ch == '"' and depth == 0:
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
            continue
        elif not quoted and ch == ")" and depth:
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out)


def _split_semicolons(value: str) -> list[str]:
    parts, current, quoted = [], [], False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_header(value: str) -> tuple[str, list[MethodResult]]:
    """One Authentication-Results value -> (authserv-id, results)."""
    parts = _split_semicolons(_strip_comments(" ".join(value.split())))
    head = parts[0].split()
    authserv_id = head[0].lower() if head else ""
    results = []
    for part in parts[1:]:
        tokens = re.findall(r'[^\s=]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s]+)|\S+', part)
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].partition("=")
        method = method.strip().split("/")[0].lower()
        props = {}
        for token in tokens[1:]:
            name, eq, prop_value = token.partition("=")
            if eq and "." in name:
                props[name.strip().lower()] = prop_value.strip().strip('"')
        results.append(MethodResult(method, result.strip().lower(), props))
    return authserv_id, results


def parse_authentication_results(
    message: Message | Headers | Iterable[str], trusted: str | Iterable[str]
) -> AuthResults:
    """SPF / DKIM / DMARC from the topmost Authentication-Results header written by a trusted server."""
    trusted_ids = {trusted.lower()} if isinstance(trusted, str) else {t.lower() for t in trusted}
    if isinstance(message, Message):
        values = Headers(header_list(message)).get_all("Authentication-Results")
    elif isinstance(message, Headers):
        values = message.get_all("Authentication-Results")
    else:
        values = list(message)
    for value in values:
        authserv_id, results = parse_header(value)
        if authserv_id in trusted_ids:
            return AuthResults(authserv_id, True, results)
    return AuthResults()


def _fold(text: str) -> str:
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text or "")).casefold()


def _in_domains(domain: str, domains: set[str]) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in domains)


def looks_spoofed(from_display: str, from_address: str, business_domains: Iterable[str]) -> bool:
    """True when the display name claims the business's own domain but the address is elsewhere:
    ``"support@shop.vn" <x@evil.test>``, ``"Shop.vn Support" <x@evil.test>``, also with full-width
    or zero-width characters."""
    domains = {d.strip().lower().strip(".") for d in business_domains if d and d.strip()}
    if not domains:
        return False
    address_domain = from_address.rpartition("@")[2].strip().strip(">").lower()
    try:
        address_domain = (
            address_domain.encode("ascii").decode("idna") if "xn--" in address_domain else address_domain
        )
    except UnicodeError:
        pass
    if _in_domains(address_domain, domains):
        return False
    display = _fold(from_display)
    squeezed = re.sub(r"\s*([.@])\s*", r"\1", display)  # "shop . vn" / "support @ shop.vn"
    for candidate in _DOMAIN.findall(squeezed):
        if _in_domains(candidate, domains):
            return True
    return False
