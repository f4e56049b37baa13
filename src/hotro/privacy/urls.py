"""URL routes of hotro.privacy (included from config/urls.py at /privacy/)."""

from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("<slug:slug>/audit/", views.audit_log, name="audit_log"),
]
