from django.urls import path

from . import views

app_name = "email_channel"

urlpatterns = [
    path("confirm/<str:token>/", views.confirm_view, name="confirm"),
    # the redirect URI admins register with their OAuth2 provider (same origin as the admin pages)
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
]

# An e-mail inbox's OAuth2 pages, included by hotro.inbox under /w/<slug>/admin/inboxes/<id>/email/oauth/
admin_urlpatterns = [
    path("", views.oauth_page, name="inbox_admin_email_oauth"),
    path("connect/", views.oauth_connect, name="inbox_admin_email_oauth_connect"),
    path("disconnect/", views.oauth_disconnect, name="inbox_admin_email_oauth_disconnect"),
]
