"""Test data builders shared by the test packages."""

from __future__ import annotations

from accounts import services
from accounts.models import User

PASSWORD = "calm-river-sunrise-42"


def make_user(
    *, email: str = "ada@example.com", password: str = PASSWORD, display_name: str = "Ada", time_zone: str = "UTC"
) -> User:
    return services.register_user(email=email, password=password, display_name=display_name, time_zone=time_zone)
