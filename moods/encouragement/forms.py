"""The encouragement forms: the settings (the threshold and limits the rule reads) and the log's feedback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError

from moods.models import (
    COOLDOWN_MINUTES,
    DAILY_CAP,
    LOW_MOOD_DAYS,
    MAX_THRESHOLD,
    MIN_THRESHOLD,
    SUSTAIN_MINUTES,
    EncouragementSettings,
)

if TYPE_CHECKING:
    # django-stubs makes ModelForm generic; at run time Django's class takes no type argument.
    _EncouragementModelForm = forms.ModelForm[EncouragementSettings]
else:
    _EncouragementModelForm = forms.ModelForm

THRESHOLD_HELP = (
    "How sad your expression must look, on average, before a nudge: at 50% half of the expression "
    "read as sadness. Lower sends nudges sooner; higher only when sadness is strong."
)


def whole_number(*, label: str, bounds: tuple[int, int], unit: str, help_text: str) -> forms.IntegerField:
    """A bounded whole number whose errors say the same range as its help (not "≥ 0" from the model field)."""
    low, high = bounds
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
        bounds=SUSTAIN_MINUTES,
        unit="minutes",
        help_text="How long sadness must stay above the threshold ({}-{}).".format(*SUSTAIN_MINUTES),
    )
    cooldown_minutes = whole_number(
        label="At most one every (minutes)",
        bounds=COOLDOWN_MINUTES,
        unit="minutes",
        help_text="The quiet time after a nudge ({}-{}).".format(*COOLDOWN_MINUTES),
    )
    daily_cap = whole_number(
        label="At most per day",
        bounds=DAILY_CAP,
        unit="nudges",
        help_text="{}-{} nudges per day in your time zone.".format(*DAILY_CAP),
    )
    low_mood_days = whole_number(
        label="Low days before support resources",
        bounds=LOW_MOOD_DAYS,
        unit="days",
        help_text="Consecutive days with mean sadness at or above the threshold ({}-{}).".format(*LOW_MOOD_DAYS),
    )
    sadness_threshold = forms.FloatField(
        label="Sadness threshold",
        min_value=MIN_THRESHOLD,
        max_value=MAX_THRESHOLD,
        help_text=THRESHOLD_HELP,
        widget=forms.NumberInput(
            attrs={"type": "range", "min": f"{MIN_THRESHOLD:g}", "max": f"{MAX_THRESHOLD:g}", "step": "0.05"}
        ),
        error_messages={
            # Django %-formats these messages: %% is a percent sign.
            "min_value": f"The threshold must be at least {MIN_THRESHOLD:g} ({MIN_THRESHOLD:.0%}%).",
            "max_value": f"The threshold must be at most {MAX_THRESHOLD:g} ({MAX_THRESHOLD:.0%}%).",
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
            "messages": (
                "One per line, up to 4000 characters. They are mixed with the built-in ones "
                "and come about half of the time."
            ),
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


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Helpful"), ("no", "Not helpful")],
        coerce=lambda value: value == "yes",
        error_messages={"required": "Say whether it helped.", "invalid_choice": "Say whether it helped."},
    )
