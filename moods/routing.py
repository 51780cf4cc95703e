"""WebSocket routes."""

from django.urls import URLPattern, URLResolver, path

from moods.consumers import StreamConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/stream/", StreamConsumer.as_asgi()),
]
