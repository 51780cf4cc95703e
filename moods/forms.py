"""Forms of the moods pages: history range, settings, export, deleting data. Every field validated server-side."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError

from accounts.forms import time_zone_field
from moods.models import CaptureSettings, EncouragementSettings

if TYPE_CHECKING:
    # django-stubs makes ModelForm generic; at run time Django's class takes no type argument.
    _EncouragementModelForm = forms.ModelForm[EncouragementSettings]
    _CaptureModelForm = forms.ModelForm[CaptureSettings]
else:
    _EncouragementModelForm = _CaptureModelForm = forms.ModelForm

RANGE_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
MAX_CUSTOM_DAYS = 366
EARLIEST = date(2000, 1, 1)


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )


class HistoryRangeForm(forms.Form):
    """``range`` (day, week, month, year: the days up to ``end``; or custom: ``start``..``end``)."""

    range = forms.ChoiceField(
        label="Range",
        required=False,
        choices=[("day", "Day"), ("week", "Week"), ("month", "Month"), ("year", "Year"), ("custom", "Custom")],
        error_messages={"invalid_choice": "Choose day, week, month, year or custom."},
    )
    start = _date_field("From")
    end = _date_field("To")

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("range") or "week"
        end = data.get("end") or self.today
        if end < EARLIEST or end > self.today + timedelta(days=1):
            raise ValidationError("The range must end between 2000-01-01 and today.", code="end_out_of_range")
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


THRESHOLD_HELP = (
    "How sad your expression must look, on average, before a nudge: at 50% half of the expression "
    "read as sadness. Lower sends nudges sooner; higher only when sadness is strong."
)


def whole_number(*, label: str, low: int, high: int, unit: str, help_text: str) -> forms.IntegerField:
    """A bounded whole number whose errors say the same range as its help (not "≥ 0" from the model field)."""
    message = f"Enter a whole number of {unit} from {low} to {high}."
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        help_text=help_text,
        error_messages={"min_value": message, "max_value": message, "invalid": message, "required": message},
    )


class EncouragementForm(_EncouragementModelForm):
    sustain_minutes = whole_number(
        label="Sustained for (minutes)",
        low=1,
        high=240,
        unit="minutes",
        help_text="How long sadness must stay above the threshold (1-240).",
    )
    cooldown_minutes = whole_number(
        label="At most one every (minutes)",
        low=5,
        high=1440,
        unit="minutes",
        help_text="The quiet time after a nudge (5-1440).",
    )
    daily_cap = whole_number(
        label="At most per day", low=1, high=20, unit="nudges", help_text="1-20 nudges per day in your time zone."
    )
    low_mood_days = whole_number(
        label="Low days before support resources",
        low=2,
        high=14,
        unit="days",
        help_text="Consecutive days with mean sadness at or above the threshold (2-14).",
    )
    sadness_threshold = forms.FloatField(
        label="Sadness threshold",
        min_value=0.05,
        max_value=0.95,
        help_text=THRESHOLD_HELP,
        widget=forms.NumberInput(attrs={"type": "range", "min": "0.05", "max": "0.95", "step": "0.05"}),
        error_messages={
            "min_value": "The threshold must be at least 0.05 (5%%).",
            "max_value": "The threshold must be at most 0.95 (95%%).",
        },
    )

    class Meta:
        model = EncouragementSettings
        fields = (
            "enabled",
            "sadness_threshold",
            "sustain_minutes",
            "cooldown_minutes",
            "quiet_hours_start",
            "quiet_hours_end",
            "daily_cap",
            "messages",
            "support_resources_enabled",
            "low_mood_days",
            "resources_region",
        )
        labels: ClassVar[dict[str, Any]] = {
            "enabled": "Send me encouragements",
            "quiet_hours_start": "Quiet hours from",
            "quiet_hours_end": "Quiet hours until",
            "messages": "Your own messages",
            "support_resources_enabled": "Offer support resources after several low days",
            "resources_region": "Region for support resources",
        }
        help_texts: ClassVar[dict[str, Any]] = {
            "enabled": "Off by default. Nothing is sent unless you switch this on.",
            "quiet_hours_start": "In your time zone, as HH:MM. Leave both empty for no quiet hours.",
            "quiet_hours_end": "A time before the start wraps midnight (22:00 until 07:00).",
            "messages": "One per line, up to 4000 characters; empty uses the built-in messages.",
        }
        widgets: ClassVar[dict[str, Any]] = {
            "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "messages": forms.Textarea(attrs={"rows": 4, "maxlength": 4000}),
        }

    def clean_messages(self) -> str:
        messages: str = self.cleaned_data["messages"]
        for number, line in enumerate(messages.splitlines(), start=1):
            if len(line.strip()) > 280:
                raise ValidationError(f"Line {number} is longer than 280 characters.", code="message_too_long")
        return messages

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("quiet_hours_start"), data.get("quiet_hours_end")
        if (
            (start is None) != (end is None)
            and not self.has_error("quiet_hours_start")
            and not self.has_error("quiet_hours_end")
        ):
            raise ValidationError("Give both ends of the quiet hours, or neither.", code="quiet_hours_incomplete")
        if start is not None and start == end:
            self.add_error("quiet_hours_end", "Quiet hours must end at a different time than they start.")
        return data


class CaptureForm(_CaptureModelForm):
    fps = forms.FloatField(
        label="Frames per second",
        min_value=CaptureSettings.MIN_FPS,
        max_value=CaptureSettings.MAX_FPS,
        help_text="How often the extension looks: 0.2 (every 5 seconds) to 2 per second.",
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "0.2", "max": "2"}),
        error_messages={
            "min_value": "Frames per second must be at least 0.2.",
            "max_value": "Frames per second must be at most 2.",
        },
    )

    class Meta:
        model = CaptureSettings
        fields = ("fps", "resolution")
        labels: ClassVar[dict[str, Any]] = {"resolution": "Camera resolution"}
        help_texts: ClassVar[dict[str, Any]] = {
            "resolution": "Smaller is lighter on your computer and network; faces are found in both."
        }


class TimeZoneForm(forms.Form):
    time_zone = time_zone_field()


class DeleteRangeForm(forms.Form):
    """Delete mood events and encouragements of local days ``start``..``end`` (inclusive), or everything."""

    scope = forms.ChoiceField(
        choices=[("range", "A date range"), ("all", "Everything")],
        widget=forms.RadioSelect,
        label="What to delete",
        error_messages={
            "required": "Choose a date range or everything.",
            "invalid_choice": "Choose a date range or everything.",
        },
    )
    start = _date_field("From")
    end = _date_field("To")
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("scope") != "range":
            return data
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            if not self.has_error("start") and not self.has_error("end"):
                raise ValidationError("Give both the first and the last day to delete.", code="range_incomplete")
            return data
        if start > end:
            raise ValidationError("The first day must not be after the last day.", code="start_after_end")
        if start < EARLIEST or end > date(2100, 1, 1):
            raise ValidationError("Choose days between 2000 and 2100.", code="out_of_range")
        return data


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Helpful"), ("no", "Not helpful")],
        coerce=lambda value: value == "yes",
        error_messages={"required": "Say whether it helped.", "invalid_choice": "Say whether it helped."},
    )


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        choices=[("csv", "CSV"), ("json", "JSON")],
        widget=forms.RadioSelect,
        initial="csv",
        error_messages={"required": "Choose CSV or JSON.", "invalid_choice": "Choose CSV or JSON."},
    )
