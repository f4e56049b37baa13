"""The admin form of an e-mail inbox (create and edit).

It only parses input into the shape ``create_email_inbox`` / ``update_email_inbox`` take; the e-mail
channel's ``clean_settings`` validates it and answers a bad value with a sentence.  Every server
setting is optional: a name alone makes a forwarding-only inbox.  Passwords (and the OAuth2 client
secret) are write-only: the form never shows them, and a blank one on edit keeps the stored one.
The OAuth2 fields are for a provider other than the Google and Microsoft presets (or the admin's own
client); connecting itself happens on the inbox's "Mailbox sign-in" page.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

SECURITY_CHOICES = [
    ("tls", _("TLS (port 993 / 465)")),
    ("starttls", _("STARTTLS (port 143 / 587)")),
    ("none", _("None (only inside a trusted network)")),
]
PASSWORD_WIDGET = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
CUSTOM_OAUTH2_KEYS = ("authorize_url", "token_url", "client_id", "scope")
OAUTH2_FIELDS = (
    "oauth2_authorize_url",
    "oauth2_token_url",
    "oauth2_client_id",
    "oauth2_client_secret",
    "oauth2_scope",
)


class EmailInboxForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    from_name = forms.CharField(label=_("Sender name"), max_length=200, required=False)
    from_address = forms.EmailField(
        label=_("Sender address"),
        required=False,
        help_text=_("Replies come from this address, such as support@shop.example."),
    )
    signature = forms.CharField(
        label=_("Signature"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    imap_host = forms.CharField(
        label=_("IMAP server"),
        max_length=255,
        required=False,
        help_text=_("Leave empty for a forwarding-only inbox."),
    )
    imap_port = forms.IntegerField(label=_("IMAP port"), required=False, min_value=1, max_value=65535)
    imap_security = forms.ChoiceField(label=_("IMAP security"), choices=SECURITY_CHOICES, initial="tls")
    imap_username = forms.CharField(label=_("IMAP user name"), max_length=255, required=False)
    imap_password = forms.CharField(
        label=_("IMAP password"), required=False, strip=False, widget=PASSWORD_WIDGET
    )
    imap_folders = forms.CharField(
        label=_("Folders"),
        initial="INBOX",
        required=False,
        help_text=_("Separated by commas; the first one is watched for new mail at once."),
    )
    imap_mark_read = forms.BooleanField(label=_("Mark fetched mail as read"), required=False)
    smtp_host = forms.CharField(
        label=_("SMTP server"),
        max_length=255,
        required=False,
        help_text=_("Leave empty to send replies through hotro's own mail server."),
    )
    smtp_port = forms.IntegerField(label=_("SMTP port"), required=False, min_value=1, max_value=65535)
    smtp_security = forms.ChoiceField(label=_("SMTP security"), choices=SECURITY_CHOICES, initial="starttls")
    smtp_username = forms.CharField(label=_("SMTP user name"), max_length=255, required=False)
    smtp_password = forms.CharField(
        label=_("SMTP password"), required=False, strip=False, widget=PASSWORD_WIDGET
    )
    oauth2_authorize_url = forms.CharField(
        label=_("Authorization address"),
        max_length=2000,
        required=False,
        help_text=_(
            "Only for another provider, or your own OAuth client: Connect with Google or Microsoft "
            "needs nothing here. Parameters in the address (such as access_type=offline) are kept."
        ),
    )
    oauth2_token_url = forms.CharField(label=_("Token address"), max_length=2000, required=False)
    oauth2_client_id = forms.CharField(label=_("Client id"), max_length=500, required=False)
    oauth2_client_secret = forms.CharField(
        label=_("Client secret"), required=False, strip=False, widget=PASSWORD_WIDGET
    )
    oauth2_scope = forms.CharField(
        label=_("Scope"),
        max_length=1000,
        required=False,
        help_text=_("Separated by spaces; include offline access and, for the address, openid email."),
    )
    reopen_days = forms.IntegerField(
        label=_("New conversation after (days)"),
        required=False,
        min_value=0,
        help_text=_(
            "Mail to a resolved conversation reopens it; with a number, mail arriving that many days "
            "after it was resolved starts a new conversation instead. Empty: always reopen."
        ),
    )
    auto_ack = forms.BooleanField(label=_("Acknowledge new requests automatically"), required=False)
    auto_ack_text = forms.CharField(
        label=_("Acknowledgement text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("{number} is replaced by the conversation number. Empty: a standard text."),
    )

    SECTIONS = (
        (_("Identity"), ("name", "from_name", "from_address", "signature")),
        (
            _("Incoming mail (IMAP)"),
            (
                "imap_host",
                "imap_port",
                "imap_security",
                "imap_username",
                "imap_password",
                "imap_folders",
                "imap_mark_read",
            ),
        ),
        (
            _("Outgoing mail (SMTP)"),
            ("smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password"),
        ),
        (
            _("OAuth2 sign-in with another provider"),
            OAUTH2_FIELDS,
        ),
        (_("Conversations"), ("reopen_days", "auto_ack", "auto_ack_text")),
    )

    def __init__(self, *args, stored_passwords: set[str] | None = None, oauth2_provider: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.oauth2_provider = oauth2_provider  # how the stored inbox is connected ("" for a new one)
        for key in stored_passwords or ():
            if key == "oauth2_client_secret":
                self.fields[key].help_text = _("A client secret is stored. Leave empty to keep it.")
            else:
                self.fields[key].help_text = _("A password is stored. Leave empty to keep it.")

    def sections(self):
        """(title, [bound fields]) per fieldset, for the template."""
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def settings_data(self) -> dict:
        """What ``create_email_inbox`` / ``update_email_inbox`` take (the name apart)."""
        data = self.cleaned_data
        out: dict = {
            key: data[key] for key in ("from_name", "from_address", "signature", "auto_ack", "auto_ack_text")
        }
        out["reopen_days"] = data["reopen_days"]
        if data["imap_host"].strip():
            out["imap"] = {
                "host": data["imap_host"],
                "port": data["imap_port"],
                "security": data["imap_security"],
                "username": data["imap_username"],
                "folders": [f.strip() for f in (data["imap_folders"] or "INBOX").split(",") if f.strip()],
                "mark_read": data["imap_mark_read"],
            }
        if data["smtp_host"].strip():
            out["smtp"] = {
                "host": data["smtp_host"],
                "port": data["smtp_port"],
                "security": data["smtp_security"],
                "username": data["smtp_username"],
            }
        custom = {key: (data[f"oauth2_{key}"] or "").strip() for key in CUSTOM_OAUTH2_KEYS}
        if any(custom.values()):
            out["oauth2"] = {"provider": "custom", **custom}
        elif self.oauth2_provider == "custom":
            out["oauth2"] = None  # emptied: removed (refused while the inbox signs in with OAuth2)
        # else: a Google / Microsoft connection's settings are kept as they are
        for key in ("imap_password", "smtp_password", "oauth2_client_secret"):
            if data[key]:
                out[key] = data[key]
        return out


def initial_for(inbox, cfg=None) -> dict:
    """The form's initial values from a stored inbox (never its passwords); ``cfg`` is its
    ``load_settings`` when the caller has it already."""
    from hotro.connectors.email.config import load_settings

    cfg = cfg or load_settings(inbox)
    imap = (inbox.settings or {}).get("imap") or {}
    smtp = (inbox.settings or {}).get("smtp") or {}
    oauth2 = (inbox.settings or {}).get("oauth2") or {}
    custom = oauth2 if cfg.oauth2_provider == "custom" else {}
    return {
        **{f"oauth2_{key}": custom.get(key, "") for key in CUSTOM_OAUTH2_KEYS},
        "name": inbox.name,
        "from_name": cfg.from_name,
        "from_address": cfg.from_address,
        "signature": cfg.signature,
        "imap_host": imap.get("host", ""),
        "imap_port": imap.get("port") or None,
        "imap_security": imap.get("security") or "tls",
        "imap_username": imap.get("username", ""),
        "imap_folders": ", ".join(cfg.folders),
        "imap_mark_read": cfg.mark_read,
        "smtp_host": smtp.get("host", ""),
        "smtp_port": smtp.get("port") or None,
        "smtp_security": smtp.get("security") or "starttls",
        "smtp_username": smtp.get("username", ""),
        "reopen_days": cfg.reopen_days,
        "auto_ack": cfg.auto_ack,
        "auto_ack_text": cfg.auto_ack_text,
    }
