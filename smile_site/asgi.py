"""ASGI entry point: HTTP through Django, WebSocket through Channels (served by daphne)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")

# Django must be set up before anything imports models (consumers, auth middleware).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from common.jsonlog import RequestIds  # noqa: E402
from common.origins import ExactOriginValidator, allowed_origins, same_host_policy  # noqa: E402
from moods.stream.routing import websocket_urlpatterns  # noqa: E402
from smile_site.metrics import start_web_metrics  # noqa: E402

# Each daphne serves its own /metrics on SMILE_METRICS_ADDRESS (internal; docs/operations.md).
start_web_metrics()

# In development daphne serves /static/ itself (as runserver does); in production nginx serves it.
http_app = RequestIds(ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": ExactOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
            allowed_origins(site_origins=settings.SMILE_SITE_ORIGINS, extension_ids=settings.SMILE_EXTENSION_IDS),
            same_host=same_host_policy(),
        ),
    }
)
