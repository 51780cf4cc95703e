"""Reads on accounts: devices and pairing requests, as views, consumers and commands need them."""

from __future__ import annotations

from django.db.models import F, QuerySet

from accounts.models import Device, PairingRequest, User
from accounts.tokens import hash_secret

# Longer strings cannot be one of our tokens (43 characters); refuse them before hashing.
MAX_TOKEN_LENGTH = 256


def device_for_token(*, token: str) -> Device | None:
    """The device holding ``token``, revoked or not, with its user; None for an unknown token.

    The stream tells a revoked token (close 4403) from an unknown one (4401) with this.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return Device.objects.select_related("user").filter(token_hash=hash_secret(token)).first()


def devices_for_user(*, user: User) -> QuerySet[Device]:
    """The user's devices: active ones newest first, then revoked ones, latest revocation first."""
    return Device.objects.filter(user=user).order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-id")


def pairing_request_for_user_code(*, user_code: str) -> PairingRequest | None:
    """The request a normalised user code names: the live one, else the latest that used it, else None."""
    requests = PairingRequest.objects.filter(user_code=user_code)
    return requests.filter(status__in=PairingRequest.LIVE_STATUSES).first() or requests.first()
