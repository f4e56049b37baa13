from django.urls import path

from . import views

app_name = "email_channel"

urlpatterns = [
    path("confirm/<str:token>/", views.confirm_view, name="confirm"),
]
