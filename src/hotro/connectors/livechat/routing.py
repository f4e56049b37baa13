from django.urls import path

from .consumers import VisitorConsumer

websocket_urlpatterns = [
    path("ws/widget/<str:public_key>/", VisitorConsumer.as_asgi()),
]
