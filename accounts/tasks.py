"""Periodic housekeeping for accounts, run by Celery beat (or by hand: ``purge_expired_pairings.delay()``)."""

from __future__ import annotations

from celery import shared_task

from accounts import pairing


@shared_task(name="accounts.purge_expired_pairings")
def purge_expired_pairings() -> int:
    """Delete pairing requests that expired more than a day ago; returns how many."""
    return pairing.purge_expired_pairings()
