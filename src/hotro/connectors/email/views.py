"""Pages of the e-mail channel.

The customer's confirmation link (public, no login): GET shows a button, POST confirms.  A GET never
changes anything, so mail scanners that open links cannot confirm for the customer.

The admin's "Connect with Google / Microsoft" pages and the OAuth2 callback (``oauth_connect.py``)."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hotro.privacy.audit import client_ip
from hotro.privacy.rls import system_scope
from hotro.tenancy.views import admin_required

from .fraud import ConfirmationInvalid, confirm, find_confirmation
from .inboxes import access_email_inbox


@require_http_methods(["GET", "POST"])
def confirm_view(request, token: str):
    try:
        with system_scope():
            find_confirmation(token)
        if request.method == "POST":
            released = confirm(token)
            return render(request, "email_channel/confirm.html", {"done": True, "released": released})
    except ConfirmationInvalid as exc:
        return render(request, "email_channel/confirm.html", {"error": str(exc)}, status=410)
    return render(request, "email_channel/confirm.html", {"token": token})


# --- "Connect with Google / Microsoft": OAuth2 for the inbox's IMAP and SMTP sign-in ----------------
# The admin pages live under the inbox administration (/w/<slug>/admin/inboxes/<id>/email/oauth/,
# ``urls.admin_urlpatterns``); the callback is one fixed address (/mail/oauth/callback/) that admins
# register with their provider, the workspace and inbox coming from the signed state.


def callback_url(request) -> str:
    """The redirect URI: same origin as the admin's page, so the session cookie comes back with it."""
    return request.build_absolute_uri(reverse("email_channel:oauth_callback"))


def _connect_page(request, inbox, *, address=None, error="", status=200):
    from .config import load_settings
    from .oauth_connect import is_connected
    from .providers import PRESETS, available, label_of

    cfg = load_settings(inbox)
    choices = available(inbox)
    origins = []
    for _key, client, _why_not in choices:
        if client is not None and client.authorize_origin and client.authorize_origin not in origins:
            origins.append(client.authorize_origin)
    connected = is_connected(inbox)
    response = render(
        request,
        "email_channel/oauth_connect.html",
        {
            "inbox": inbox,
            "email": cfg,
            "connected": connected,
            "connected_with": label_of(cfg.oauth2_provider) if connected else "",
            "account": cfg.imap.username or cfg.smtp.username,
            "providers": [
                {"key": key, "label": label_of(key), "why_not": why_not, "preset": key in PRESETS}
                for key, _client, why_not in choices
            ],
            "callback_url": callback_url(request),
            "address": (cfg.imap.username or cfg.from_address) if address is None else address,
            "error": error,
            "section": "inboxes",
        },
        status=status,
    )
    # Browsers apply form-action to the redirect that follows a form POST: the connect form may lead
    # to the providers' authorization pages (a top-level navigation; nothing is loaded from them).
    response._csp_config = {**settings.SECURE_CSP, "form-action": [CSP.SELF, *origins]}
    add_never_cache_headers(response)
    return response


@admin_required
@require_GET
def oauth_page(request, slug, inbox_id):
    """The inbox's OAuth2 connection: state, connect buttons, the callback address to register."""
    return _connect_page(request, access_email_inbox(request.member, inbox_id))


@admin_required
@require_POST
def oauth_connect(request, slug, inbox_id):
    """Start the authorization: the browser goes to the provider (PKCE, signed single-use state)."""
    from .oauth_connect import begin
    from .providers import ProviderUnavailable, resolve

    inbox = access_email_inbox(request.member, inbox_id)
    address = (request.POST.get("address") or "").strip()[:320]
    if address:
        try:
            validate_email(address)
        except ValidationError:
            return _connect_page(
                request,
                inbox,
                address=address,
                error=_("Enter the mailbox address like support@example.com, or leave it empty."),
                status=400,
            )
    try:
        client = resolve(request.POST.get("provider") or "", inbox)
    except ProviderUnavailable as exc:
        return _connect_page(request, inbox, address=address, error=str(exc), status=400)
    target = begin(request, inbox, client, redirect_uri=callback_url(request), address=address)
    response = HttpResponseRedirect(target)
    add_never_cache_headers(response)
    return response


@admin_required
@require_POST
def oauth_disconnect(request, slug, inbox_id):
    from .oauth_connect import disconnect, is_connected

    inbox = access_email_inbox(request.member, inbox_id)
    if is_connected(inbox):
        disconnect(inbox, actor=request.user, ip=client_ip(request))
        messages.success(
            request,
            _(
                "The mailbox was disconnected: its OAuth2 tokens were removed. It signs in with a "
                "password again."
            ),
        )
    else:
        messages.info(request, _("This inbox was not connected with OAuth2."))
    return redirect("inbox_admin_email_oauth", slug=slug, inbox_id=inbox.pk)


def _invalid_callback(request):
    response = render(
        request,
        "email_channel/oauth_invalid.html",
        {
            "error": _(
                "This sign-in answer is not valid here: it has expired, was already used, or was "
                "started by someone else or in another browser. Nothing was changed; start again "
                "from the inbox's page."
            )
        },
        status=400,
    )
    add_never_cache_headers(response)
    return response


@require_GET
def oauth_callback(request):
    """Where the provider sends the admin back (``code`` and ``state``, or ``error``)."""
    from .oauth_connect import InvalidState, take

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        pending = take(request, request.GET.get("state", ""))
    except InvalidState:
        return _invalid_callback(request)
    response = _finish_connect(request, pending["slug"], pending)
    add_never_cache_headers(response)
    return response


@admin_required
def _finish_connect(request, slug, pending):
    from .oauth_connect import ConnectFailed, exchange_code, mailbox_address, store_connection
    from .providers import ProviderUnavailable, label_of, resolve

    if str(request.workspace.pk) != pending["workspace"]:
        raise Http404("No such inbox.")
    inbox = access_email_inbox(request.member, pending["inbox"])
    back = redirect("inbox_admin_email_oauth", slug=slug, inbox_id=inbox.pk)
    label = label_of(pending["provider"])
    error = request.GET.get("error", "")
    if error:
        if error == "access_denied":
            messages.error(
                request,
                _("Access was not allowed at %(provider)s. Nothing was changed.") % {"provider": label},
            )
        else:
            messages.error(
                request,
                _(
                    "The sign-in at %(provider)s ended with an error (%(error)s). Nothing was "
                    "changed; try again."
                )
                % {"provider": label, "error": re.sub(r"[^A-Za-z0-9_.-]", "", error)[:60]},
            )
        return back
    try:
        client = resolve(pending["provider"], inbox)
    except ProviderUnavailable as exc:
        messages.error(request, str(exc))
        return back
    if (client.client_id, client.token_url) != (pending["client_id"], pending["token_url"]):
        messages.error(
            request, _("The inbox's OAuth2 settings changed meanwhile. Nothing was changed; start again.")
        )
        return back
    code = request.GET.get("code", "")
    if not code:
        messages.error(
            request,
            _("No authorization code came back from %(provider)s. Nothing was changed.")
            % {"provider": label},
        )
        return back
    try:
        tokens = exchange_code(
            client, code=code, verifier=pending["verifier"], redirect_uri=pending["redirect_uri"]
        )
    except ConnectFailed as exc:
        messages.error(request, str(exc))
        return back
    address = mailbox_address(tokens, pending.get("address", ""))
    if not address:
        messages.error(
            request,
            _(
                "It is not known which mailbox was connected at %(provider)s. Nothing was changed; "
                "enter the mailbox address and connect again."
            )
            % {"provider": label},
        )
        return back
    store_connection(inbox, client, tokens, address, actor=request.user, ip=client_ip(request))
    messages.success(
        request,
        _("The mailbox %(address)s is connected with %(provider)s: hotro signs in to it with OAuth2.")
        % {"address": address, "provider": label},
    )
    return redirect("inbox_admin_detail", slug=slug, inbox_id=inbox.pk)
