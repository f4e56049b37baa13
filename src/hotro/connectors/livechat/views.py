"""HTTP side of the live-chat widget: the loader script, the iframe document and the visitor API.

Visitor API calls come from the widget iframe (same origin as hotro) and carry the visitor token in
``X-Hotro-Visitor``; no cookies are used, so they are CSRF-exempt by design.  See
docs/channels/livechat.md for the protocol.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from hotro.privacy.rls import tenant_scope
from hotro.privacy.storage import open_file
from hotro.tenancy.access import access_conversation
from hotro.tenancy.middleware import member_required

from ..jsonbody import BadJson, load_object
from ..widget.origins import normalize_origin, origin_allowed
from ..widget.ratelimit import client_ip, rate_limit
from ..widget.tokens import read_visitor_token
from . import actions, visitors
from .inboxes import DEFAULT_COLOR, is_online
from .limits import CONNECT_LIMIT, FORM_LIMIT, MESSAGE_LIMIT, POLL_LIMIT, TYPING_LIMIT, UPLOAD_LIMIT
from .lookup import find_livechat_inbox
from .texts import widget_texts
from .uploads import MAX_FILES, check_size, check_upload

LOADER_PATH = Path(__file__).resolve().parent / "static" / "hotro" / "livechat" / "loader.js"
POLL_SECONDS = 20
MAX_JSON = 20_000


@functools.cache
def loader_code() -> str:
    return LOADER_PATH.read_text(encoding="utf-8")


def _inbox_or_404(public_key: str):
    inbox = find_livechat_inbox(public_key)
    if inbox is None:
        raise Http404("No such chat.")
    return inbox


def _error(message: str, status: int = 400, code: str = "invalid") -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _referrer_origin(request) -> str | None:
    ref = request.headers.get("Referer", "")
    return normalize_origin("/".join(ref.split("/", 3)[:3])) if ref else None


@require_GET
def loader(request, public_key: str):
    """``/widget/<public_key>.js``: creates the iframe on the host page; nothing else runs there."""
    inbox = find_livechat_inbox(public_key)
    origin = _referrer_origin(request)
    if inbox is None or (origin is not None and not origin_allowed(inbox, origin)):
        body = "console.warn('hotro: this web site is not allowed to show this chat.');\n"
        return HttpResponse(body, content_type="text/javascript; charset=utf-8", status=403)
    config = {
        "base": settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/"),
        "key": inbox.public_key,
        "lang": (inbox.settings or {}).get("language") or "",
        "title": inbox.name,
    }
    body = (
        "/* hotro live chat */\n(function(){var HOTRO="
        + json.dumps(config)
        + ";\n"
        + loader_code()
        + "\n})();\n"
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
@xframe_options_exempt
def frame(request, public_key: str):
    """The widget document inside the iframe; framed only by the inbox's allowed origins."""
    inbox = _inbox_or_404(public_key)
    parent = normalize_origin(request.GET.get("origin", ""))
    if parent is None or not origin_allowed(inbox, parent):
        return HttpResponse(_("This web site is not allowed to show this chat."), status=403)
    conf = inbox.settings or {}
    lang = conf.get("language") or (request.GET.get("lang") or "")[:2].lower()
    lang = lang if lang in ("vi", "en") else "vi"
    with translation.override(lang):
        config = {
            "key": inbox.public_key,
            "parent": parent,
            "lang": lang,
            "color": conf.get("color") or DEFAULT_COLOR,
            "greeting": (conf.get("greeting") or {}).get(lang, ""),
            "title": inbox.name,
            "prechat": conf.get("prechat") or {"enabled": False, "fields": [], "required": []},
            "privacy_url": conf.get("privacy_notice_url") or "",
            "identity_mandatory": bool(conf.get("identity_mandatory")),
            "max_upload": settings.HOTRO_MAX_UPLOAD_BYTES,
            "texts": widget_texts(),
        }
        response = render(
            request,
            "livechat/frame.html",
            {
                "config": config,
                "lang": lang,
                "script": static("hotro/livechat/widget.js"),
                "style": static("hotro/livechat/widget.css"),
            },
        )
    response._csp_config = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": [parent],
    }
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _visitor(request, inbox):
    claims = read_visitor_token(inbox, request.headers.get("X-Hotro-Visitor"))
    if claims is None:
        raise PermissionDenied(_("Your chat session has expired; reload the page."))
    visitor = visitors.find_visitor(inbox, claims)
    if visitor is None:
        raise PermissionDenied(_("Your chat session has expired; reload the page."))
    return claims, visitor


def _json_body(request) -> dict:
    if len(request.body) > MAX_JSON:
        raise ValidationError(_("That is too long."))
    try:
        return load_object(request.body, empty_is_object=True)
    except BadJson:
        raise ValidationError(_("The request could not be read; reload the page.")) from None


def visitor_api(view):
    """Wraps a visitor API view: inbox lookup, language, no cache, errors as JSON sentences."""

    @csrf_exempt
    @never_cache
    def wrapped(request, public_key: str, *args, **kwargs):
        inbox = _inbox_or_404(public_key)
        lang = (request.headers.get("X-Hotro-Lang") or "vi")[:2]
        with translation.override(lang if lang in ("vi", "en") else "vi"):
            try:
                return view(request, inbox, *args, **kwargs)
            except ValidationError as exc:
                return _error(" ".join(exc.messages))
            except actions.IdentityRefused as exc:
                return _error(str(exc), 403, "identity_refused")
            except PermissionDenied as exc:
                return _error(str(exc) or _("Not allowed."), 403, "forbidden")

    wrapped.__name__ = view.__name__
    return wrapped


def _limited(key: str, limit: tuple[int, int]) -> JsonResponse | None:
    if rate_limit(key, *limit):
        return None
    return _error(_("Too many requests; wait a minute and try again."), 429, "rate_limited")


@require_POST
@visitor_api
def session(request, inbox):
    """Start or resume a session: ``{token?, user_id?, user_hash?, lang?}`` → token, history, state."""
    if (resp := _limited(f"lc-connect:{client_ip(request)}", CONNECT_LIMIT)) is not None:
        return resp
    data = _json_body(request)
    claims, token, visitor = actions.start_session(
        inbox,
        str(data.get("token") or ""),
        str(data.get("user_id") or "")[:255],
        str(data.get("user_hash") or "")[:128],
        str(data.get("lang") or "")[:10],
    )
    return JsonResponse(
        {
            "token": token,
            "verified": bool(claims.verified_user_id),
            "prechat_done": visitor.prechat_done,
            "online": is_online(inbox),
            **actions.history(visitor),
        }
    )


@require_GET
@visitor_api
def history_view(request, inbox):
    _claims, visitor = _visitor(request, inbox)
    return JsonResponse(actions.history(visitor))


@require_POST
@visitor_api
def send_message(request, inbox):
    """Send a message over HTTP (long-poll mode or with attachments: multipart ``files``)."""
    claims, visitor = _visitor(request, inbox)
    if (resp := _limited(f"lc-msg:{visitor.pk}", MESSAGE_LIMIT)) is not None:
        return resp
    if request.content_type == "multipart/form-data":
        files = request.FILES.getlist("files")
        if len(files) > MAX_FILES:
            raise ValidationError(_("Send at most %(n)s files at once.") % {"n": MAX_FILES})
        if files and (resp := _limited(f"lc-upload:{visitor.pk}", UPLOAD_LIMIT)) is not None:
            return resp
        attachments = []
        for f in files:
            check_size(f.size)  # before reading it
            attachments.append(check_upload(f.name, f.read()))
        data = {"text": request.POST.get("text", ""), "client_id": request.POST.get("client_id", "")}
    else:
        data, attachments = _json_body(request), []
    message, _created = actions.do_visitor_message(
        inbox,
        visitor,
        claims,
        str(data.get("text") or ""),
        client_id=data.get("client_id"),
        attachments=attachments,
    )
    return JsonResponse({"message": actions.message_for_visitor(visitor, message.pk)}, status=201)


@require_POST
@visitor_api
def prechat(request, inbox):
    claims, visitor = _visitor(request, inbox)
    if (resp := _limited(f"lc-form:{visitor.pk}", FORM_LIMIT)) is not None:
        return resp
    data = _json_body(request)
    actions.do_prechat(
        inbox,
        visitor,
        claims,
        name=str(data.get("name") or ""),
        email=str(data.get("email") or ""),
        phone=str(data.get("phone") or ""),
        privacy_consent=data.get("privacy_consent") is True,
        marketing_consent=data.get("marketing_consent") is True,
    )
    return JsonResponse({"prechat_done": True})


@require_POST
@visitor_api
def csat(request, inbox):
    _claims, visitor = _visitor(request, inbox)
    if (resp := _limited(f"lc-form:{visitor.pk}", FORM_LIMIT)) is not None:
        return resp
    data = _json_body(request)
    actions.do_csat(visitor, data.get("conversation_id"), data.get("rating"), str(data.get("comment") or ""))
    return JsonResponse({"rated": True})


@require_POST
@visitor_api
def signal(request, inbox):
    """Typing / read signals over HTTP (long-poll mode)."""
    _claims, visitor = _visitor(request, inbox)
    data = _json_body(request)
    if data.get("type") == "read":
        return JsonResponse({"read": actions.do_visitor_read(visitor, data.get("conversation_id"))})
    if (resp := _limited(f"lc-typing:{visitor.pk}", TYPING_LIMIT)) is not None:
        return resp
    actions.visitor_typing(visitor, data.get("conversation_id"), bool(data.get("typing")))
    return JsonResponse({"ok": True})


def _poll_visitor(inbox, token):
    """The polling visitor (now present: its widget is open in long-poll mode), or None."""
    claims = read_visitor_token(inbox, token)
    visitor = visitors.find_visitor(inbox, claims) if claims else None
    if visitor is not None:
        visitors.mark_present(visitor, visitors.POLL_KEY, visitors.POLL_PRESENCE_SECONDS)
    return visitor


def _poll_events(visitor, after):
    events = actions.render_events(visitor, visitors.events_after(visitor, after, 200))
    return [{"id": event_id, "event": payload} for event_id, payload in events]


@never_cache
async def poll(request, public_key: str):
    """Long-poll fallback: events after ``?after=<id>``, waiting up to 20 s for the first one
    (async, so a waiting visitor holds no worker thread)."""
    inbox = await sync_to_async(find_livechat_inbox)(public_key)
    if inbox is None:
        raise Http404("No such chat.")
    if request.method != "GET":
        return HttpResponse(status=405)
    try:
        after = max(int(request.GET.get("after", "0")), 0)
        wait = min(max(float(request.GET.get("wait", POLL_SECONDS)), 0), POLL_SECONDS)
    except ValueError:
        after, wait = 0, POLL_SECONDS
    deadline = time.monotonic() + wait
    visitor = await sync_to_async(_poll_visitor)(inbox, request.headers.get("X-Hotro-Visitor"))
    if visitor is None:
        return _error(_("Your chat session has expired; reload the page."), 403, "forbidden")
    if not rate_limit(f"lc-poll:{visitor.pk}", *POLL_LIMIT):
        return _error(_("Too many requests; wait a minute and try again."), 429, "rate_limited")
    while True:
        events = await sync_to_async(_poll_events)(visitor, after)
        if events or time.monotonic() >= deadline:
            return JsonResponse({"events": events})
        await asyncio.sleep(0.5)


@require_GET
@visitor_api
def attachment(request, inbox, attachment_id):
    """An attachment of one of the visitor's own conversations (fetched by the widget as a blob)."""
    from hotro.conversations.models import Attachment

    _claims, visitor = _visitor(request, inbox)
    with tenant_scope(inbox.workspace_id):
        item = (
            Attachment.objects.filter(
                pk=attachment_id, message__conversation_id__in=visitors.visible_conversation_ids(visitor)
            )
            .exclude(message__direction="note")
            .first()
        )
        if item is None:
            raise Http404("No such file.")
        data = open_file(inbox.workspace_id, item.storage_key)
    response = HttpResponse(data, content_type=item.content_type)
    response["Content-Disposition"] = "attachment"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def agent_typing(request, conversation_id):
    """For the agent UI: ``POST /widget/agent/typing/<conversation id>`` (session + CSRF).

    The URL names no workspace: the conversation's workspace is looked up first, then the usual
    ``member_required`` checks (active membership, MFA) and ``access_conversation`` apply."""
    from hotro.conversations.models import Conversation
    from hotro.privacy.rls import system_scope

    if not request.user.is_authenticated:
        raise PermissionDenied
    with system_scope():  # which workspace to check the membership in; nothing is read from it
        slug = (
            Conversation.objects.filter(pk=conversation_id).values_list("workspace__slug", flat=True).first()
        )
    if slug is None:
        raise Http404
    return _agent_typing(request, slug, conversation_id)


@member_required()
def _agent_typing(request, slug, conversation_id):
    conversation = access_conversation(request.member, conversation_id)
    if conversation.inbox.connector != "livechat":
        raise Http404
    actions.agent_typing(request.member, conversation, request.POST.get("typing", "1") != "0")
    return HttpResponse(status=204)
