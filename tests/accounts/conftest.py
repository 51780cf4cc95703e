"""Fixtures for the accounts tests: a user, a logged-in client, and a clock that only moves when told to."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tests.factories import make_user


class Clock:
    """Stands in for ``django.utils.timezone.now``: frozen at ``now`` until ``advance`` moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


@pytest.fixture
def user() -> User:
    return make_user()


@pytest.fixture
def browser(client: Client, user: User) -> Client:
    """The test client, logged in as ``user``."""
    client.force_login(user)
    return client
