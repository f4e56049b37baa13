"""Creating and configuring comments inboxes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from hotro.privacy import audit
from hotro.privacy.rls import tenant_scope

from ..models import Inbox
from . import policy
from .connector import KEY


def clean_origins(origins) -> list[str]:
    from ..widget.origins import clean_allowed_origins

    cleaned = clean_allowed_origins(origins)
    if not cleaned:
        raise ValidationError(_("List at least one website origin allowed to show the comments widget."))
    return cleaned


def clean_moderation(moderation: str) -> str:
    moderation = moderation or policy.MODERATION_PENDING
    if moderation not in policy.MODERATION_MODES:
        raise ValidationError(
            _("Moderation must be one of: %(modes)s.") % {"modes": ", ".join(policy.MODERATION_MODES)}
        )
    return moderation


def create_comments_inbox(
    workspace,
    name: str,
    allowed_origins,
    moderation: str = policy.MODERATION_PENDING,
    *,
    comments_to_inbox: bool = False,
    actor=None,
) -> Inbox:
    """Create a comments inbox for the websites at ``allowed_origins`` (list, or text separated by
    commas/whitespace) with a moderation policy (``pending`` | ``publish`` | ``publish_verified``).
    Raises ``ValidationError`` (sentences) for a bad origin or policy.  Its identity secret (to sign
    user ids and purchase claims) is created with it: ``widget.identity.identity_secret(inbox)``."""
    from ..widget.identity import SECRET_KEY_NAME, new_identity_secret

    settings = {
        "allowed_origins": clean_origins(allowed_origins),
        "moderation": clean_moderation(moderation),
        "comments_to_inbox": bool(comments_to_inbox),
        "max_links": policy.DEFAULT_MAX_LINKS,
    }
    with tenant_scope(workspace.pk), transaction.atomic():
        inbox = Inbox.objects.create(
            workspace=workspace,
            connector=KEY,
            name=(name or "").strip()[:200] or _("Product comments"),
            settings=settings,
            credentials={SECRET_KEY_NAME: new_identity_secret()},
        )
        audit.record(
            workspace.pk,
            audit.INBOX_CREATED,
            actor=actor,
            object_type="inbox",
            object_id=inbox.pk,
            data={"channel": KEY, "moderation": settings["moderation"]},
        )
    return inbox


def update_comments_settings(inbox: Inbox, *, actor=None, **changes) -> Inbox:
    """Change a comments inbox's policy (``allowed_origins``, ``moderation``, ``comments_to_inbox``,
    ``max_links``, ``blocked_words``, ``business_name``, ``language``), audited."""
    current = dict(inbox.settings or {})
    if "allowed_origins" in changes:
        changes["allowed_origins"] = clean_origins(changes["allowed_origins"])
    if "moderation" in changes:
        changes["moderation"] = clean_moderation(changes["moderation"])
    if "max_links" in changes:
        changes["max_links"] = max(0, int(changes["max_links"]))
    if "blocked_words" in changes:
        changes["blocked_words"] = [str(w).strip()[:100] for w in changes["blocked_words"] if str(w).strip()][
            :500
        ]
    current.update(changes)
    inbox.settings = current
    with tenant_scope(inbox.workspace_id), transaction.atomic():
        inbox.save(update_fields=["settings"])
        audit.record(
            inbox.workspace_id,
            audit.INBOX_UPDATED,
            actor=actor,
            object_type="inbox",
            object_id=inbox.pk,
            data={"fields": sorted(changes)},
        )
    return inbox


def embed_script(inbox: Inbox, public_url: str) -> str:
    """The snippet a business pastes into a product page (product id and URL to fill in)."""
    return (
        f'<div id="hotro-comments"></div>\n<script src="{public_url}/comments/{inbox.public_key}.js" '
        'data-product-id="PRODUCT-ID" data-product-url="https://..." async></script>'
    )
