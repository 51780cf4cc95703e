"""The JSON API under ``/api/``, every endpoint in one map (``docs/protocol.md``); the views stay in their apps."""

from django.urls import path

from accounts import api as accounts_api
from moods.history import api as history_api
from moods.personal import api as personal_api

app_name = "api"

urlpatterns = [
    path("pair/start", accounts_api.pair_start, name="pair_start"),
    path("pair/token", accounts_api.pair_token, name="pair_token"),
    path("device/revoke", accounts_api.device_revoke, name="device_revoke"),
    path("device/mode", accounts_api.device_mode, name="device_mode"),
    path("summary/today", history_api.summary_today, name="summary_today"),
    path("self-report", personal_api.self_report, name="self_report"),
]
