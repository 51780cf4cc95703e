"""Forms of the Settings page that belong to no capability of their own: capture defaults and time zone.

The encouragement settings' form lives with the rule it feeds, in ``moods.encouragement.forms``.
Every field validated server-side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django import forms

from accounts.forms import time_zone_field
from moods.models import MAX_FPS, MIN_FPS, CaptureSettings

if TYPE_CHECKING:
    # django-stubs makes ModelForm generic; at run time Django's class takes no type argument.
    _CaptureModelForm = forms.ModelForm[CaptureSettings]
else:
    _CaptureModelForm = forms.ModelForm


class CaptureForm(_CaptureModelForm):
    fps = forms.FloatField(
        label="Frames per second",
        min_value=MIN_FPS,
        max_value=MAX_FPS,
        help_text=(
            f"How often the extension looks: {MIN_FPS:g} (every {1 / MIN_FPS:g} seconds) to {MAX_FPS:g} per second."
        ),
        widget=forms.NumberInput(attrs={"step": "0.1", "min": f"{MIN_FPS:g}", "max": f"{MAX_FPS:g}"}),
        error_messages={
            "min_value": f"Frames per second must be at least {MIN_FPS:g}.",
            "max_value": f"Frames per second must be at most {MAX_FPS:g}.",
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
