"""Mounted at /comments/ (config/urls.py)."""

from django.urls import path

from . import moderation, public

app_name = "comments"

urlpatterns = [
    path("<str:public_key>.js", public.loader, name="loader"),
    path("api/<str:public_key>/session", public.session, name="session"),
    path("api/<str:public_key>/comments", public.comments, name="comments"),
    path("api/<str:public_key>/comments/<uuid:comment_id>/helpful", public.helpful, name="helpful"),
    path("manage/<slug:slug>/", moderation.moderation_list, name="manage"),
    path("manage/<slug:slug>/<uuid:comment_id>/", moderation.moderate, name="moderate"),
]
