"""Workspace resolution for the web UI: ``/w/<slug>/...`` and ``/settings/<slug>/...``.

Use on every view that takes a ``slug`` URL argument::

    from hotro.tenancy.middleware import member_required

    @member_required()                 # any active member (viewer and up)
    def inbox(request, slug): ...

    @member_required(role=Role.ADMIN)  # admins and owners
    def settings(request, slug): ...

Contract of ``member_required(role=None)``:

- anonymous users are sent to the login page (``?next=`` the current path);
- ``request.member`` is the caller's *active* ``Membership`` in the workspace named by ``slug``
  (with ``user`` and ``workspace`` loaded) and ``request.workspace`` its ``Workspace``; an unknown
  slug, a closed workspace, an inactive or absent membership all answer 404 (never 403: whether a
  workspace exists is not disclosed to outsiders);
- the view runs inside ``hotro.privacy.rls.tenant_scope(workspace_id)`` (one transaction; on
  PostgreSQL with Row-Level Security only that workspace's rows are visible);
- the workspace's time zone is active (``django.utils.timezone``) while the view runs and while a
  ``TemplateResponse`` it returns is rendered; the language is the user's preference
  (``User.language``), else the workspace's;
- when ``Workspace.mfa_required`` is on and the user has no TOTP authenticator, every page of the
  workspace redirects to the TOTP activation page first (``mfa_activate_totp``); the page asked for
  is kept in the session and offered as "Continue" on the account pages once TOTP is active;
- when the member's role is below ``role``, a friendly 403 page is rendered.

The view is called as ``view(request, slug, *args, **kwargs)``.

``default_workspace_for(user)`` gives the workspace a user lands in after login (their oldest
active membership in an open workspace), or None.  The root view ("/", owned by the inbox) uses it.

``resolve_member(user, slug)`` is the lookup alone (Http404 when not an active member; it runs in
``system_scope``), for code that does not go through the decorator (e.g. WebSocket consumers).

``UserLanguageMiddleware`` (installed after ``AuthenticationMiddleware``) activates a signed-in
user's saved language on pages outside a workspace; inside one, the decorator decides.
"""

from __future__ import annotations

import zoneinfo
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation

from hotro.privacy.rls import system_scope, tenant_scope

from .models import Membership, Workspace

MFA_NEXT_SESSION_KEY = "hotro_mfa_next"


def resolve_member(user, slug: str) -> Membership:
    """The user's active membership in the open workspace ``slug``, or Http404."""
    if user is None or not user.is_authenticated:
        raise Http404("No such workspace.")
    with system_scope():  # the slug is not a scope yet: this lookup crosses workspaces
        member = (
            Membership.objects.select_related("workspace", "user")
            .filter(
                user_id=user.pk,
                workspace__slug=slug,
                workspace__closed_at__isnull=True,
                is_active=True,
            )
            .first()
        )
    if member is None:
        raise Http404("No such workspace.")
    return member


def default_workspace_for(user) -> Workspace | None:
    """The workspace a signed-in user lands in: their oldest active membership, or None."""
    if user is None or not user.is_authenticated:
        return None
    with system_scope():
        member = (
            Membership.objects.select_related("workspace")
            .filter(user_id=user.pk, is_active=True, workspace__closed_at__isnull=True)
            .order_by("created_at", "id")
            .first()
        )
    return member.workspace if member else None


def language_for(user, workspace: Workspace | None = None) -> str:
    """The user's own language when they chose one, else the workspace's, else the site default."""
    supported = {code for code, _name in settings.LANGUAGES}
    for candidate in (getattr(user, "language", ""), workspace.language if workspace else ""):
        if candidate in supported:
            return candidate
    return settings.LANGUAGE_CODE


def zone_for(workspace: Workspace):
    try:
        return zoneinfo.ZoneInfo(workspace.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def needs_mfa_activation(member: Membership) -> bool:
    """True when the workspace requires MFA and the user has no TOTP authenticator yet."""
    if not member.workspace.mfa_required:
        return False
    from allauth.mfa.models import Authenticator

    return not Authenticator.objects.filter(user_id=member.user_id, type=Authenticator.Type.TOTP).exists()


def forbidden(request, message: str | None = None):
    """The friendly 403 page (also used for ``AccessDenied`` raised by ``check_*`` actions)."""
    context = {
        "message": message,
        "workspace": getattr(request, "workspace", None),
        "member": getattr(request, "member", None),
    }
    return render(request, "tenancy/forbidden.html", context, status=403)


def _mfa_redirect(request):
    request.session[MFA_NEXT_SESSION_KEY] = request.get_full_path()
    return HttpResponseRedirect(reverse("mfa_activate_totp"))


def member_required(role: str | None = None):
    """Decorator for views taking ``slug``: resolves ``request.member`` and ``request.workspace``."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, slug, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            member = resolve_member(request.user, slug)
            request.member = member
            request.workspace = member.workspace
            language = language_for(member.user, member.workspace)
            translation.activate(language)
            request.LANGUAGE_CODE = language
            with tenant_scope(member.workspace_id), timezone.override(zone_for(member.workspace)):
                if needs_mfa_activation(member):
                    return _mfa_redirect(request)
                if MFA_NEXT_SESSION_KEY in request.session:
                    del request.session[MFA_NEXT_SESSION_KEY]  # the way back after activation is used
                if role is not None and not member.has_role(role):
                    return forbidden(request)
                response = view(request, slug, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()  # a TemplateResponse is rendered in the scope and zone too
            return response

        return wrapped

    return decorator


class UserLanguageMiddleware:
    """Use a signed-in user's saved language everywhere (after LocaleMiddleware and auth)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            language = language_for(user)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
