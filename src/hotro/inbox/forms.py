"""Forms of the agent inbox.  They only parse and validate input; views pass the result to ``check_*``."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hotro.conversations.models import Priority, Status
from hotro.tenancy.models import Membership, Team

MAX_FILES = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_FILES:
            raise ValidationError(_("Attach at most %(n)s files to one message.") % {"n": MAX_FILES})
        cleaned = [super(MultipleFileField, self).clean(f, initial) for f in files]
        for f in cleaned:
            if f.size > settings.HOTRO_MAX_UPLOAD_BYTES:
                raise ValidationError(
                    _("%(name)s is larger than %(mb)s MB; send a smaller file.")
                    % {"name": f.name, "mb": upload_limit_mb()}
                )
        return cleaned


def upload_limit_mb() -> str:
    """The attachment limit for people's uploads, in MB, as shown in the composer and in refusals."""
    return f"{settings.HOTRO_MAX_UPLOAD_BYTES / (1024 * 1024):g}"


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    files = MultipleFileField(label=_("Attachments"))
    visibility = forms.ChoiceField(
        label=_("Where to answer"),
        required=False,
        choices=[("public", _("Publish on the product page")), ("private", _("Reply privately (by e-mail)"))],
    )

    @property
    def public(self) -> bool:
        return self.cleaned_data.get("visibility") == "public"

    def attachments(self) -> list[tuple[str, str, bytes]]:
        return [
            (f.name, f.content_type or "application/octet-stream", f.read())
            for f in self.cleaned_data["files"]
        ]


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=Membership.objects.none(), required=False, empty_label=_("Unassigned"), label=_("Agent")
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label=_("No team"), label=_("Team")
    )

    def __init__(self, *args, workspace_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = (
            Membership.objects.filter(
                workspace_id=workspace_id, is_active=True, role__in=["owner", "admin", "agent"]
            )
            .select_related("user")
            .order_by("display_name", "user__email")
        )
        self.fields["team"].queryset = Team.objects.filter(workspace_id=workspace_id).order_by("name")
        self.fields["assignee"].label_from_instance = member_label
        self.fields["assignee"].error_messages["invalid_choice"] = _("Choose an agent of this workspace.")
        self.fields["team"].error_messages["invalid_choice"] = _("Choose a team of this workspace.")


def member_label(member: Membership) -> str:
    return member.display_name or member.user.email or member.user.get_username()


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (Status.OPEN, _("Open")),
            (Status.PENDING, _("Pending")),
            (Status.RESOLVED, _("Resolved")),
            (Status.SNOOZED, _("Snoozed")),
        ],
    )
    snooze_until = forms.DateTimeField(
        label=_("Snooze until"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean(self):
        data = super().clean()
        if data.get("snooze_until") and self.data.get("status") in (None, ""):
            data["status"] = Status.SNOOZED
        if data.get("status") == Status.SNOOZED and not data.get("snooze_until"):
            raise ValidationError(_("Choose a date and time to snooze until."))
        until = data.get("snooze_until")
        if until is not None and timezone.is_naive(until):
            data["snooze_until"] = timezone.make_aware(until)  # the workspace's zone is active
        return data


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)


class TagsForm(forms.Form):
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=1000, help_text=_("Separate tags with commas.")
    )

    def names(self) -> list[str]:
        return [t for t in (p.strip() for p in self.cleaned_data["tags"].split(",")) if t]


class MergeForm(forms.Form):
    number = forms.IntegerField(
        label=_("Merge into conversation number"),
        min_value=1,
        error_messages={
            "required": _("Enter the number of the conversation to merge into."),
            "invalid": _("Enter a conversation number such as 42."),
        },
    )


class MoveForm(forms.Form):
    inbox = forms.UUIDField(
        label=_("Move to inbox"),
        error_messages={
            "required": _("Choose an inbox to move the conversation to."),
            "invalid": _("Choose an inbox to move the conversation to."),
        },
    )


class ApiInboxForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    webhook_url = forms.URLField(
        label=_("Webhook URL"),
        required=False,
        assume_scheme="https",
        help_text=_("Where hotro sends agents' replies (HTTPS). Leave empty to fetch them through the API."),
    )
