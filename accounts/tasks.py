"""Periodic housekeeping for accounts, run by Celery beat (or by hand: ``purge_expired_pairings.delay()``)."""

from __future__ import annotations

from importlib import import_module

from celery import shared_task
from django.conf import settings

from accounts import pairing


@shared_task(name="accounts.purge_expired_pairings")
def purge_expired_pairings() -> int:
    """Delete pairing requests that expired more than a day ago; returns how many."""
    return pairing.purge_expired_pairings()


@shared_task(name="accounts.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Delete expired login sessions, as ``manage.py clearsessions`` does (the database backend keeps them)."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
