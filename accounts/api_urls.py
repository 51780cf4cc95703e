"""The JSON API under ``/api/`` (see docs/protocol.md)."""

from django.urls import path

from accounts import api

app_name = "api"

urlpatterns = [
    path("pair/start", api.pair_start, name="pair_start"),
    path("pair/token", api.pair_token, name="pair_token"),
    path("device/revoke", api.device_revoke, name="device_revoke"),
    path("device/mode", api.device_mode, name="device_mode"),
]
