"""Top-level pages for devices: ``/extension/`` (get it), ``/pair/`` (``verification_uri``), ``/devices/``."""

from django.urls import path

from accounts import device_views

urlpatterns = [
    path("extension/", device_views.get_extension, name="get_extension"),
    path("extension/smile-extension.zip", device_views.download_extension, name="download_extension"),
    path("pair/", device_views.pair, name="pair"),
    path("pair/decide/", device_views.pair_decide, name="pair_decide"),
    path("devices/", device_views.devices, name="devices"),
    path("devices/<int:device_id>/revoke/", device_views.device_revoke, name="device_revoke"),
    path("devices/<int:device_id>/mode/", device_views.device_mode, name="device_mode"),
]
