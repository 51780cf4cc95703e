"""Forms of the Your data page: export, and deleting a range of days or everything."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from moods.history.forms import EARLIEST, date_field


def check_days(start: date, end: date) -> None:
    """A range of local days both forms accept: in order, between 2000 and 2100."""
    if start > end:
        raise ValidationError("The first day must not be after the last day.", code="start_after_end")
    if start < EARLIEST or end > date(2100, 1, 1):
        raise ValidationError("Choose days between 2000 and 2100.", code="out_of_range")


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
    start = date_field("From")
    end = date_field("To")
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
        check_days(start, end)
        return data


class ExportForm(forms.Form):
    """Everything, or the local days ``start``..``end`` (inclusive) when both are given."""

    format = forms.ChoiceField(
        choices=[("csv", "CSV"), ("json", "JSON")],
        widget=forms.RadioSelect,
        initial="csv",
        error_messages={"required": "Choose CSV or JSON.", "invalid_choice": "Choose CSV or JSON."},
    )
    start = date_field("From")
    end = date_field("To")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Its own ids: the page's delete form has From and To fields too.
        kwargs.setdefault("auto_id", "id_export_%s")
        super().__init__(*args, **kwargs)
        # Shown above both days (templates/moods/data.html), so the two boxes line up.
        self.fields["start"].help_text = "Leave both days empty to export everything."

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if self.has_error("start") or self.has_error("end"):
            return data
        if (start is None) != (end is None):
            raise ValidationError(
                "Give both the first and the last day, or neither to export everything.", code="range_incomplete"
            )
        if start is not None and end is not None:
            check_days(start, end)
        return data
