"""Settings the accounts app reads (their defaults live in ``smile_site/settings.py``), and the
built-in rate limits. Read on use, so tests can override them.

- ``SMILE_PAIRING_EXPIRES_SECONDS``: how long a pairing code stays usable.
- ``SMILE_PAIRING_INTERVAL_SECONDS``: the shortest polling interval a device starts with.
- ``SMILE_RATE_LIMITS``: overrides of the rates below, ``{"login-ip": "100/900"}`` meaning 100
  hits per 900 seconds.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from common.ratelimit import Rate

MINUTE = 60
HOUR = 60 * MINUTE

# name: (limit, window in seconds)
DEFAULT_RATES: dict[str, tuple[int, int]] = {
    "login-ip-email": (10, 15 * MINUTE),  # failed logins for one address from one network
    "login-ip": (50, 15 * MINUTE),  # failed logins from one network, any address
    # wrong current passwords typed by a signed-in person (changing the e-mail or password, deleting)
    "current-password-user": (10, 15 * MINUTE),
    "password-reset-ip": (5, HOUR),
    "password-reset-email": (3, HOUR),
    "signup-ip": (10, HOUR),
    "pair-start-ip": (10, 10 * MINUTE),
    # Polls of /api/pair/token. A device that waits its interval (5 s or more) polls at most 12
    # times a minute; the network's limit leaves room for several pairing at once.
    "pair-token-code": (20, MINUTE),
    "pair-token-ip": (600, 10 * MINUTE),
    "pair-code-user": (5, 10 * MINUTE),  # wrong pairing codes typed by one user
    "pair-code-ip": (5, 10 * MINUTE),  # wrong pairing codes typed from one network
    "export-user": (10, HOUR),  # data exports by one user (each reads the whole history)
    "device-api-ip": (120, 10 * MINUTE),  # bearer-token API calls (today's summary) from one network
    "self-report-user": (120, 10 * MINUTE),  # self-reports and corrections stored for one user, form or API
}


def rate(name: str) -> Rate:
    """The named rate: its default, or the override in ``SMILE_RATE_LIMITS``."""
    limit, window = DEFAULT_RATES[name]
    overrides: dict[str, str] = settings.SMILE_RATE_LIMITS
    if name in overrides:
        try:
            limit_text, window_text = overrides[name].split("/")
            limit, window = int(limit_text), int(window_text)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"SMILE_RATE_LIMITS[{name!r}] must look like '10/900' (hits/seconds), got {overrides[name]!r}"
            ) from exc
    return Rate(name=name, limit=limit, window_seconds=window)


def pairing_expires_seconds() -> int:
    return int(settings.SMILE_PAIRING_EXPIRES_SECONDS)


def pairing_interval_seconds() -> int:
    return int(settings.SMILE_PAIRING_INTERVAL_SECONDS)
