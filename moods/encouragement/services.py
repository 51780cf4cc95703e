"""Writes for encouragements: the rule applied after a window is stored, the nudge logged, feedback.

Logs name users by id: no scores, no messages.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from moods.encouragement import selectors
from moods.encouragement.rule import RECENT_MESSAGES, choose_message, decide, with_support
from moods.models import Encouragement, EncouragementSettings

logger = logging.getLogger(__name__)

# The encouragement log the rule needs: the cooldown, and the user's local day (at most 25 hours).
LOCAL_DAY_REACH = timedelta(hours=26)


def get_or_create_settings(*, user: User) -> EncouragementSettings:
    """The user's encouragement settings, created with the defaults (encouragements off) on first use."""
    row, _ = EncouragementSettings.objects.get_or_create(user=user)
    return row


def save_settings(*, user: User, row: EncouragementSettings) -> None:
    """Validate and save the user's encouragement settings (the Settings page saves it with the rest)."""
    row.user = user
    row.full_clean()
    row.save()


def maybe_encourage(*, user_id: int, now: datetime) -> Encouragement | None:
    """Apply the encouragement rule at ``now`` and, when it fires, log and return the new ``Encouragement``.

    The caller sends it to the user's streams after this returns, that is after the commit.
    """
    with transaction.atomic():
        # The row lock serialises two streams of one user closing windows at the same moment.
        row = (
            EncouragementSettings.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user_id=user_id)
            .first()
        )
        if row is None or not row.enabled:
            return None
        rules = selectors.rule_settings(row)
        tz = row.user.zone
        windows = selectors.recent_windows(
            user_id=user_id, since=now - timedelta(minutes=rules.sustain_minutes), until=now
        )
        log = selectors.encouragement_times(
            user_id=user_id, since=now - max(timedelta(minutes=rules.cooldown_minutes), LOCAL_DAY_REACH)
        )
        decision = decide(now=now, settings_snapshot=rules, recent_windows=windows, log=log, user_tz=tz)
        if not decision.send:
            logger.debug("no encouragement for user %s: %s", user_id, decision.reason)
            return None
        if rules.support_resources_enabled:
            today = now.astimezone(tz).date()
            daily = selectors.daily_sadness(
                user_id=user_id, tz=tz, first_day=today - timedelta(days=rules.low_mood_days - 1), last_day=today
            )
            decision = with_support(decision, rules=rules, daily_sadness=daily, today=today)
        trigger = decision.trigger(rules)
        if decision.with_resources:
            trigger["region"] = row.resources_region
        return Encouragement.objects.create(
            user_id=user_id,
            sent_at=now,
            message=choose_message(
                own_messages=row.own_messages,
                recent_messages=selectors.recent_messages(user_id=user_id, limit=RECENT_MESSAGES),
            ),
            trigger=trigger,
            includes_resources=decision.with_resources,
        )


def record_feedback(*, user_id: int, encouragement_id: int, helpful: bool) -> Encouragement:
    """Record (or change) the user's feedback on one of their encouragements.

    Raises ``Encouragement.DoesNotExist`` for an unknown id and for another user's, alike.
    """
    encouragement = Encouragement.objects.get(pk=encouragement_id, user_id=user_id)
    encouragement.feedback = Encouragement.Feedback.HELPFUL if helpful else Encouragement.Feedback.NOT_HELPFUL
    encouragement.feedback_at = timezone.now()
    encouragement.save(update_fields=["feedback", "feedback_at"])
    return encouragement
