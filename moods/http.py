"""What every signed-in page of moods needs from the request: the person, and their today."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User


def signed_in_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required ran first
    return user


def local_today(user: User) -> date:
    return timezone.now().astimezone(user.zone).date()
