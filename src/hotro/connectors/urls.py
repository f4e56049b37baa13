"""URL routes of hotro.connectors (mounted at /hooks/)."""

from django.urls import path

from . import views

app_name = "connectors"

urlpatterns = [
    path("<slug:connector>/<str:inbox_key>/", views.webhook, name="webhook"),
]
