"""The encouragement log's feedback form."""

from __future__ import annotations

from django import forms


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Helpful"), ("no", "Not helpful")],
        coerce=lambda value: value == "yes",
        error_messages={"required": "Say whether it helped.", "invalid_choice": "Say whether it helped."},
    )
