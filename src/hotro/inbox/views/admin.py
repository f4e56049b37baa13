"""Inbox administration (admins and owners): health, creating API, live-chat and product-comments
inboxes (with the widgets' embed snippets), failed events and deliveries with retry buttons.

A new API inbox's webhook secret (a widget inbox's identity secret) is shown once, in the response
to the creating POST itself (marked ``no-store``); it is never put in the session, the URL or a
cookie, so only the inbox's encrypted credentials hold it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from hotro.connectors.base import ConnectorError
from hotro.connectors.models import Delivery, DeliveryStatus, Inbox, InboxHealth, RawEvent, RawEventStatus
from hotro.privacy import audit
from hotro.tenancy.access import access_inbox, access_object
from hotro.tenancy.middleware import member_required
from hotro.tenancy.models import Role

from ..channel_forms import CommentsInboxForm, LivechatInboxForm
from ..email_forms import EmailInboxForm
from ..forms import ApiInboxForm

admin_required = member_required(role=Role.ADMIN)
PROBLEM_LIMIT = 50

HEALTH_WORDS = {
    InboxHealth.OK: gettext_lazy("Working"),
    InboxHealth.DEGRADED: gettext_lazy("Errors, retrying"),
    InboxHealth.NEEDS_ATTENTION: gettext_lazy("Needs attention: reconnect the channel"),
}
RAW_PROBLEMS = [RawEventStatus.FAILED, RawEventStatus.DEAD, RawEventStatus.MALFORMED]
DELIVERY_PROBLEMS = [DeliveryStatus.FAILED, DeliveryStatus.RETRYING]


def _inboxes_with_problems(workspace_id):

    return (
        Inbox.objects.filter(workspace_id=workspace_id)
        .annotate(
            failed_events=Count("raw_events", filter=Q(raw_events__status__in=RAW_PROBLEMS), distinct=True),
            failed_deliveries=Count(
                "deliveries", filter=Q(deliveries__status__in=DELIVERY_PROBLEMS), distinct=True
            ),
        )
        .order_by("name")
    )


@admin_required
def inbox_list(request, slug):
    inboxes = list(_inboxes_with_problems(request.workspace.pk))
    for inbox in inboxes:
        inbox.health_words = HEALTH_WORDS.get(inbox.health, inbox.health)
    return render(request, "inbox/admin/inboxes.html", {"inboxes": inboxes, "section": "inboxes"})


CHANNEL_FORMS = {
    "api": ApiInboxForm,
    "livechat": LivechatInboxForm,
    "comments": CommentsInboxForm,
    "email": EmailInboxForm,
}


@admin_required
@require_http_methods(["GET", "POST"])
def inbox_create(request, slug):
    """Connect an API channel, a live-chat widget or a product comments widget.  The channel comes
    from ``?channel=`` (GET) or the form's hidden ``channel`` (POST); the API channel by default."""
    channel = request.POST.get("channel") or request.GET.get("channel") or "api"
    if channel not in CHANNEL_FORMS:
        channel = "api"
    form = CHANNEL_FORMS[channel](request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = CREATORS[channel](request, form)
        if created is not None:
            inbox, secret = created
            # shown once, in this response only: reloading the detail page never shows it again
            response = _detail_page(request, inbox, secret=secret)
            add_never_cache_headers(response)
            return response
    return render(
        request,
        "inbox/admin/inbox_new.html",
        {"form": form, "channel": channel, "section": "inboxes"},
    )


def _audit_created(request, inbox) -> None:
    audit.record_request(
        request,
        request.member,
        audit.INBOX_CREATED,
        object_type="inbox",
        object_id=str(inbox.pk),
        data={"connector": inbox.connector},
    )


def _create_api(request, form):
    from hotro.connectors.api import create_api_inbox

    try:
        inbox, secret = create_api_inbox(
            request.workspace, form.cleaned_data["name"], form.cleaned_data["webhook_url"]
        )
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error("webhook_url", message)
    except ConnectorError as exc:  # the host name does not resolve
        form.add_error("webhook_url", str(exc))
    else:
        _audit_created(request, inbox)
        return inbox, secret
    return None


def _create_livechat(request, form):
    from hotro.connectors.livechat import create_livechat_inbox
    from hotro.connectors.widget.identity import identity_secret

    try:
        inbox = create_livechat_inbox(
            request.workspace, form.cleaned_data["name"], form.origins(), **form.options()
        )
    except ValidationError as exc:
        _add_errors(form, exc)
        return None
    _audit_created(request, inbox)
    return inbox, identity_secret(inbox)


def _create_comments(request, form):
    from hotro.connectors.comments.inboxes import create_comments_inbox
    from hotro.connectors.widget.identity import identity_secret

    try:
        # audited as inbox.created by create_comments_inbox itself, in the same transaction
        inbox = create_comments_inbox(
            request.workspace,
            form.cleaned_data["name"],
            form.origins(),
            form.cleaned_data["moderation"],
            comments_to_inbox=form.cleaned_data["comments_to_inbox"],
            actor=request.user,
        )
    except ValidationError as exc:
        _add_errors(form, exc)
        return None
    return inbox, identity_secret(inbox)


def _add_errors(form, exc) -> None:
    """The channel's refusals (sentences) above the form; origins were already checked per field."""
    for message in exc.messages:
        form.add_error(None, message)


def _create_email(request, form):
    from hotro.connectors.email.inboxes import create_email_inbox

    try:
        # audited as inbox.created by create_email_inbox itself, in the same transaction
        inbox = create_email_inbox(
            request.workspace, form.cleaned_data["name"], actor=request.user, **form.settings_data()
        )
    except ValidationError as exc:
        _add_errors(form, exc)
        return None
    return inbox, ""


CREATORS = {
    "api": _create_api,
    "livechat": _create_livechat,
    "comments": _create_comments,
    "email": _create_email,
}


@admin_required
def inbox_detail(request, slug, inbox_id):
    return _detail_page(request, access_inbox(request.member, inbox_id))


def _detail_page(request, inbox, *, secret: str = "", extra: dict | None = None):
    inbox.health_words = HEALTH_WORDS.get(inbox.health, inbox.health)
    raw_events = list(
        RawEvent.objects.filter(workspace_id=request.workspace.pk, inbox=inbox, status__in=RAW_PROBLEMS)
        .only("id", "workspace", "inbox", "event_id", "status", "attempts", "error", "received_at")
        .order_by("-received_at")[:PROBLEM_LIMIT]
    )
    deliveries = list(
        Delivery.objects.filter(workspace_id=request.workspace.pk, inbox=inbox, status__in=DELIVERY_PROBLEMS)
        .select_related("message__conversation")
        .only(
            "id",
            "workspace",
            "inbox",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "next_attempt_at",
            "message__id",
            "message__workspace",
            "message__conversation__number",
            "message__conversation__workspace",
        )
        .order_by("-created_at")[:PROBLEM_LIMIT]
    )
    webhook_path = f"/hooks/{inbox.connector}/{inbox.public_key}/" if inbox.connector == "api" else ""
    return render(
        request,
        "inbox/admin/inbox_detail.html",
        {
            "inbox": inbox,
            "secret": secret,
            "raw_events": raw_events,
            "deliveries": deliveries,
            "webhook_path": webhook_path,
            "embed_snippet": embed_snippet(inbox),
            "section": "inboxes",
            **(email_context(inbox) if inbox.connector == "email" else {}),
            **(extra or {}),
        },
    )


def email_context(inbox) -> dict:
    """What the detail page shows of an e-mail inbox: its receiving address, servers, health in
    words and the quarantine."""
    from hotro.connectors.email.config import load_settings
    from hotro.connectors.email.inboxes import receiving_address

    from ..email_admin import health_words, quarantine_of

    return {
        "email": load_settings(inbox),
        "receiving_address": receiving_address(inbox),
        "email_health": health_words(inbox),
        "quarantine": quarantine_of(inbox),
    }


def embed_snippet(inbox) -> str:
    """What a business pastes into its web pages to show a widget inbox ('' for other channels)."""
    if inbox.connector == "livechat":
        return f'<script src="{settings.PUBLIC_URL}/widget/{inbox.public_key}.js" async></script>'
    if inbox.connector == "comments":
        from hotro.connectors.comments.inboxes import embed_script

        return embed_script(inbox, settings.PUBLIC_URL)
    return ""


@admin_required
@require_POST
def raw_event_retry(request, slug, inbox_id, event_id):
    from hotro.connectors.ingress import retry_raw_event

    inbox = access_inbox(request.member, inbox_id)
    raw = access_object(
        request.member, RawEvent.objects.filter(inbox=inbox).only("id", "workspace"), event_id
    )
    if retry_raw_event(str(raw.pk)):
        messages.success(request, _("The event was queued to be processed again."))
    else:
        messages.info(
            request, _("This event is being processed or was processed; there is nothing to retry.")
        )
    return redirect("inbox_admin_detail", slug=slug, inbox_id=inbox.pk)


@admin_required
@require_POST
def delivery_retry(request, slug, inbox_id, delivery_id):
    from hotro.connectors.outbox import retry_delivery

    inbox = access_inbox(request.member, inbox_id)
    delivery = access_object(
        request.member, Delivery.objects.filter(inbox=inbox).only("id", "workspace"), delivery_id
    )
    if retry_delivery(str(delivery.pk)):
        messages.success(request, _("The message was queued to be sent again."))
    else:
        messages.info(request, _("This message is being sent or was sent; there is nothing to retry."))
    return redirect("inbox_admin_detail", slug=slug, inbox_id=inbox.pk)
