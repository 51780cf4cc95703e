"""Test data builders shared by the test packages."""

from __future__ import annotations

from accounts import pairing, services
from accounts.models import Device, User

PASSWORD = "calm-river-sunrise-42"


def make_user(
    *, email: str = "ada@example.com", password: str = PASSWORD, display_name: str = "Ada", time_zone: str = "UTC"
) -> User:
    return services.register_user(email=email, password=password, display_name=display_name, time_zone=time_zone)


def pair_device(*, user: User, name: str = "Chrome on Ada's laptop") -> tuple[Device, str]:
    """A device paired through the whole flow (start, approve, poll); returns it and its access token."""
    request, device_code = pairing.start_pairing(device_name=name, ip="127.0.0.1")
    pairing.approve_pairing(request=request, user=user)
    result = pairing.poll_pairing(device_code=device_code)
    assert result.device is not None
    assert result.access_token is not None
    return result.device, result.access_token
