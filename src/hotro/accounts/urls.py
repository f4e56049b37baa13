"""URL routes of hotro.accounts at the site root (allauth itself is mounted at ``/accounts/``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("invite/<str:token>/", views.accept_invitation, name="invitation_accept"),
    path("i18n/setlang/", views.set_language, name="set_language"),
]
