"""Creating live-chat inboxes and reading their widget settings.

``inbox.settings`` of a live-chat inbox (all optional but ``allowed_origins``)::

    allowed_origins: ["https://shop.example", "https://*.shop.example"]
    color: "#0f766e"                 greeting: {"vi": "...", "en": "..."}
    language: "vi" | "en" | ""       ("" = follow the host page's <html lang>)
    identity_mandatory: false        (unverified visitors then never see earlier conversations)
    prechat: {"enabled": true, "fields": ["name", "email", "phone"], "required": ["email"]}
    privacy_notice_url: "https://shop.example/privacy"   privacy_text_version: "2025-01"
    business_hours: {"timezone": "Asia/Ho_Chi_Minh", "days": {"mon": [["08:00", "17:30"]], ...}}
    offline: false                   (force the offline mode: collect the message and an e-mail)

and, set by hotro, ``receiving_address``: ``<public_key>@HOTRO_MAIL_DOMAIN``, where visitors answer
the e-mailed copies of agents' replies (``email_continuation``).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hotro.privacy.rls import tenant_scope

from ..email.config import receiving_address_for
from ..models import Inbox
from ..widget.identity import new_identity_secret
from ..widget.origins import clean_allowed_origins

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRECHAT_FIELDS = ("name", "email", "phone")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#0f766e"


def clean_settings(data: dict) -> dict:
    """Validate widget settings; raises ``ValidationError`` with a sentence."""
    out: dict = {"allowed_origins": clean_allowed_origins(data.get("allowed_origins") or [])}
    color = data.get("color") or DEFAULT_COLOR
    if not COLOR.match(color):
        raise ValidationError(_("The brand colour must look like #0f766e."))
    out["color"] = color.lower()
    greeting = data.get("greeting") or {}
    if isinstance(greeting, str):
        greeting = {"vi": greeting, "en": greeting}
    out["greeting"] = {k: str(v)[:300] for k, v in greeting.items() if k in ("vi", "en")}
    language = data.get("language") or ""
    if language not in ("", "vi", "en"):
        raise ValidationError(_("The widget language must be vi, en or empty (follow the web page)."))
    out["language"] = language
    out["identity_mandatory"] = bool(data.get("identity_mandatory", False))
    prechat = data.get("prechat") or {"enabled": True, "fields": ["name", "email"], "required": []}
    fields = [f for f in prechat.get("fields", []) if f in PRECHAT_FIELDS]
    out["prechat"] = {
        "enabled": bool(prechat.get("enabled", True)),
        "fields": fields,
        "required": [f for f in prechat.get("required", []) if f in fields],
    }
    out["privacy_notice_url"] = str(data.get("privacy_notice_url") or "")[:500]
    out["privacy_text_version"] = str(data.get("privacy_text_version") or "1")[:64]
    hours = data.get("business_hours")
    if hours:
        out["business_hours"] = clean_business_hours(hours)
    out["offline"] = bool(data.get("offline", False))
    return out


def clean_business_hours(hours: dict) -> dict:
    try:
        ZoneInfo(hours.get("timezone") or "Asia/Ho_Chi_Minh")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone for the business hours.")) from None
    days = {}
    for day, spans in (hours.get("days") or {}).items():
        if day not in DAYS:
            raise ValidationError(_("Business hours use the days mon, tue, wed, thu, fri, sat, sun."))
        clean = []
        for span in spans:
            try:
                start, end = time.fromisoformat(span[0]), time.fromisoformat(span[1])
            except (TypeError, ValueError, IndexError):
                raise ValidationError(_('Write business hours as ["08:00", "17:30"].')) from None
            if end <= start:
                raise ValidationError(_("Each business-hours span must end after it starts."))
            clean.append([start.strftime("%H:%M"), end.strftime("%H:%M")])
        days[day] = clean
    return {"timezone": hours.get("timezone") or "Asia/Ho_Chi_Minh", "days": days}


def is_online(inbox, now: datetime | None = None) -> bool:
    """False in forced offline mode or outside the configured business hours."""
    conf = inbox.settings or {}
    if conf.get("offline"):
        return False
    hours = conf.get("business_hours")
    if not hours:
        return True
    local = (now or timezone.now()).astimezone(ZoneInfo(hours["timezone"]))
    spans = hours["days"].get(DAYS[local.weekday()], [])
    at = local.time().replace(second=0, microsecond=0)
    return any(time.fromisoformat(a) <= at < time.fromisoformat(b) for a, b in spans)


def create_livechat_inbox(workspace, name: str, allowed_origins, **options) -> Inbox:
    """Create a live-chat inbox (with its identity-verification secret) for the given web sites.

    ``options`` are the other widget settings (see the module doc).  Embed it with
    ``<script src="{PUBLIC_URL}/widget/{inbox.public_key}.js" async></script>``."""
    settings = clean_settings({**options, "allowed_origins": allowed_origins})
    if not settings["allowed_origins"]:
        raise ValidationError(
            _("Name at least one web site (such as https://shop.example) allowed to show the chat.")
        )
    with tenant_scope(workspace.pk), transaction.atomic():
        inbox = Inbox(
            workspace=workspace,
            connector="livechat",
            name=(name or "").strip()[:200] or "Live chat",
            credentials={"identity_secret": new_identity_secret()},
        )
        inbox.settings = {**settings, "receiving_address": receiving_address_for(inbox.public_key)}
        inbox.save(force_insert=True)
        return inbox
