from django.contrib import admin
from django.urls import include, path

from smile_site.health import healthz
from smile_site.metrics import metrics_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # 404 unless SMILE_DEBUG=1 (the embedded mode): production serves metrics on internal ports only.
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/", include("smile_site.api_urls")),
    path("", include("accounts.device_urls")),
    path("", include("moods.urls")),
]
