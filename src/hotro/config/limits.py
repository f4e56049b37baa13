"""Request size limit: a body over ``HOTRO_MAX_REQUEST_BYTES`` is answered 413 with the limit stated,
before anything reads it (Content-Length), or when reading it finds it too big (chunked bodies)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.defaults import bad_request

JSON_PREFIXES = ("/api/", "/hooks/", "/widget/", "/comments/")


def max_request_bytes() -> int:
    return int(settings.HOTRO_MAX_REQUEST_BYTES)


def too_large(request) -> HttpResponse:
    from hotro.api.body import is_machine_door, language_for

    megabytes = max_request_bytes() / (1024 * 1024)
    language = language_for(request) if is_machine_door(request) else translation.get_language()
    with translation.override(language):
        message = _("The request is too large: send at most %(mb)s MB.") % {"mb": f"{megabytes:g}"}
    if request.path.startswith(JSON_PREFIXES):
        return JsonResponse({"code": "too_large", "message": message}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class RequestSizeLimitMiddleware:
    """First in the chain: refuses a declared Content-Length over the limit without reading it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_request_bytes():
            return too_large(request)
        return self.get_response(request)


def handler400(request, exception=None):
    """Django's 400 handler, except that a body found too big while reading it is a 413."""
    if isinstance(exception, RequestDataTooBig):
        return too_large(request)
    return bad_request(request, exception)
