"""The moderation page: admins publish, hide or mark comments as spam (every change audited)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from hotro.connectors.models import Inbox
from hotro.privacy.audit import client_ip
from hotro.privacy.masking import mask_email
from hotro.tenancy.middleware import member_required
from hotro.tenancy.models import Role

from .actions import EVENT_PREFIX, CommentRefused, access_comment, check_moderate
from .connector import KEY
from .models import Comment, CommentStatus

PER_PAGE = 30
FILTERS = ("pending", "published", "hidden", "spam", "all")
ACTIONS = {
    "publish": CommentStatus.PUBLISHED,
    "hide": CommentStatus.HIDDEN,
    "spam": CommentStatus.SPAM,
    "pending": CommentStatus.PENDING,
}


@require_http_methods(["GET"])
@member_required(role=Role.ADMIN)
def moderation_list(request, slug):
    workspace = request.workspace
    inboxes = list(Inbox.objects.filter(workspace_id=workspace.pk, connector=KEY).order_by("created_at"))
    status = request.GET.get("status", "pending")
    status = status if status in FILTERS else "pending"
    qs = Comment.objects.filter(
        workspace_id=workspace.pk, product__inbox__in=inboxes, is_business_reply=False
    )
    inbox_id = request.GET.get("inbox", "")
    if inbox_id and any(str(i.pk) == inbox_id for i in inboxes):
        qs = qs.filter(product__inbox_id=inbox_id)
    if status != "all":
        qs = qs.filter(status=status)
    page = Paginator(
        qs.select_related("product", "product__inbox", "parent").order_by("-created_at", "-id"), PER_PAGE
    )
    page = page.get_page(request.GET.get("page"))
    rows = list(page.object_list)
    conversations = conversation_numbers(workspace.pk, rows)
    counts = {
        s: Comment.objects.filter(
            workspace_id=workspace.pk, product__inbox__in=inboxes, is_business_reply=False, status=s
        ).count()
        for s in ("pending", "spam")
    }
    items = [
        {
            "comment": c,
            "email": mask_email(c.author_email) if c.author_email else "",
            "conversation": conversations.get(c.pk),
        }
        for c in rows
    ]
    return render(
        request,
        "comments/manage.html",
        {
            "inboxes": inboxes,
            "inbox_id": inbox_id,
            "status": status,
            "filters": [(f, _label(f), counts.get(f)) for f in FILTERS],
            "items": items,
            "page": page,
            "counts": counts,
            "back": request.get_full_path(),
        },
    )


def _label(name: str) -> str:
    return {"all": _("All")}.get(name) or str(CommentStatus(name).label)


def conversation_numbers(workspace_id, comments) -> dict:
    """{comment id: conversation number} for comments that reached the agent inbox (one query)."""
    from hotro.conversations.models import Message

    refs = {EVENT_PREFIX + str(c.pk): c.pk for c in comments}
    found = Message.objects.filter(workspace_id=workspace_id, external_id__in=list(refs)).values_list(
        "external_id", "conversation__number"
    )
    return {refs[ext]: number for ext, number in found}


@require_POST
@member_required(role=Role.ADMIN)
def moderate(request, slug, comment_id):
    comment = access_comment(request.member, comment_id)
    action = request.POST.get("action", "")
    target = ACTIONS.get(action)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) or not back.startswith(
        "/"
    ):
        back = reverse("comments:manage", args=[slug])
    if target is None:
        messages.error(request, _("Choose publish, hide or spam."))
        return HttpResponseRedirect(back)
    try:
        check_moderate(request.member, comment, target, ip=client_ip(request))
    except CommentRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The comment is now: %(status)s.") % {"status": CommentStatus(target).label}
        )
    return HttpResponseRedirect(back)
