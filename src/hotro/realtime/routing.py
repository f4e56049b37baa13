"""WebSocket routes (filled by hotro.realtime.consumers)."""

websocket_urlpatterns: list = []
