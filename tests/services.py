"""Skip, or fail, tests whose outside service (browser, Postgres, Redis, ...) is missing.

Locally a missing service skips its tests. CI sets ``SMILE_REQUIRE_SERVICES=1``: there every
service must be up, so a missing one fails the run instead of silently skipping tests.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def services_required() -> bool:
    """Whether this run demands every outside service (``SMILE_REQUIRE_SERVICES=1``)."""
    return os.environ.get("SMILE_REQUIRE_SERVICES") == "1"


def require_service(name: str, reason: str) -> NoReturn:
    """Skip the current test because ``name`` is unavailable, or fail it when services are required."""
    if services_required():
        pytest.fail(f"{name} is required (SMILE_REQUIRE_SERVICES=1) but unavailable: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")
