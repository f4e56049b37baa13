"""How the API reads request bodies and which language it answers in.

Bodies: exactly one JSON object (``connectors.jsonbody.load_object``): an array, a string, invalid
UTF-8, a NUL character or nesting deeper than 32 levels is a 400 that says so — never a silently empty
payload.  Language (the API and the signed webhooks): the client's ``Accept-Language`` (Vietnamese or
English), English by default — not the workspace's language nor the server default.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header
from ninja.parser import Parser

from hotro.connectors.jsonbody import BadJson, load_object

# Doors used by other systems, not people: they answer in the client's Accept-Language, else English.
MACHINE_PREFIXES = ("/api/", "/hooks/")
DEFAULT_LANGUAGE = "en"


class ObjectParser(Parser):
    """django-ninja's body parser, refusing anything but one JSON object.  ninja turns any parser
    error into a 400; the sentence is kept on the request for the API's error handler."""

    def parse_body(self, request):
        try:
            return load_object(request.body)
        except BadJson as exc:
            request.hotro_body_error = str(exc)
            raise


def language_for(request) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    for tag, _q in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        code = tag.lower().split("-", 1)[0]
        if code in supported:
            return code
    return DEFAULT_LANGUAGE


def is_machine_door(request) -> bool:
    return request.path.startswith(MACHINE_PREFIXES)


class ApiLanguageMiddleware:
    """For ``/api/`` and ``/hooks/``: answer in the language the client asks for (``Accept-Language``),
    else English."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_machine_door(request):
            return self.get_response(request)
        language = language_for(request)
        request.LANGUAGE_CODE = language
        with translation.override(language):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
