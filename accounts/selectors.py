"""Reads on accounts: devices and pairing requests, as views and commands need them (tokens: ``device_auth``)."""

from __future__ import annotations

from django.db.models import F, QuerySet

from accounts.models import Device, PairingRequest, User


def devices_for_user(*, user: User) -> QuerySet[Device]:
    """The user's devices: active ones newest first, then revoked ones, latest revocation first."""
    return Device.objects.filter(user=user).order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-id")


def pairing_request_for_user_code(*, user_code: str) -> PairingRequest | None:
    """The request a normalised user code names: the live one, else the latest that used it, else None."""
    requests = PairingRequest.objects.filter(user_code=user_code)
    return requests.filter(status__in=PairingRequest.LIVE_STATUSES).first() or requests.first()
