"""The history pages' range form: a day, week, month or year up to a day, or a custom range."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

RANGE_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
MAX_CUSTOM_DAYS = 366
EARLIEST = date(2000, 1, 1)
# The moments a URL may name (the timeline's cursor): far wider than any stored window, and far
# inside what datetime, the database and a time-zone conversion can hold (year 1 at +05:00 is
# before year 1 in UTC, which was a 500).
EARLIEST_MOMENT = datetime.combine(EARLIEST, time.min, tzinfo=UTC)
LATEST_MOMENT = datetime(2101, 1, 1, tzinfo=UTC)
MAX_MOMENT_LENGTH = 40


def parse_moment(raw: str) -> datetime | None:
    """An ISO 8601 moment with its offset, in UTC, between 2000 and 2100; None for anything else."""
    if not raw or len(raw) > MAX_MOMENT_LENGTH:
        return None
    try:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            return None
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return moment if EARLIEST_MOMENT <= moment < LATEST_MOMENT else None


def date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a whole date: day, month and year."},
    )


class HistoryRangeForm(forms.Form):
    """``range`` (day, week, month, year: the days up to ``end``; or custom: ``start``..``end``)."""

    range = forms.ChoiceField(
        label="Range",
        required=False,
        choices=[("day", "Day"), ("week", "Week"), ("month", "Month"), ("year", "Year"), ("custom", "Custom")],
        error_messages={"invalid_choice": "Choose day, week, month, year or custom."},
    )
    start = date_field("From")
    end = date_field("To")

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("range") or "week"
        end = data.get("end") or self.today
        if end < EARLIEST or end > self.today + timedelta(days=1):
            raise ValidationError("The range must end between 1 January 2000 and today.", code="end_out_of_range")
        if kind == "custom":
            start = data.get("start")
            if start is None:
                raise ValidationError("A custom range needs a start date.", code="start_missing")
            if start > end:
                raise ValidationError("The start date must not be after the end date.", code="start_after_end")
            if (end - start).days + 1 > MAX_CUSTOM_DAYS:
                raise ValidationError(f"A custom range covers at most {MAX_CUSTOM_DAYS} days.", code="too_long")
        else:
            start = end - timedelta(days=RANGE_DAYS[kind] - 1)
        data.update(range=kind, start=start, end=end)
        return data
