"""Admin pages to create, list and revoke a workspace's API tokens (``/api/manage/<slug>/tokens/``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hotro.tenancy.access import access_object
from hotro.tenancy.middleware import member_required
from hotro.tenancy.models import Role

from .models import ApiToken
from .tokens import check_create_token, check_revoke_token

admin_required = member_required(role=Role.ADMIN)


@admin_required
def token_list(request, slug):
    """GET: the tokens (prefix, name, last use).  POST ``name``: create one and show it once."""
    plaintext = None
    if request.method == "POST":
        try:
            _token, plaintext = check_create_token(request.member, request.POST.get("name", ""))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("api_tokens", slug=slug)
    tokens = (
        ApiToken.objects.filter(workspace_id=request.workspace.pk)
        .select_related("created_by__user")
        .order_by("-created_at", "-id")
    )
    response = render(
        request,
        "api/tokens.html",
        {
            "tokens": tokens,
            "plaintext": plaintext,
            "section": "api",
            "workspace": request.workspace,
            "member": request.member,
        },
    )
    response["Cache-Control"] = "no-store"  # the page may show a secret
    return response


@require_POST
@admin_required
def token_revoke(request, slug, token_id):
    token = access_object(request.member, ApiToken.objects.all(), token_id)
    check_revoke_token(request.member, token)
    messages.success(
        request, _("The token %(prefix)s was revoked; it no longer works.") % {"prefix": token.prefix}
    )
    return redirect("api_tokens", slug=slug)
