"""WebSocket routes (the stream consumer arrives with the streaming work)."""

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
