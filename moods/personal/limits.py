"""How many self-reports and corrections one person may store: 120 per 10 minutes, form and API together.

Each stored report is a row; without a limit a script (or a stuck button) could store thousands.
The count is per user, so the site's form, the history's corrections and the extension's
``POST /api/self-report`` share one budget (``self-report-user`` in ``SMILE_RATE_LIMITS``).
"""

from __future__ import annotations

from accounts.conf import rate
from common import ratelimit
from common.ratelimit import RateDecision


def hit_self_report(*, user_id: int) -> RateDecision:
    """Count one report about to be stored; refused past the limit."""
    return ratelimit.hit(rate("self-report-user"), str(user_id))
