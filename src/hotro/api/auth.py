"""Bearer-token authentication, the per-token rate limit and the workspace scope of each request."""

from __future__ import annotations

import time
from functools import wraps

from django.conf import settings
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from hotro.connectors.widget.ratelimit import rate_limit

from . import tokens


class TokenAuth(HttpBearer):
    """``Authorization: Bearer hotro_<prefix>_<secret>``; ``request.auth`` is the ``ApiToken``."""

    openapi_description = "A workspace API token created by an admin in the workspace settings."

    def authenticate(self, request, token: str):
        found = tokens.authenticate(token)
        if found is not None:
            request.member = found.membership
            request.workspace = found.membership.workspace
        return found


def _parse_rate(rate: str) -> tuple[int, int]:
    count, _, unit = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[(unit or "m")[0]]
    return int(count), seconds


class TokenRateThrottle(BaseThrottle):
    """Fixed-window counter per token in the cache (atomic ``incr``; shared through Redis in production).

    ``settings.HOTRO_API_RATE`` (default ``"600/m"``).  Past it: 429 with ``Retry-After`` (seconds to
    the end of the window).
    """

    def _limits(self) -> tuple[int, int]:
        return _parse_rate(getattr(settings, "HOTRO_API_RATE", "600/m"))

    def allow_request(self, request) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        count, window = self._limits()
        # the window index in the key aligns windows to the clock, so wait() knows where one ends;
        # at least 1 as before: the first request of a window always passed
        return rate_limit(f"api-token:{token.pk}:{int(time.time() // window)}", max(1, count), window)

    def wait(self) -> float:
        _count, window = self._limits()
        return window - (time.time() % window)


def workspace_scoped(view):
    """Run the operation inside the token's workspace scope (PostgreSQL Row-Level Security)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        from hotro.privacy.rls import tenant_scope

        with tenant_scope(request.auth.workspace_id):
            return view(request, *args, **kwargs)

    return wrapped
