"""Forms of the "connect a channel" page for the web widgets (live chat, product comments).

They only parse input; the channel's own ``create_*_inbox`` validates origins, colours and hours and
answers a bad value with a sentence, which the view shows under the field it concerns."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

DAYS = [
    ("mon", _("Mon")),
    ("tue", _("Tue")),
    ("wed", _("Wed")),
    ("thu", _("Thu")),
    ("fri", _("Fri")),
    ("sat", _("Sat")),
    ("sun", _("Sun")),
]
ORIGINS_HELP = _("One per line, such as https://shop.example (https://*.shop.example for every sub-domain).")


def origin_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class WidgetInboxForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    allowed_origins = forms.CharField(
        label=_("Web sites allowed to show it"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://shop.example"}),
        help_text=ORIGINS_HELP,
    )

    def clean_allowed_origins(self) -> str:
        from hotro.connectors.widget.origins import clean_allowed_origins

        text = self.cleaned_data["allowed_origins"]
        if not clean_allowed_origins(origin_lines(text)):  # raises a sentence for a bad origin
            raise forms.ValidationError(_("Name at least one web site, such as https://shop.example."))
        return text

    def origins(self) -> list[str]:
        return origin_lines(self.cleaned_data["allowed_origins"])


class LivechatInboxForm(WidgetInboxForm):
    color = forms.CharField(
        label=_("Brand colour"),
        initial="#0f766e",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    greeting_vi = forms.CharField(label=_("Greeting (Vietnamese)"), max_length=300, required=False)
    greeting_en = forms.CharField(label=_("Greeting (English)"), max_length=300, required=False)
    hours_days = forms.MultipleChoiceField(
        label=_("Business days"),
        choices=DAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave empty to show the chat as online at all times."),
    )
    hours_open = forms.TimeField(
        label=_("Opens at"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    hours_close = forms.TimeField(
        label=_("Closes at"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    hours_timezone = forms.CharField(
        label=_("Time zone"), initial="Asia/Ho_Chi_Minh", max_length=64, required=False
    )

    def clean(self):
        data = super().clean()
        if data.get("hours_days") and not (data.get("hours_open") and data.get("hours_close")):
            raise forms.ValidationError(_("Choose the opening and closing times of the business days."))
        return data

    def options(self) -> dict:
        data = self.cleaned_data
        options = {
            "color": data["color"],
            "greeting": {k: v for k, v in (("vi", data["greeting_vi"]), ("en", data["greeting_en"])) if v},
        }
        if data.get("hours_days"):
            span = [data["hours_open"].strftime("%H:%M"), data["hours_close"].strftime("%H:%M")]
            options["business_hours"] = {
                "timezone": data.get("hours_timezone") or "Asia/Ho_Chi_Minh",
                "days": {day: [span] for day in data["hours_days"]},
            }
        return options


class CommentsInboxForm(WidgetInboxForm):
    moderation = forms.ChoiceField(
        label=_("Moderation"),
        choices=[
            ("pending", _("An admin approves every comment before it is shown")),
            ("publish", _("Publish at once (suspected spam still waits)")),
            ("publish_verified", _("Publish at once for visitors your site verified")),
        ],
        initial="pending",
    )
    comments_to_inbox = forms.BooleanField(
        label=_("Also turn plain comments (not only questions) into conversations"), required=False
    )
