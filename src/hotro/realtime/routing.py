"""WebSocket routes (mounted by config/asgi.py behind AuthMiddlewareStack)."""

from django.urls import path

from .consumers import WorkspaceEventsConsumer

websocket_urlpatterns = [
    path("ws/w/<slug:slug>/", WorkspaceEventsConsumer.as_asgi()),
]

from hotro.connectors.livechat.routing import websocket_urlpatterns as livechat_routes  # noqa: E402

websocket_urlpatterns += livechat_routes
