"""Reads of the user's own word: their self-reports in a range, and how often the readings agreed with them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from moods.models import MoodEvent, SelfReport

# A self-report speaks for the window it falls in, or for one that ended this shortly before.
REPORT_REACH: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class Agreement:
    agreed: int
    compared: int

    @property
    def share(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


def self_reports(*, user_id: int, start: datetime, end: datetime) -> list[SelfReport]:
    """The user's self-reports and corrections about [start, end), newest first: a self-report made in it,
    a correction of a window that started in it (``SelfReport.felt_at``)."""
    return list(
        SelfReport.objects.filter(user_id=user_id, felt_at__gte=start, felt_at__lt=end)
        .select_related("event")
        .order_by("-felt_at", "-id")
    )


def _window_at(user_id: int, moment: datetime) -> MoodEvent | None:
    return (
        MoodEvent.objects.filter(user_id=user_id, started_at__lte=moment, ended_at__gte=moment - REPORT_REACH)
        .order_by("-started_at", "-id")
        .first()
    )


def agreement(*, user_id: int, start: datetime, end: datetime) -> Agreement:
    """How many of the range's self-reports the reading agreed with, of those with a reading to compare.

    A correction compares with the window it corrects; a self-report with the window it was made in
    (or one that ended up to ``REPORT_REACH`` before). "Uncertain" windows said nothing: not compared.
    """
    agreed = compared = 0
    for report in self_reports(user_id=user_id, start=start, end=end):
        window = report.event if report.event_id else _window_at(user_id, report.felt_at)
        if window is None or window.uncertain:
            continue
        compared += 1
        agreed += int(window.dominant == report.emotion)
    return Agreement(agreed=agreed, compared=compared)
