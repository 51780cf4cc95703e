"""Top-level pages for devices: ``/pair/`` (what ``verification_uri`` points at) and ``/devices/``."""

from django.urls import path

from accounts import device_views

urlpatterns = [
    path("pair/", device_views.pair, name="pair"),
    path("pair/decide/", device_views.pair_decide, name="pair_decide"),
    path("devices/", device_views.devices, name="devices"),
    path("devices/<int:device_id>/revoke/", device_views.device_revoke, name="device_revoke"),
    path("devices/<int:device_id>/mode/", device_views.device_mode, name="device_mode"),
]
