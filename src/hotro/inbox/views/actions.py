"""Small POST views: each validates a form, calls one ``check_*`` action and answers with the live
part of the conversation (htmx) or a redirect back to the conversation (no JavaScript).

Refusals are sentences: a ``ValidationError`` is shown above the thread (422 for htmx, a message after
the redirect otherwise); ``AccessDenied`` answers 403 with the reason.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hotro.connectors.models import Delivery
from hotro.conversations import actions
from hotro.privacy import masking
from hotro.tenancy.access import (
    AccessDenied,
    access_conversation_by_number,
    access_inbox,
    access_object,
    require_writer,
)
from hotro.tenancy.middleware import forbidden, member_required

from ..forms import AssignForm, MergeForm, MoveForm, NoteForm, PriorityForm, ReplyForm, StatusForm, TagsForm
from ..listing import Filters
from .common import conversation_url, is_htmx
from .pages import pane_context, remember_reveal, render_conversation


def form_errors(form) -> list[str]:
    return [str(error) for errors in form.errors.values() for error in errors]


def respond(request, conversation, errors=(), status=None):
    """The outcome of an action, for htmx (the live pane) or a plain form post (a redirect)."""
    errors = [str(e) for e in errors]
    if is_htmx(request):
        conversation.refresh_from_db()
        response = render(
            request,
            "inbox/_pane.html",
            pane_context(request, conversation, errors=errors),
            status=status or (422 if errors else 200),
        )
        response["X-Hotro-Outcome"] = "error" if errors else "ok"
        return response
    if errors:  # a form posted without JavaScript: the page again, the refusal above the thread
        conversation.refresh_from_db()
        return render_conversation(request, conversation, errors=errors, status=status or 422)
    qs = Filters.from_query(request.GET).querystring()
    return redirect(conversation_url(request.workspace.slug, conversation.number, qs))


def conversation_action(view):
    """POST only; loads ``conversation`` by number (404 in other workspaces); turns refusals into
    sentences.  The wrapped view returns a response or None (success: answer with the pane)."""

    @member_required()
    @require_POST
    @wraps(view)
    def wrapped(request, slug, number):
        conversation = access_conversation_by_number(request.member, number)
        try:
            response = view(request, conversation)
        except AccessDenied as exc:
            message = str(exc) if exc.args else _("Your role does not allow this.")
            if is_htmx(request):
                return respond(request, conversation, [message], status=403)
            return forbidden(request, message)
        except ValidationError as exc:
            return respond(request, conversation, exc.messages)
        return response or respond(request, conversation)

    return wrapped


class FormInvalid(ValidationError):
    def __init__(self, form):
        super().__init__(form_errors(form) or [_("Check the form and try again.")])


def bound(form_class, request, **kwargs):
    form = form_class(request.POST, request.FILES, **kwargs)
    if not form.is_valid():
        raise FormInvalid(form)
    return form


@conversation_action
def reply(request, conversation):
    form = bound(ReplyForm, request)
    actions.check_send_reply(
        request.member, conversation, form.cleaned_data["text"], form.attachments(), public=form.public
    )


@conversation_action
def note(request, conversation):
    form = bound(NoteForm, request)
    actions.check_add_note(request.member, conversation, form.cleaned_data["text"])


@conversation_action
def assign(request, conversation):
    require_writer(request.member)
    form = bound(AssignForm, request, workspace_id=request.member.workspace_id)
    actions.check_assign(
        request.member,
        conversation,
        assignee=form.cleaned_data["assignee"],
        team=form.cleaned_data["team"],
        set_team="team" in request.POST,
    )


@conversation_action
def assign_me(request, conversation):
    actions.check_assign(request.member, conversation, assignee=request.member)


@conversation_action
def change_status(request, conversation):
    form = bound(StatusForm, request)
    actions.check_change_status(
        request.member,
        conversation,
        form.cleaned_data["status"],
        snooze_until=form.cleaned_data["snooze_until"],
    )


@conversation_action
def set_priority(request, conversation):
    form = bound(PriorityForm, request)
    actions.check_set_priority(request.member, conversation, form.cleaned_data["priority"])


@conversation_action
def set_tags(request, conversation):
    form = bound(TagsForm, request)
    actions.check_set_tags(request.member, conversation, form.names())


@conversation_action
def merge(request, conversation):
    require_writer(request.member)
    form = bound(MergeForm, request)
    number = form.cleaned_data["number"]
    try:
        target = access_conversation_by_number(request.member, number)
    except Http404:
        raise ValidationError(
            _("There is no conversation #%(n)s in this workspace. Check the number.") % {"n": number}
        ) from None
    actions.check_merge(request.member, conversation, target)
    url = conversation_url(
        request.workspace.slug, target.number, Filters.from_query(request.GET).querystring()
    )
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    messages.success(request, _("Merged into #%(n)s.") % {"n": target.number})
    return redirect(url)


@conversation_action
def move(request, conversation):
    require_writer(request.member)
    form = bound(MoveForm, request)
    try:
        inbox = access_inbox(request.member, form.cleaned_data["inbox"])
    except Http404:
        raise ValidationError(_("Choose an inbox of this workspace.")) from None
    actions.check_move(request.member, conversation, inbox)


@conversation_action
def reveal_contact(request, conversation):
    """A viewer shows the contact's details: recorded in the audit log, kept for a few minutes."""
    contact = conversation.contact
    if masking.sees_plaintext(request.member):
        return None  # nothing is masked for agents and up
    masking.do_reveal_contact(request.member, contact, request=request)
    remember_reveal(request, contact.pk)
    return None


@member_required()
@require_POST
def retry_delivery(request, slug, delivery_id):
    """Send a failed outbound message again (agents and up)."""
    from hotro.connectors.outbox import retry_delivery as do_retry

    delivery = access_object(
        request.member, Delivery.objects.select_related("message__conversation"), delivery_id
    )
    conversation = delivery.message.conversation
    try:
        require_writer(request.member)
    except AccessDenied as exc:
        return forbidden(request, str(exc))
    errors = []
    if not do_retry(str(delivery.pk)):
        errors.append(_("This message is already being sent or was sent; there is nothing to retry."))
    conversation = access_conversation_by_number(request.member, conversation.number)
    return respond(request, conversation, errors, status=409 if errors else None)
