"""Which web sites may embed an inbox's widget.

``inbox.settings["allowed_origins"]`` is a list of origins: ``https://shop.example`` (exact),
``https://*.example.vn`` (any subdomain, not the apex), or ``*`` (anywhere; not recommended).  An
empty list allows no site at all.  Origins are compared after normalization (lower-case, default
port dropped).  The same list feeds the widget iframe's CSP ``frame-ancestors``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SETTING = "allowed_origins"
MAX_ORIGINS = 50
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in canonical form, or ``None`` if ``value`` is not an http(s) origin."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > 300 or value == "null":
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = (parts.scheme or "").lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def clean_allowed_origins(values) -> list[str]:
    """Validate a list of allowed-origin patterns; raises ``ValidationError`` with a sentence."""
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    cleaned: list[str] = []
    for item in values or []:
        raw = str(item).strip()
        if raw == "*":
            pattern = "*"
        elif "://*." in raw:
            scheme, rest = raw.split("://*.", 1)
            base = normalize_origin(f"{scheme}://{rest}")
            if base is None:
                raise ValidationError(
                    _("%(value)s is not a web site origin such as https://shop.example.")
                    % {"value": raw[:80]}
                )
            pattern = base.replace("://", "://*.", 1)
        else:
            pattern = normalize_origin(raw)
            if pattern is None:
                raise ValidationError(
                    _("%(value)s is not a web site origin such as https://shop.example.")
                    % {"value": raw[:80]}
                )
        if pattern not in cleaned:
            cleaned.append(pattern)
    if len(cleaned) > MAX_ORIGINS:
        raise ValidationError(_("List at most %(count)d web sites.") % {"count": MAX_ORIGINS})
    return cleaned


def allowed_origins(inbox) -> list[str]:
    value = (inbox.settings or {}).get(SETTING) or []
    return [v for v in value if isinstance(v, str)]


def _matches(pattern: str, origin: str) -> bool:
    if pattern == "*":
        return True
    if "://*." not in pattern:
        return pattern == origin
    scheme, suffix = pattern.split("://*.", 1)
    o_scheme, o_rest = origin.split("://", 1)
    return o_scheme == scheme and o_rest.endswith("." + suffix) and len(o_rest) > len(suffix) + 1


def origin_allowed(inbox, origin: str | None) -> bool:
    """True when a page of ``origin`` may embed this inbox's widget."""
    normalized = normalize_origin(origin or "")
    if normalized is None:
        return False
    return any(_matches(p, normalized) for p in allowed_origins(inbox))


def frame_ancestors(inbox) -> list[str]:
    """CSP ``frame-ancestors`` sources for the widget iframe document."""
    patterns = allowed_origins(inbox)
    return patterns or ["'none'"]


__all__ = [
    "allowed_origins",
    "clean_allowed_origins",
    "frame_ancestors",
    "normalize_origin",
    "origin_allowed",
]
