"""The pages agents read: the root redirect, the conversation list, the conversation view."""

from __future__ import annotations

import time

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from hotro.connectors.models import Inbox
from hotro.privacy import audit
from hotro.tenancy.access import access_conversation_by_number
from hotro.tenancy.middleware import default_workspace_for, member_required

from ..channels import channel_features
from ..forms import AssignForm, MergeForm, PriorityForm, StatusForm, TagsForm, upload_limit_mb
from ..listing import Filters, count_views, fetch_page
from ..thread import contact_card, history_entries, thread_messages
from .common import latest_event_id, list_context

REVEAL_SESSION_KEY = "hotro_revealed_contacts"
REVEAL_SECONDS = 10 * 60


@login_required
@require_GET
def root(request):
    workspace = default_workspace_for(request.user)
    if workspace is None:
        return render(request, "inbox/no_workspace.html", status=404)
    return redirect("inbox_list", slug=workspace.slug)


@member_required()
@require_GET
def conversation_list(request, slug):
    context = list_context(request, cursor=request.GET.get("cursor", ""))
    context["last_event_id"] = latest_event_id(request.workspace.pk)
    return render(request, "inbox/list.html", context)


@member_required()
@require_GET
def list_rows(request, slug):
    """The rows of one page (htmx: "load more" and live refresh)."""
    filters = Filters.from_query(request.GET)
    page = fetch_page(request.member, filters, request.GET.get("cursor", ""))
    current = request.GET.get("current", "")
    return render(
        request,
        "inbox/_rows.html",
        {
            "page": page,
            "filters": filters,
            "qs": filters.querystring(),
            "current_number": current,
            "appending": bool(request.GET.get("cursor")),
        },
    )


@member_required()
@require_GET
def view_counts(request, slug):
    filters = Filters.from_query(request.GET)
    return render(request, "inbox/_counts.html", {"counts": count_views(request.member), "filters": filters})


# --- the conversation ------------------------------------------------------------------------------
def revealed_contact(request, contact_id) -> bool:
    """Whether a viewer revealed this contact in this session within the last few minutes."""
    until = request.session.get(REVEAL_SESSION_KEY, {}).get(str(contact_id), 0)
    return until > time.time()


def remember_reveal(request, contact_id) -> None:
    now = time.time()
    kept = {k: v for k, v in request.session.get(REVEAL_SESSION_KEY, {}).items() if v > now}
    kept[str(contact_id)] = now + REVEAL_SECONDS
    request.session[REVEAL_SESSION_KEY] = kept


def pane_context(request, conversation, errors=()) -> dict:
    """Everything inside the live part of the conversation view (thread, controls, contact, history)."""
    member = request.member
    messages, older = thread_messages(conversation)
    tag_names = sorted(t.name for t in conversation.tags.all())
    filters = Filters.from_query(request.GET)
    snooze_initial = conversation.snoozed_until
    return {
        "conversation": conversation,
        "channel": channel_features(conversation, messages),
        "thread": messages,
        "older": older,
        "card": contact_card(
            member, conversation, revealed=revealed_contact(request, conversation.contact_id)
        ),
        "history": history_entries(conversation),
        "tag_names": tag_names,
        "errors": list(errors),
        "upload_mb": upload_limit_mb(),
        "can_write": member.can_write,
        "qs": filters.querystring(),
        "assign_form": AssignForm(
            workspace_id=member.workspace_id,
            initial={"assignee": conversation.assignee_id, "team": conversation.team_id},
        ),
        "status_form": StatusForm(initial={"status": conversation.status, "snooze_until": snooze_initial}),
        "priority_form": PriorityForm(initial={"priority": conversation.priority}),
        "tags_form": TagsForm(initial={"tags": ", ".join(tag_names)}),
        "merge_form": MergeForm(),
        "move_inboxes": list(
            Inbox.objects.filter(
                workspace_id=member.workspace_id, connector=conversation.inbox.connector, is_active=True
            )
            .exclude(pk=conversation.inbox_id)
            .order_by("name")
        ),
        "merged_into": conversation.merged_into if conversation.merged_into_id else None,
    }


def record_contact_viewed(request, card) -> None:
    if not card.masked:
        audit.record_request(
            request,
            request.member,
            audit.CONTACT_VIEWED,
            object_type="contact",
            object_id=str(card.contact.pk),
            data={"role": request.member.role, "via": "conversation"},
        )


@member_required()
@require_GET
def conversation_view(request, slug, number):
    return render_conversation(request, access_conversation_by_number(request.member, number))


def render_conversation(request, conversation, *, errors=(), status: int = 200):
    """The whole conversation page (list beside it); with ``errors`` shown above the thread when an
    action posted without JavaScript was refused (answered with that 4xx ``status``)."""
    context = list_context(request)
    context.update(pane_context(request, conversation, errors=errors))
    context["last_event_id"] = latest_event_id(request.workspace.pk)
    context["current_number"] = str(conversation.number)
    response = render(request, "inbox/conversation.html", context, status=status)
    # last, so the audit chain's workspace lock is held only until the view's transaction commits
    record_contact_viewed(request, context["card"])
    return response


@member_required()
@require_GET
def conversation_pane(request, slug, number):
    """The live part of the conversation view alone (htmx refresh after an event or an action)."""
    conversation = access_conversation_by_number(request.member, number)
    return render(request, "inbox/_pane.html", pane_context(request, conversation))
