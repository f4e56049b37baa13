"""Admin pages of an e-mail inbox: edit its settings, test its connection, release or discard
quarantined mail.  Admins and owners only; every change is audited (settings by
``update_email_inbox``, releases and discards by the e-mail channel's fraud module, with the actor)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from hotro.connectors.email.config import load_settings
from hotro.connectors.email.inboxes import access_email_inbox
from hotro.privacy import audit
from hotro.tenancy.access import access_object

from ..email_admin import check_connection, save_email_inbox
from ..email_forms import EmailInboxForm, initial_for
from .admin import _detail_page, admin_required


def _stored_passwords(inbox) -> set[str]:
    keys = ("imap_password", "smtp_password", "oauth2_client_secret")
    return {k for k in keys if (inbox.credentials or {}).get(k)}


@admin_required
@require_http_methods(["GET", "POST"])
def email_edit(request, slug, inbox_id):
    inbox = access_email_inbox(request.member, inbox_id)
    cfg = load_settings(inbox)
    form = EmailInboxForm(
        request.POST or None,
        initial=initial_for(inbox, cfg),
        stored_passwords=_stored_passwords(inbox),
        oauth2_provider=cfg.oauth2_provider,
    )
    if request.method == "POST" and form.is_valid():
        try:
            save_email_inbox(inbox, form.cleaned_data["name"], form.settings_data(), actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("The settings were saved."))
            return redirect("inbox_admin_detail", slug=slug, inbox_id=inbox.pk)
    return render(
        request,
        "inbox/admin/email_edit.html",
        {"form": form, "inbox": inbox, "section": "inboxes"},
    )


@admin_required
@require_POST
def email_test(request, slug, inbox_id):
    """Sign in to the inbox's servers now and show the result on its page (bounded timeouts)."""
    inbox = access_email_inbox(request.member, inbox_id)
    results = check_connection(inbox)
    return _detail_page(request, inbox, extra={"check_results": results})


@admin_required
@require_POST
def quarantine_release(request, slug, inbox_id, identity_id):
    """The admin vouches for a suspended sender: it becomes active and its held mail becomes
    conversations, oldest first."""
    from hotro.connectors.email.fraud import release
    from hotro.connectors.email.models import QuarantinedMail
    from hotro.contacts.models import ContactIdentity

    inbox = access_email_inbox(request.member, inbox_id)
    identity = access_object(request.member, ContactIdentity.objects.filter(channel="email"), identity_id)
    if not QuarantinedMail.objects.filter(inbox=inbox, identity=identity).exists():
        raise Http404("No mail of this sender in this inbox.")
    released = release(identity, actor=request.user)
    audit.record_request(
        request,
        request.member,
        "email.identity_released_by_admin",
        object_type="contact_identity",
        object_id=str(identity.pk),
        data={"inbox": str(inbox.pk), "released": released},
    )
    messages.success(
        request,
        ngettext(
            "The sender was released: %(count)d message became a conversation.",
            "The sender was released: %(count)d messages became conversations.",
            released,
        )
        % {"count": released},
    )
    return redirect("inbox_admin_detail", slug=slug, inbox_id=inbox.pk)


@admin_required
@require_POST
def quarantine_discard(request, slug, inbox_id, item_id):
    """The admin judged one held mail fraudulent: it never becomes a conversation."""
    from hotro.connectors.email.fraud import discard
    from hotro.connectors.email.models import QuarantinedMail

    inbox = access_email_inbox(request.member, inbox_id)
    item = access_object(request.member, QuarantinedMail.objects.filter(inbox=inbox), item_id)
    discard(item, actor=request.user)
    messages.success(request, _("The message was discarded."))
    return redirect("inbox_admin_detail", slug=slug, inbox_id=inbox.pk)
