"""OAuth2 mail providers: the Google and Microsoft presets, and "custom" (the admin's own).

A preset knows the provider's authorization and token addresses, the scope IMAP and SMTP need, and
the servers; the operator registers one OAuth client per provider and gives hotro its id and secret
(``HOTRO_OAUTH_GOOGLE_CLIENT_ID`` / ``_SECRET``, ``HOTRO_OAUTH_MICROSOFT_CLIENT_ID`` / ``_SECRET``,
``HOTRO_OAUTH_MICROSOFT_TENANT``).  A workspace admin with their own client (or another provider)
enters the addresses, client id, secret and scope in the inbox's settings: provider ``custom``.

An inbox's ``settings["oauth2"]`` records which provider it was connected with (``provider``) and
the values the grant belongs to (``authorize_url``, ``token_url``, ``client_id``, ``scope``); the
secret is in its encrypted credentials (custom) or in the operator's settings (presets), which
``client_secret_for`` resolves when a token is refreshed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

CUSTOM = "custom"


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    authorize_url: str  # may hold "{tenant}" (Microsoft)
    token_url: str
    scope: str  # what IMAP and SMTP need; stored and sent with refreshes
    identity_scope: str = ""  # asked for in addition, so the id_token names the mailbox
    extra_params: tuple[tuple[str, str], ...] = ()
    revoke_url: str = ""
    imap: dict = field(default_factory=dict)
    smtp: dict = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "google": Preset(
        key="google",
        label="Google",
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        scope="https://mail.google.com/",
        identity_scope="openid email",
        # a refresh token is only issued with offline access, and again only when consent is asked
        extra_params=(("access_type", "offline"), ("prompt", "consent")),
        revoke_url="https://oauth2.googleapis.com/revoke",
        imap={"host": "imap.gmail.com", "port": 993, "security": "tls"},
        smtp={"host": "smtp.gmail.com", "port": 587, "security": "starttls"},
    ),
    "microsoft": Preset(
        key="microsoft",
        label="Microsoft",
        authorize_url="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        token_url="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        scope=(
            "https://outlook.office.com/IMAP.AccessAsUser.All "
            "https://outlook.office.com/SMTP.Send offline_access"
        ),
        identity_scope="openid email",
        imap={"host": "outlook.office365.com", "port": 993, "security": "tls"},
        smtp={"host": "smtp.office365.com", "port": 587, "security": "starttls"},
    ),
}
PROVIDER_KEYS = (*PRESETS, CUSTOM)


class ProviderUnavailable(Exception):
    """This provider cannot be used for this inbox (a sentence saying what is missing)."""


@dataclass(frozen=True)
class Client:
    """Everything one authorization needs: the provider's addresses and the OAuth client."""

    provider: str
    label: str
    authorize_url: str
    token_url: str
    scope: str  # stored with the inbox (refreshes)
    request_scope: str  # asked for in the authorization request
    extra_params: tuple[tuple[str, str], ...]
    client_id: str
    client_secret: str
    operator_client: bool  # the operator's client of a preset (its secret is not stored per inbox)

    @property
    def authorize_origin(self) -> str:
        return origin_of(self.authorize_url)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _format(url: str) -> str:
    # the setting defaults to "common" (hotro.config.settings)
    return url.replace("{tenant}", django_settings.HOTRO_OAUTH_MICROSOFT_TENANT)


def operator_client(key: str) -> tuple[str, str]:
    """The operator's client id and secret for a preset ("" when not configured)."""
    prefix = f"HOTRO_OAUTH_{key.upper()}_CLIENT"
    return (
        (getattr(django_settings, f"{prefix}_ID", "") or "").strip(),
        (getattr(django_settings, f"{prefix}_SECRET", "") or "").strip(),
    )


def preset_urls(key: str) -> tuple[str, str]:
    preset = PRESETS[key]
    return _format(preset.authorize_url), _format(preset.token_url)


def label_of(key: str) -> str:
    if key in PRESETS:
        return PRESETS[key].label
    return _("your provider")


def resolve(key: str, inbox) -> Client:
    """The client to connect ``inbox`` with through provider ``key``.  Raises ``ProviderUnavailable``
    when the operator has not configured the preset, or the inbox's custom settings are incomplete."""
    if key in PRESETS:
        preset = PRESETS[key]
        client_id, secret = operator_client(key)
        if not client_id:
            raise ProviderUnavailable(
                _(
                    "Connecting with %(provider)s is not set up on this server: the operator sets "
                    "HOTRO_OAUTH_%(key)s_CLIENT_ID and _SECRET. You can also enter your own client "
                    "in the inbox settings (other provider)."
                )
                % {"provider": preset.label, "key": key.upper()}
            )
        authorize_url, token_url = preset_urls(key)
        return Client(
            provider=key,
            label=preset.label,
            authorize_url=authorize_url,
            token_url=token_url,
            scope=preset.scope,
            request_scope=" ".join(filter(None, (preset.scope, preset.identity_scope))),
            extra_params=preset.extra_params,
            client_id=client_id,
            client_secret=secret,
            operator_client=True,
        )
    if key != CUSTOM:
        raise ProviderUnavailable(_("Unknown provider."))
    oauth2 = (inbox.settings or {}).get("oauth2") or {}
    custom = oauth2.get("provider", CUSTOM) == CUSTOM
    if not (custom and oauth2.get("authorize_url") and oauth2.get("token_url") and oauth2.get("client_id")):
        raise ProviderUnavailable(
            _(
                "Enter your provider's authorization address, token address and client id in the "
                "inbox settings first."
            )
        )
    return Client(
        provider=CUSTOM,
        label=label_of(CUSTOM),
        authorize_url=oauth2["authorize_url"],
        token_url=oauth2["token_url"],
        scope=oauth2.get("scope", ""),
        request_scope=oauth2.get("scope", ""),
        extra_params=(),
        client_id=oauth2["client_id"],
        client_secret=(inbox.credentials or {}).get("oauth2_client_secret", ""),
        operator_client=False,
    )


def available(inbox) -> list[tuple[str, Client | None, str]]:
    """``(key, client, why not)`` per provider, for the connect page (client None when unusable)."""
    out = []
    for key in PROVIDER_KEYS:
        try:
            out.append((key, resolve(key, inbox), ""))
        except ProviderUnavailable as exc:
            out.append((key, None, str(exc)))
    return out


def client_secret_for(cfg, credentials: dict) -> str:
    """The client secret a token request of this inbox sends: the inbox's own, else the operator's
    for a preset connected with the operator's client."""
    if credentials.get("oauth2_client_secret"):
        return credentials["oauth2_client_secret"]
    provider = cfg.oauth2_provider
    if provider in PRESETS:
        client_id, secret = operator_client(provider)
        if client_id and client_id == cfg.oauth2_client_id:
            return secret
    return ""


def _check_url(url: str, message: str) -> str:
    url = (url or "").strip()
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise ValidationError(message) from None
    return url


def clean_oauth2(data: dict) -> dict:
    """Validate an inbox's OAuth2 settings (``provider``, ``authorize_url``, ``token_url``,
    ``client_id``, ``scope``); a preset fills what is not given.  Raises ValidationError."""
    data = data or {}
    provider = str(data.get("provider") or CUSTOM).strip().lower()
    if provider not in PROVIDER_KEYS:
        raise ValidationError(_("The OAuth2 provider must be google, microsoft or custom."))
    authorize_url = str(data.get("authorize_url") or "").strip()
    token_url = str(data.get("token_url") or "").strip()
    client_id = str(data.get("client_id") or "").strip()
    scope = " ".join(str(data.get("scope") or "").split())
    if provider in PRESETS:
        preset_authorize, preset_token = preset_urls(provider)
        authorize_url = authorize_url or preset_authorize
        token_url = token_url or preset_token
        scope = scope or PRESETS[provider].scope
        client_id = client_id or operator_client(provider)[0]
    token_url = _check_url(
        token_url, _("Enter the OAuth2 token address (https://...) of your mail provider.")
    )
    if authorize_url:
        authorize_url = _check_url(
            authorize_url, _("Enter the OAuth2 authorization address (https://...) of your mail provider.")
        )
    return {
        "provider": provider,
        "authorize_url": authorize_url,
        "token_url": token_url,
        "client_id": client_id[:500],
        "scope": scope[:1000],
    }
