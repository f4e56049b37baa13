"""An e-mail inbox's settings (``Inbox.settings``, not secret) and credentials (``Inbox.credentials``,
encrypted): reading them with defaults, and validating what an admin enters.

Settings keys::

    imap: {host, port, security: tls|starttls|none, username, folders: [..], mark_read: false}
    smtp: {host, port, security, username}
    auth: password | oauth2        (both servers)
    oauth2: {provider: google|microsoft|custom, authorize_url, token_url, client_id, scope}
                                   (providers.py; kept when the inbox signs in with a password)
    from_name, from_address, signature, receiving_address
    reopen_days: null (always reopen a resolved conversation) or N (new conversation after N days)
    auto_ack: false, auto_ack_text
    trusted_authserv_id: "mx.example.com" (whose Authentication-Results to believe; "" = none)
    business_domains: [..]         (display-name spoofing; default: the From address's domain)
    volume_limit: 20               (mail per sender per hour before the address is suspended)
    auto_limit: 10                 (automatic mail per sender per hour that is recorded; the rest dropped)

Credentials keys: imap_password, smtp_password, oauth2_client_secret, oauth2_refresh_token,
oauth2_access_token, oauth2_expires_at (ISO time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

SECURITY = ("tls", "starttls", "none")
DEFAULT_PORTS = {
    "imap": {"tls": 993, "starttls": 143, "none": 143},
    "smtp": {"tls": 465, "starttls": 587, "none": 25},
}
SECRET_KEYS = (
    "imap_password",
    "smtp_password",
    "oauth2_client_secret",
    "oauth2_refresh_token",
    "oauth2_access_token",
    "oauth2_expires_at",
)


@dataclass(frozen=True)
class Server:
    host: str = ""
    port: int = 0
    security: str = "tls"
    username: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class EmailSettings:
    imap: Server = field(default_factory=Server)
    smtp: Server = field(default_factory=Server)
    folders: tuple[str, ...] = ("INBOX",)
    mark_read: bool = False
    auth: str = "password"
    oauth2_provider: str = ""
    oauth2_authorize_url: str = ""
    oauth2_token_url: str = ""
    oauth2_client_id: str = ""
    oauth2_scope: str = ""
    from_name: str = ""
    from_address: str = ""
    signature: str = ""
    receiving_address: str = ""
    reopen_days: int | None = None
    auto_ack: bool = False
    auto_ack_text: str = ""
    trusted_authserv_id: str = ""
    business_domains: tuple[str, ...] = ()
    volume_limit: int = 20
    auto_limit: int = 10
    ack_limit: int = 3

    @property
    def reply_address(self) -> str:
        """The address customers write to: the From identity, else the receiving address."""
        return self.from_address or self.receiving_address

    @property
    def own_addresses(self) -> set[str]:
        """Addresses that are the business itself (never participants)."""
        found = {self.from_address, self.receiving_address, self.imap.username, self.smtp.username}
        return {a.strip().lower() for a in found if a and "@" in a}

    @property
    def spoof_domains(self) -> tuple[str, ...]:
        if self.business_domains:
            return self.business_domains
        return tuple({a.rpartition("@")[2] for a in [self.from_address] if "@" in a})


def _server(data: dict | None, kind: str) -> Server:
    data = data or {}
    security = data.get("security") or "tls"
    if security not in SECURITY:
        security = "tls"
    port = int(data.get("port") or DEFAULT_PORTS[kind][security])
    return Server(
        str(data.get("host") or "").strip(), port, security, str(data.get("username") or "").strip()
    )


def load_settings(inbox) -> EmailSettings:
    """The inbox's e-mail settings with defaults filled in (never raises on old or partial data)."""
    s = inbox.settings or {}
    imap = s.get("imap") or {}
    folders = tuple(f for f in (imap.get("folders") or ["INBOX"]) if isinstance(f, str) and f.strip())
    reopen = s.get("reopen_days")
    oauth2 = s.get("oauth2") or {}
    return EmailSettings(
        imap=_server(imap, "imap"),
        smtp=_server(s.get("smtp"), "smtp"),
        folders=folders or ("INBOX",),
        mark_read=bool(imap.get("mark_read", False)),
        auth=s.get("auth") if s.get("auth") in {"password", "oauth2"} else "password",
        oauth2_provider=oauth2.get("provider", "custom" if oauth2.get("token_url") else ""),
        oauth2_authorize_url=oauth2.get("authorize_url", ""),
        oauth2_token_url=oauth2.get("token_url", ""),
        oauth2_client_id=oauth2.get("client_id", ""),
        oauth2_scope=oauth2.get("scope", ""),
        from_name=s.get("from_name", ""),
        from_address=s.get("from_address", ""),
        signature=s.get("signature", ""),
        receiving_address=s.get("receiving_address", ""),
        reopen_days=int(reopen) if reopen not in (None, "") else None,
        auto_ack=bool(s.get("auto_ack", False)),
        auto_ack_text=s.get("auto_ack_text", ""),
        trusted_authserv_id=(s.get("trusted_authserv_id") or "").strip().lower(),
        business_domains=tuple(d.strip().lower() for d in s.get("business_domains") or [] if d.strip()),
        volume_limit=int(s.get("volume_limit") or 20),
        auto_limit=int(s.get("auto_limit") or 10),
        ack_limit=int(s.get("ack_limit") or 3),
    )


def receiving_address_for(public_key: str) -> str:
    return f"{public_key.lower()}@{django_settings.HOTRO_MAIL_DOMAIN}"


def _check_server(data: dict, kind: str, label: str) -> dict:
    host = str(data.get("host") or "").strip()
    if not host:
        return {}
    security = data.get("security") or "tls"
    if security not in SECURITY:
        raise ValidationError(_("%(label)s security must be tls, starttls or none.") % {"label": label})
    port = data.get("port") or DEFAULT_PORTS[kind][security]
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise ValidationError(_("%(label)s port must be a number between 1 and 65535.") % {"label": label})
    out = {
        "host": host,
        "port": port,
        "security": security,
        "username": str(data.get("username") or "").strip(),
    }
    if kind == "imap":
        folders = data.get("folders") or ["INBOX"]
        if isinstance(folders, str):
            folders = [f.strip() for f in folders.split(",")]
        out["folders"] = [f for f in folders if f] or ["INBOX"]
        out["mark_read"] = bool(data.get("mark_read", False))
    return out


def clean_settings(data: dict) -> tuple[dict, dict]:  # noqa: PLR0915 - one flat list of checks
    """Validate what an admin entered; returns ``(settings, credentials)``.  Raises ValidationError
    with a sentence saying what to fix.  Every server setting is optional (a forwarding-only inbox)."""
    data = dict(data or {})
    settings: dict = {}
    credentials: dict = {}
    imap = _check_server(data.get("imap") or {}, "imap", "IMAP")
    smtp = _check_server(data.get("smtp") or {}, "smtp", "SMTP")
    if imap:
        settings["imap"] = imap
    if smtp:
        settings["smtp"] = smtp
    auth = data.get("auth") or "password"
    if auth not in {"password", "oauth2"}:
        raise ValidationError(_("Sign-in must be password or oauth2."))
    settings["auth"] = auth
    oauth2 = data.get("oauth2") or {}
    if auth == "oauth2" or any(str(v or "").strip() for v in oauth2.values()):
        from .providers import clean_oauth2

        settings["oauth2"] = clean_oauth2(oauth2)
    for name in ("from_address",):
        value = str(data.get(name) or "").strip()
        if value:
            try:
                validate_email(value)
            except ValidationError:
                raise ValidationError(_("Enter a valid sender address, like support@example.com.")) from None
            settings[name] = value
    for name in ("from_name", "signature", "auto_ack_text", "trusted_authserv_id"):
        value = str(data.get(name) or "").strip()
        if value:
            settings[name] = value[:5000]
    reopen = data.get("reopen_days")
    if reopen not in (None, ""):
        try:
            reopen = int(reopen)
        except (TypeError, ValueError):
            reopen = -1
        if reopen < 0:
            raise ValidationError(_("Reopen days must be a whole number of days (0 or more), or empty."))
        settings["reopen_days"] = reopen
    settings["auto_ack"] = bool(data.get("auto_ack", False))
    domains = data.get("business_domains") or []
    if isinstance(domains, str):
        domains = domains.split(",")
    if domains:
        settings["business_domains"] = [d.strip().lower() for d in domains if d.strip()]
    for name in ("volume_limit", "auto_limit", "ack_limit"):
        if data.get(name) not in (None, ""):
            try:
                settings[name] = max(1, int(data[name]))
            except (TypeError, ValueError):
                raise ValidationError(_("Limits are whole numbers of messages per hour.")) from None
    for key in SECRET_KEYS:
        if data.get(key):
            credentials[key] = str(data[key])
    return settings, credentials
