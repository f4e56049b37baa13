"""URL routes of hotro.inbox (included from config/urls.py at "/"): the agent app under /w/<slug>/."""

from django.urls import include, path

from hotro.connectors.email.urls import admin_urlpatterns as email_oauth_urls

from .views import actions, admin, email, files, mentions, pages

W = "w/<slug:slug>/"
C = W + "c/<int:number>/"
A = W + "admin/inboxes/"

urlpatterns = [
    path("", pages.root, name="inbox_root"),
    path(W, pages.conversation_list, name="inbox_list"),
    path(W + "rows/", pages.list_rows, name="inbox_rows"),
    path(W + "counts/", pages.view_counts, name="inbox_counts"),
    path(W + "mentions/", mentions.mention_suggestions, name="inbox_mentions"),
    path(C, pages.conversation_view, name="inbox_conversation"),
    path(C + "pane/", pages.conversation_pane, name="inbox_pane"),
    path(C + "reply/", actions.reply, name="inbox_reply"),
    path(C + "note/", actions.note, name="inbox_note"),
    path(C + "assign/", actions.assign, name="inbox_assign"),
    path(C + "assign-me/", actions.assign_me, name="inbox_assign_me"),
    path(C + "status/", actions.change_status, name="inbox_status"),
    path(C + "priority/", actions.set_priority, name="inbox_priority"),
    path(C + "tags/", actions.set_tags, name="inbox_tags"),
    path(C + "merge/", actions.merge, name="inbox_merge"),
    path(C + "move/", actions.move, name="inbox_move"),
    path(C + "contact/reveal/", actions.reveal_contact, name="inbox_reveal_contact"),
    path(W + "deliveries/<uuid:delivery_id>/retry/", actions.retry_delivery, name="inbox_retry_delivery"),
    path(W + "attachments/<uuid:attachment_id>/", files.attachment_download, name="inbox_attachment"),
    path(A, admin.inbox_list, name="inbox_admin_list"),
    path(A + "new/", admin.inbox_create, name="inbox_admin_create"),
    path(A + "<uuid:inbox_id>/", admin.inbox_detail, name="inbox_admin_detail"),
    path(
        A + "<uuid:inbox_id>/events/<uuid:event_id>/retry/",
        admin.raw_event_retry,
        name="inbox_admin_event_retry",
    ),
    path(
        A + "<uuid:inbox_id>/deliveries/<uuid:delivery_id>/retry/",
        admin.delivery_retry,
        name="inbox_admin_delivery_retry",
    ),
    path(A + "<uuid:inbox_id>/email/", email.email_edit, name="inbox_admin_email_edit"),
    path(A + "<uuid:inbox_id>/email/test/", email.email_test, name="inbox_admin_email_test"),
    path(A + "<uuid:inbox_id>/email/oauth/", include(email_oauth_urls)),  # Connect with Google / Microsoft
    path(
        A + "<uuid:inbox_id>/quarantine/senders/<uuid:identity_id>/release/",
        email.quarantine_release,
        name="inbox_admin_quarantine_release",
    ),
    path(
        A + "<uuid:inbox_id>/quarantine/<uuid:item_id>/discard/",
        email.quarantine_discard,
        name="inbox_admin_quarantine_discard",
    ),
]
