from django.urls import path, re_path

from . import views

app_name = "livechat"

urlpatterns = [
    re_path(r"^(?P<public_key>[A-Za-z0-9_-]{1,32})\.js$", views.loader, name="loader"),
    path("agent/typing/<uuid:conversation_id>", views.agent_typing, name="agent_typing"),
    path("<str:public_key>/frame/", views.frame, name="frame"),
    path("<str:public_key>/session", views.session, name="session"),
    path("<str:public_key>/history", views.history_view, name="history"),
    path("<str:public_key>/messages", views.send_message, name="messages"),
    path("<str:public_key>/prechat", views.prechat, name="prechat"),
    path("<str:public_key>/csat", views.csat, name="csat"),
    path("<str:public_key>/signal", views.signal, name="signal"),
    path("<str:public_key>/poll", views.poll, name="poll"),
    path("<str:public_key>/files/<uuid:attachment_id>", views.attachment, name="attachment"),
]
