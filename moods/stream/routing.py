"""The stream's WebSocket route."""

from django.urls import URLPattern, URLResolver, path

from moods.stream.consumer import StreamConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/stream/", StreamConsumer.as_asgi()),
]
