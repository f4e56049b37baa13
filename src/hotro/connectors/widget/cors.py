"""CORS for widget endpoints called from a host page (the product-comments widget, the loader's
config fetch).  Only origins the inbox allows are echoed back; no credentials (cookies) are ever
allowed: widgets authenticate with their visitor token."""

from __future__ import annotations

from django.http import HttpResponse

from .origins import normalize_origin, origin_allowed

ALLOWED_HEADERS = "Content-Type, Authorization, X-Hotro-Visitor"
ALLOWED_METHODS = "GET, POST, OPTIONS"


def request_origin(request) -> str | None:
    return normalize_origin(request.headers.get("Origin", ""))


def apply_cors(request, response: HttpResponse, inbox) -> HttpResponse:
    """Add CORS headers to ``response`` when the request's Origin is allowed for ``inbox``."""
    origin = request_origin(request)
    response.headers["Vary"] = "Origin"
    if origin and origin_allowed(inbox, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def preflight(request, inbox) -> HttpResponse:
    """Answer an OPTIONS preflight (204 with CORS headers if the origin is allowed, else 403)."""
    origin = request_origin(request)
    if not origin or not origin_allowed(inbox, origin):
        return HttpResponse(status=403)
    return apply_cors(request, HttpResponse(status=204), inbox)


__all__ = ["apply_cors", "preflight", "request_origin"]
