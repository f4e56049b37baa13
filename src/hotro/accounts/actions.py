"""Account actions (``do_*`` trusted; callers validate input first)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from hotro.privacy.blind import normalize_email


@transaction.atomic
def do_create_user(email: str, password: str, *, language: str = ""):
    """A new staff account signing in with ``email``; ValidationError if the address is taken."""
    User = get_user_model()
    email = normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(_("An account with this e-mail address already exists. Sign in instead."))
    user = User(username=email, email=email, language=language)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("An account with this e-mail address already exists. Sign in instead.")
        ) from exc
    return user


def do_set_language(user, language: str) -> None:
    """Remember a signed-in user's language (one of settings.LANGUAGES, or "" for the workspace's)."""
    if language not in {"", *dict(settings.LANGUAGES)}:
        raise ValidationError(_("Choose a language from the list."))
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
