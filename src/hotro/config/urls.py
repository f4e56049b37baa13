"""Wiring only: each area owns its own urls.py."""

from django.urls import include, path

from hotro.config.health import healthz

handler400 = "hotro.config.limits.handler400"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("api/", include("hotro.api.urls")),
    path("hooks/", include("hotro.connectors.urls")),
    path("privacy/", include("hotro.privacy.urls")),
    path("mail/", include("hotro.connectors.email.urls")),
    path("settings/", include("hotro.tenancy.urls")),
    path("widget/", include("hotro.connectors.livechat.urls")),
    path("comments/", include("hotro.connectors.comments.urls")),
    path("", include("hotro.accounts.urls")),
    path("", include("hotro.inbox.urls")),
]
