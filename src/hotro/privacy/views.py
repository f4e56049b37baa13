"""Privacy pages: the workspace's audit log (admins and owners)."""

from __future__ import annotations

import datetime
import json
import zoneinfo
from functools import wraps

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hotro.tenancy.access import require_role
from hotro.tenancy.models import Membership, Role, Workspace

from .audit import ACTIONS, find_chain_problems
from .models import AuditEvent
from .rls import system_scope, tenant_scope

PAGE_SIZE = 50


def workspace_member(role: str = Role.VIEWER):
    """View decorator for URLs with ``<slug:slug>``: resolve the acting member, check ``role``.

    Anonymous: to the login page.  Not an active member of that workspace (or no such workspace): 404.
    Role too low: 403.  The view runs as ``view(request, member, *args, **kwargs)`` inside
    ``tenant_scope`` of the workspace, and must render eagerly (``render``), not lazily.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            with system_scope():  # the workspace id is what the scope is made of
                workspace_id = Workspace.objects.filter(slug=slug).values_list("pk", flat=True).first()
            if workspace_id is None:
                raise Http404("No such workspace.")
            with tenant_scope(workspace_id):
                member = (
                    Membership.objects.select_related("user", "workspace")
                    .filter(workspace_id=workspace_id, user=request.user, is_active=True)
                    .first()
                )
                if member is None:
                    raise Http404("No such workspace.")
                require_role(member, role)
                return view(request, member, *args, **kwargs)

        return wrapper

    return decorate


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.TypedChoiceField(label=_("Person"), required=False, coerce=int, empty_value=None)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=64)
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All actions"))] + [(a, a) for a in ACTIONS]
        self.fields["actor"].choices = [("", _("Everyone"))] + [(m.user_id, str(m)) for m in members]

    def filter(self, events, tz):
        data = self.cleaned_data
        if data.get("action"):
            events = events.filter(action=data["action"])
        if data.get("actor") is not None:
            events = events.filter(actor_id=data["actor"])
        if data.get("date_from"):
            start = datetime.datetime.combine(data["date_from"], datetime.time.min, tzinfo=tz)
            events = events.filter(at__gte=start)
        if data.get("date_to"):
            end = datetime.datetime.combine(
                data["date_to"] + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
            )
            events = events.filter(at__lt=end)
        if data.get("object_type"):
            events = events.filter(object_type=data["object_type"])
        if data.get("object_id"):
            events = events.filter(object_id=data["object_id"])
        if data.get("before"):
            events = events.filter(seq__lt=data["before"])
        return events


@workspace_member(Role.ADMIN)
def audit_log(request, member):
    """The workspace's audit events, newest first, filtered; keyset pagination on ``seq``."""
    workspace = member.workspace
    try:
        tz = zoneinfo.ZoneInfo(workspace.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = datetime.UTC
    members = (
        Membership.objects.filter(workspace_id=workspace.pk).select_related("user").order_by("created_at")
    )
    form = AuditFilterForm(request.GET or None, members=members)
    events = AuditEvent.objects.filter(workspace_id=workspace.pk).select_related("actor").order_by("-seq")
    if form.is_bound and form.is_valid():
        events = form.filter(events, tz)
    elif form.is_bound:
        events = events.none()
    page = list(events[: PAGE_SIZE + 1])
    next_query = None
    if len(page) > PAGE_SIZE:
        page = page[:PAGE_SIZE]
        params = request.GET.copy()
        params["before"] = page[-1].seq
        next_query = params.urlencode()
    for event in page:
        event.data_json = json.dumps(event.data, ensure_ascii=False, sort_keys=True) if event.data else ""
    problems = find_chain_problems(workspace.pk)
    latest_seq = (
        AuditEvent.objects.filter(workspace_id=workspace.pk)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    with timezone.override(tz):
        return render(
            request,
            "privacy/audit_log.html",
            {
                "workspace": workspace,
                "member": member,
                "form": form,
                "events": page,
                "next_query": next_query,
                "chain_problem": problems[0] if problems else None,
                "latest_seq": latest_seq or 0,
                "is_first_page": not (form.is_bound and form.is_valid() and form.cleaned_data.get("before")),
            },
        )
