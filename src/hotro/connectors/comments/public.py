"""The widget's public endpoints: the loader script and the JSON API it calls from the host page.

Cross-origin by design: CORS answers only origins the inbox allows, writes (POST) must carry an
allowed ``Origin`` header, no cookie is read or set (the visitor is identified by a signed, expiring
token scoped to this inbox, sent in ``X-Hotro-Visitor``).  Every answer is JSON
``{"code", "message"}`` on errors, with ``message`` a sentence in the visitor's language.
"""

from __future__ import annotations

import functools
import json
import re
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from hotro.connectors.models import Inbox
from hotro.connectors.widget.cors import apply_cors, preflight, request_origin
from hotro.connectors.widget.identity import verify_identity
from hotro.connectors.widget.origins import origin_allowed
from hotro.connectors.widget.ratelimit import client_ip, rate_limit
from hotro.connectors.widget.tokens import (
    issue_visitor_token,
    new_visitor_id,
    read_visitor_token,
    token_max_age,
)
from hotro.privacy.rls import system_scope, tenant_scope

from ..jsonbody import BadJson, load_object
from . import policy
from .actions import CommentInput, CommentRefused, business_name, check_post_comment, check_vote, keyed_hash
from .connector import KEY
from .listing import product_thread

MAX_BODY = 16 * 1024
TOKEN_HEADER = "X-Hotro-Visitor"
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
WIDGET_JS = "hotro/comments/widget.js"
WIDGET_CSS = "hotro/comments/widget.css"


def find_inbox(public_key: str) -> Inbox:
    with system_scope():  # the public key is the only scope a visitor brings
        inbox = Inbox.objects.filter(public_key=public_key, connector=KEY, is_active=True).first()
    if inbox is None:
        raise Http404("No such comments widget.")
    return inbox


def error(status: int, code: str, message: str, **extra) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


def widget_language(request, inbox) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    for wanted in (request.GET.get("lang", ""), (inbox.settings or {}).get("language", "")):
        candidate = (wanted or "").split("-")[0].lower()
        if candidate in supported:
            return candidate
    return settings.LANGUAGE_CODE


def widget_endpoint(methods: tuple[str, ...]):
    """Resolve the inbox, answer preflights, apply CORS, check the Origin of writes and of
    cross-origin reads, pick the language, and turn ``CommentRefused`` into JSON."""

    def decorate(view):
        @csrf_exempt  # no cookies are used: visitors authenticate with their token
        @wraps(view)
        def wrapped(request, public_key, *args, **kwargs):
            inbox = find_inbox(public_key)
            if request.method == "OPTIONS":
                return preflight(request, inbox)
            with translation.override(widget_language(request, inbox)):
                response = _guarded(view, request, inbox, methods, *args, **kwargs)
            return apply_cors(request, response, inbox)

        return wrapped

    return decorate


def _guarded(view, request, inbox, methods, *args, **kwargs):
    if request.method not in methods:
        return error(405, "method_not_allowed", _("This address does not accept that request."))
    origin = request.headers.get("Origin")
    if request.method != "GET" or origin:
        if not origin_allowed(inbox, request_origin(request)):
            return error(
                403,
                "origin_not_allowed",
                _(
                    "This website may not use this comments widget; "
                    "add its address to the inbox's allowed websites."
                ),
            )
    ip = client_ip(request) or "unknown"
    if request.method == "GET" and not rate_limit(f"comments:read:{inbox.pk}:{ip}", *policy.READS_PER_IP):
        return too_many(policy.READS_PER_IP[1])
    if request.method == "POST" and len(request.body) > MAX_BODY:
        return error(413, "too_large", _("The request is too large."))
    try:
        with tenant_scope(inbox.workspace_id):
            return view(request, inbox, ip, *args, **kwargs)
    except CommentRefused as exc:
        response = error(exc.status, exc.code, exc.message, fields=exc.fields)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response


def too_many(window: int) -> JsonResponse:
    minutes = max(1, window // 60)
    response = error(
        429,
        "rate_limited",
        _("Too many requests in a short time; wait %(minutes)s minutes and try again.")
        % {"minutes": minutes},
    )
    response["Retry-After"] = str(window)
    return response


def json_body(request) -> dict:
    try:
        return load_object(request.body, empty_is_object=True)
    except BadJson as exc:
        raise CommentRefused(str(exc), code="bad_json") from None


def text_field(data: dict, name: str, limit: int = 10_000) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise CommentRefused(_("The field %(name)s must be text.") % {"name": name}, code="invalid")
    return str(value)[: limit + 1]


def visitor(request, inbox, *, required: bool):
    claims = read_visitor_token(inbox, request.headers.get(TOKEN_HEADER))
    if claims is None and required:
        raise CommentRefused(
            _("Your session has expired; reload the page and try again."), status=401, code="no_session"
        )
    return claims


# --- the loader script ----------------------------------------------------------------------------
@require_GET
def loader(request, public_key):
    """The widget script for one inbox: its configuration, then the static widget code.  A script
    (not an XHR), so it is not subject to CORS; it only renders on pages of allowed origins, which
    the API enforces."""
    inbox = find_inbox(public_key)
    base = settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")
    config = {
        "key": inbox.public_key,
        "api": f"{base}/comments/api/{inbox.public_key}/",
        "css": base + static(WIDGET_CSS),
        "lang": (inbox.settings or {}).get("language") or "",
        "color": (inbox.settings or {}).get("color")
        if COLOR.match((inbox.settings or {}).get("color") or "")
        else "",
        "business": _business(inbox),
    }
    code = widget_code() if not settings.DEBUG else widget_code.__wrapped__()
    payload = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c").replace("\u2028", "\\u2028")
    body = (
        "window.__hotroComments = window.__hotroComments || [];\n"
        f"window.__hotroComments.push({payload});\n{code}"
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@functools.cache
def widget_code() -> str:
    from django.contrib.staticfiles import finders

    with open(finders.find(WIDGET_JS), encoding="utf-8") as fh:
        return fh.read()


def _business(inbox) -> str:
    with tenant_scope(inbox.workspace_id):
        return business_name(inbox)


# --- the JSON API ---------------------------------------------------------------------------------
@widget_endpoint(("POST",))
def session(request, inbox, ip):
    """Start (or refresh) a visitor session: ``{"user_id", "user_hash"}`` optional.  A wrong hash
    is refused: the site's verification is broken or forged, and the widget goes on anonymously."""
    if not rate_limit(f"comments:session:{inbox.pk}:{ip}", *policy.SESSIONS_PER_IP):
        return too_many(policy.SESSIONS_PER_IP[1])
    data = json_body(request)
    user_id = text_field(data, "user_id", 255).strip()
    current = read_visitor_token(inbox, request.headers.get(TOKEN_HEADER))
    if user_id:
        if not verify_identity(inbox, user_id, text_field(data, "user_hash", 128)):
            raise CommentRefused(
                _("Your sign-in on this website could not be verified; you can still comment as a guest."),
                status=403,
                code="identity_not_verified",
            )
        visitor_id = current.visitor_id if current else new_visitor_id()
        token = issue_visitor_token(inbox, visitor_id, user_id)
    else:
        visitor_id = current.visitor_id if current and not current.verified_user_id else new_visitor_id()
        token = issue_visitor_token(inbox, visitor_id)
    return JsonResponse({"token": token, "verified": bool(user_id), "expires_in": token_max_age()})


@widget_endpoint(("GET", "POST"))
def comments(request, inbox, ip):
    if request.method == "GET":
        return list_comments(request, inbox)
    return post_comment(request, inbox, ip)


def list_comments(request, inbox):
    product_id = policy.clean_line(request.GET.get("product_id", ""))[: policy.MAX_PRODUCT_ID + 1]
    if not product_id or len(product_id) > policy.MAX_PRODUCT_ID:
        raise CommentRefused(_("This page has no valid product id (data-product-id)."), code="bad_product")
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    claims = visitor(request, inbox, required=False)
    viewer = keyed_hash(inbox.workspace_id, "author", claims.sender_address) if claims else None
    data = product_thread(
        inbox, product_id, sort=request.GET.get("sort", "newest"), page=page, viewer_key=viewer
    )
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


def post_comment(request, inbox, ip):
    claims = visitor(request, inbox, required=True)
    if not rate_limit(f"comments:post:ip:{inbox.pk}:{ip}", *policy.POSTS_PER_IP):
        return too_many(policy.POSTS_PER_IP[1])
    if not rate_limit(f"comments:post:visitor:{inbox.pk}:{claims.sender_address}", *policy.POSTS_PER_VISITOR):
        return too_many(policy.POSTS_PER_VISITOR[1])
    data = json_body(request)
    seconds = data.get("seconds_on_page")
    comment = check_post_comment(
        inbox,
        claims,
        CommentInput(
            product_id=text_field(data, "product_id", policy.MAX_PRODUCT_ID),
            product_url=text_field(data, "product_url", policy.MAX_PRODUCT_URL),
            product_title=text_field(data, "product_title", policy.MAX_TITLE),
            text=text_field(data, "text", policy.MAX_TEXT),
            name=text_field(data, "name", policy.MAX_NAME),
            email=text_field(data, "email", policy.MAX_EMAIL),
            kind=text_field(data, "kind", 20) or "comment",
            parent_id=text_field(data, "parent_id", 64),
            buyer_hash=text_field(data, "buyer_hash", 128),
            honeypot=text_field(data, "website", 200),
            seconds_on_page=float(seconds)
            if isinstance(seconds, int | float) and not isinstance(seconds, bool)
            else None,
        ),
    )
    # a comment held as spam is reported as waiting for review: bots learn nothing
    status = "published" if comment.status == "published" else "pending"
    if status == "published":
        notice = _("Thank you! Your comment is published.")
    else:
        notice = _("Thank you! Your comment will appear once it has been reviewed.")
    if comment.kind == "question" and comment.author_email:
        notice += " " + _("We will also answer you by e-mail if the answer is private.")
    from .listing import comment_json

    body = comment_json(comment, voted=set(), viewer_key=comment.author_key)
    body.update(answered=False, replies=[], pending=status == "pending")
    return JsonResponse({"comment": body, "status": status, "message": notice}, status=201)


@widget_endpoint(("POST",))
def helpful(request, inbox, ip, comment_id):
    claims = visitor(request, inbox, required=True)
    if not rate_limit(f"comments:vote:{inbox.pk}:{claims.sender_address}", *policy.VOTES_PER_VISITOR):
        return too_many(policy.VOTES_PER_VISITOR[1])
    count, created = check_vote(inbox, claims, str(comment_id))
    return JsonResponse({"helpful": count, "voted": True, "counted": created})
