"""Every web page and form of the signed-in areas refuses the ids and the slug of another workspace.

The URL resolver is walked: every pattern of the agent app (``/w/<slug>/...``), the settings,
privacy, API-token and comment-moderation pages, and every other pattern with an object id in its
path is requested as the owner of workspace A with

1. A's slug and B's object ids (each id kwarg alone, and all of them together),
2. B's slug and A's object ids,

by GET and by POST (CSRF checks off).  Each must answer 404 (or 403), never a success and never a
500.  A control request with A's own slug and ids must *not* answer 404, so a refusal cannot come
from a broken URL.  Every request runs in a transaction that is rolled back: nothing one request
does changes what the next one sees.

A new pattern with a kwarg this module does not know fails the test: map it to objects in
``build_objects`` and ``KWARG_OBJECTS`` (or list a public, key-addressed endpoint in ``PUBLIC``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from email_support import build_mail, deliver_raw, make_email_inbox
from hotro.api.tokens import create_token
from hotro.connectors.api import create_api_inbox
from hotro.connectors.base import InboundMessage
from hotro.connectors.comments.actions import do_add_product, do_post_comment
from hotro.connectors.comments.inboxes import create_comments_inbox
from hotro.connectors.email.models import QuarantinedMail
from hotro.connectors.ingress import accept_event
from hotro.connectors.livechat import create_livechat_inbox
from hotro.conversations.actions import do_receive_message, do_send_reply
from hotro.privacy.rls import tenant_scope
from hotro.tenancy.actions import do_add_team_member, do_create_team
from hotro.tenancy.invitations import do_invite
from hotro.tenancy.models import Role
from inbox_helpers import add_member, receive

pytestmark = pytest.mark.django_db

# the signed-in areas addressed by a workspace slug
SLUG_AREAS = ("w/", "settings/", "privacy/", "api/manage/", "comments/manage/")
# not session pages: the token-authenticated REST API (its own completeness test in
# tests/test_api_endpoints.py), key-addressed endpoints of visitors and providers (isolated by their
# public key or token, covered by their own tests) and allauth's account pages
PUBLIC = (
    "api/v1/",
    "accounts/",
    "hooks/",
    "mail/confirm/",
    "widget/^",
    "widget/<str:public_key>/",
    "comments/<str:public_key>",
    "comments/api/<str:public_key>/",
    "invite/<str:token>/",
    "api/^v1/",
)
OK_REFUSALS = {403, 404}
KWARG = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")


def walk(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def kwarg_names(route: str) -> list[str]:
    return [m["name"] for m in KWARG.finditer(route)]


def fill(route: str, values: dict) -> str:
    return "/" + KWARG.sub(lambda m: str(values[m["name"]]), route)


@dataclass
class Objects:
    slug: str
    ids: dict  # kind -> value


def build_objects(workspace, owner, *, conversations: int) -> Objects:
    """One object of every kind a URL can address, in ``workspace``."""
    api_inbox, _secret = create_api_inbox(workspace, "CRM", "http://127.0.0.1:9/hook")
    first = None
    for n in range(conversations):
        message = receive(
            api_inbox,
            f"iso-{n}",
            sender=f"cust-{n}",
            attachments=[("hoa-don.txt", "text/plain", b"hoa don")] if n == 0 else (),
        )
        first = first or message
    conversation = first.conversation
    delivery_message = do_send_reply(None, conversation, "Chúng tôi đã nhận được.")
    with tenant_scope(workspace.pk):
        delivery = delivery_message.deliveries.get()
        raw_event, _ = accept_event(api_inbox, f"raw-{workspace.slug}", "{not json", {})
        attachment = first.attachments.get()

    email_inbox = make_email_inbox(workspace)
    deliver_raw(email_inbox, build_mail(sender='"support@shop.test" <fake@evil.test>'))
    with tenant_scope(workspace.pk):
        held = QuarantinedMail.objects.get(inbox=email_inbox)

    chat_inbox = create_livechat_inbox(workspace, "Website chat", ["https://shop.example"])
    chat, _ = do_receive_message(
        chat_inbox,
        InboundMessage(external_id="chat-1", channel="livechat", sender_address="visitor-1", text="Chào"),
    )

    comments_inbox = create_comments_inbox(workspace, "Cửa hàng", ["https://shop.example"], "publish")
    product = do_add_product(comments_inbox, "sku-1", "https://shop.example/sku-1", "Áo dài")
    comment = do_post_comment(
        comments_inbox,
        product,
        parent=None,
        kind="comment",
        name="Lan",
        email="",
        text="Vải đẹp không ạ?",
        address="visitor-2",
        status="published",
    )

    agent = add_member(workspace, f"agent@{workspace.slug}.test", Role.AGENT)
    team = do_create_team(workspace, "Bán hàng")
    do_add_team_member(team, agent)
    invitation = do_invite(owner, f"new@{workspace.slug}.test", Role.AGENT)
    token, _plaintext = create_token(workspace, "CRM")
    return Objects(
        slug=workspace.slug,
        ids={
            "number": conversations,  # the newest: numbers are per workspace, B has more than A
            "conversation": chat.conversation_id,
            "attachment": attachment.pk,
            "api_inbox": api_inbox.pk,
            "email_inbox": email_inbox.pk,
            "delivery": delivery.pk,
            "raw_event": raw_event.pk,
            "identity": held.identity_id,
            "quarantine": held.pk,
            "membership": agent.pk,
            "team": team.pk,
            "invitation": invitation.pk,
            "token": token.pk,
            "comment": comment.pk,
        },
    )


def inbox_kind(route: str) -> str:
    """The inbox a route's ``inbox_id`` must be for the control request to reach its object."""
    return "email_inbox" if "/email/" in route or "/quarantine/" in route else "api_inbox"


# kwarg name -> kind of object in ``Objects.ids`` (a callable: chosen by the route)
KWARG_OBJECTS = {
    "number": "number",
    "conversation_id": "conversation",
    "attachment_id": "attachment",
    "inbox_id": inbox_kind,
    "delivery_id": "delivery",
    "event_id": "raw_event",
    "identity_id": "identity",
    "item_id": "quarantine",
    "member_id": "membership",
    "team_id": "team",
    "invitation_id": "invitation",
    "token_id": "token",
    "comment_id": "comment",
}


# POST fields naming an object, per route: the control sends A's, a variant sends B's (refused with 404)
POST_IDS = {
    "settings/<slug:slug>/teams/<uuid:team_id>/members/": {"membership": "membership"},
}


def body_for(route: str, objects: Objects) -> dict:
    return {field: objects.ids[kind] for field, kind in POST_IDS.get(route, {}).items()}


def values_for(route: str, objects: Objects) -> dict:
    values = {}
    for name in kwarg_names(route):
        if name == "slug":
            values[name] = objects.slug
            continue
        kind = KWARG_OBJECTS[name]
        values[name] = objects.ids[kind(route) if callable(kind) else kind]
    return values


def scoped_routes() -> list[str]:
    """The routes to check: every slug-addressed page and every other route with an object id."""
    routes = []
    for route in walk(get_resolver()):
        names = kwarg_names(route)
        if route.startswith(SLUG_AREAS) or (names and not route.startswith(PUBLIC)):
            routes.append(route)
    return routes


def test_every_id_kwarg_of_the_signed_in_pages_is_mapped():
    unknown = {
        f"{route}: {name}"
        for route in scoped_routes()
        for name in kwarg_names(route)
        if name != "slug" and name not in KWARG_OBJECTS
    }
    assert not unknown, (
        "Map these kwargs to objects of both workspaces in tests/test_web_isolation.py: "
        + ", ".join(sorted(unknown))
    )
    unknown_areas = [
        route for route in scoped_routes() if "<slug:slug>" in route and not route.startswith(SLUG_AREAS)
    ]
    assert not unknown_areas, f"New slug-addressed areas, add them to SLUG_AREAS: {unknown_areas}"


def request(client: Client, method: str, url: str, data: dict | None = None) -> int:
    with transaction.atomic():
        response = getattr(client, method)(url, data or {})
        transaction.set_rollback(True)
    return response.status_code


def test_no_page_or_form_accepts_ids_or_the_slug_of_another_workspace(owner_a, owner_b, ws_a, ws_b):
    a = build_objects(ws_a, owner_a, conversations=1)
    b = build_objects(ws_b, owner_b, conversations=3)
    client = Client(raise_request_exception=False)
    client.force_login(owner_a.user)

    routes = scoped_routes()
    assert len(routes) >= 40  # the walk found the app's patterns
    offending, checked = [], 0
    for route in routes:
        own = values_for(route, a)
        theirs = values_for(route, b)
        ids = [name for name in own if name != "slug"]
        variants = []
        if "slug" in own:
            variants.append(("B's slug", {**own, "slug": b.slug}))
        if ids:
            variants.append(("B's ids", {**theirs, "slug": a.slug} if "slug" in own else theirs))
            if len(ids) > 1:
                variants += [(f"B's {name}", {**own, name: theirs[name]}) for name in ids]
        methods_checked = 0
        for method in ("get", "post"):
            body = body_for(route, a) if method == "post" else {}
            control = request(client, method, fill(route, own), body)
            if control == 405:
                continue  # the view does not answer this method
            methods_checked += 1
            if control == 404 or control >= 500:
                offending.append(f"{method.upper()} {route} with A's own ids: {control} (fix the test data)")
                continue
            tries = [(label, fill(route, values), body) for label, values in variants]
            if method == "post":
                tries += [
                    (f"B's {field} in the form", fill(route, own), {**body, field: value})
                    for field, value in body_for(route, b).items()
                ]
            for label, url, data in tries:
                status = request(client, method, url, data)
                checked += 1
                if status not in OK_REFUSALS:
                    offending.append(f"{method.upper()} {route} with {label}: {status}")
        if not methods_checked:
            offending.append(f"{route}: answers neither GET nor POST (405); check it by hand")
    assert not offending, "Not refused:\n  " + "\n  ".join(offending)
    assert checked >= 2 * len(routes)
