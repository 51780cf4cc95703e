from django.contrib import admin
from django.urls import include, path

from smile_site.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/", include("smile_site.api_urls")),
    path("", include("accounts.device_urls")),
    path("", include("moods.urls")),
]
