"""The user's own word: "How do you feel?" and "that's not right"."""

from __future__ import annotations

from django import forms

from moods.models import SELF_REPORT_NOTE_MAX, Emotion


class SelfReportForm(forms.Form):
    emotion = forms.ChoiceField(
        choices=[("", "Choose…"), *Emotion.choices],
        # The forms offer an empty first choice so that nobody "feels angry" by default: say so plainly.
        error_messages={
            "required": "Choose what you felt: angry, disgust, fear, happy, sad, surprise or neutral.",
            "invalid_choice": "Choose one of: angry, disgust, fear, happy, sad, surprise, neutral.",
        },
    )
    note = forms.CharField(
        required=False,
        max_length=SELF_REPORT_NOTE_MAX,
        strip=True,
        error_messages={"max_length": f"Keep the note to {SELF_REPORT_NOTE_MAX} characters or fewer."},
    )
