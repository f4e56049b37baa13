"""Account views outside allauth: accepting an invitation, choosing the interface language."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from hotro.privacy.rls import tenant_scope
from hotro.tenancy.invitations import do_accept_invitation, find_invitation

from .actions import do_create_user, do_set_language
from .forms import AcceptInvitationForm

LOGIN_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"


@require_POST
def set_language(request):
    """Django's ``set_language`` (cookie + redirect to ``next``), remembered on the account too."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        do_set_language(request.user, language)
    return response


def _workspace_home(invitation) -> str:
    return f"/w/{invitation.workspace.slug}/"


@never_cache
def accept_invitation(request, token):
    """``/invite/<token>/``: join as the signed-in user, or create the account with a password."""
    invitation = find_invitation(token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    with tenant_scope(invitation.workspace_id):  # the address is decrypted with the workspace's key
        return _accept_page(request, invitation)


def _accept_page(request, invitation):
    context = {"invitation": invitation, "workspace": invitation.workspace}
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                do_accept_invitation(invitation, request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("/")
            return redirect(_workspace_home(invitation))
        return render(request, "accounts/invitation_join.html", context)

    email = invitation.email
    if get_user_model().objects.filter(email__iexact=email).exists():
        context["login_url"] = f"{reverse('account_login')}?{urlencode({'next': request.path})}"
        return render(request, "accounts/invitation_sign_in.html", context)

    form = AcceptInvitationForm(request.POST or None, email=email)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = do_create_user(email, form.cleaned_data["password1"], language=get_language() or "")
                do_accept_invitation(invitation, user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, user, backend=LOGIN_BACKEND)
            return redirect(_workspace_home(invitation))
    context.update(form=form, email=email)
    return render(request, "accounts/invitation_create_account.html", context)
