"""A small fixed-window rate limiter (the window opens at the first hit) on Django's cache: Redis
in server mode, memory when embedded."""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def _cache_key(key: str, window_seconds: int) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # keys may hold ids or IPs: never in clear
    return f"hotro:rl:{digest}:{window_seconds}"


def rate_limit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit for ``key``; True while at most ``limit`` hits fell in the current window
    (a window starts at the first hit and lasts ``window_seconds``)."""
    window_seconds = max(1, int(window_seconds))
    name = _cache_key(key, window_seconds)
    if cache.add(name, 1, timeout=window_seconds):
        return limit >= 1
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window_seconds)
        count = 1
    return count <= limit


def client_ip(request_or_scope) -> str:
    """The client address of a request or an ASGI scope, honouring ``HOTRO_TRUSTED_PROXY``."""
    from hotro.privacy.audit import forwarded_client

    if isinstance(request_or_scope, dict):  # ASGI scope
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request_or_scope.get("headers", [])
        }
        forwarded = headers.get("x-forwarded-for", "")
        peer = (request_or_scope.get("client") or ("", 0))[0] or ""
    else:
        forwarded = request_or_scope.META.get("HTTP_X_FORWARDED_FOR", "")
        peer = request_or_scope.META.get("REMOTE_ADDR", "")
    return forwarded_client(forwarded, peer)


__all__ = ["client_ip", "rate_limit"]
