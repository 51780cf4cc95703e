"""``SelfReport.felt_at``: the moment a word speaks of. A correction's is its window's start, a self-report's
when it was made; existing rows get theirs from the window they correct (always recoverable: the link
to the window is kept, and a correction is deleted with its window)."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery


def file_under_the_moment(apps: Any, schema_editor: Any) -> None:
    SelfReport = apps.get_model("moods", "SelfReport")
    MoodEvent = apps.get_model("moods", "MoodEvent")
    SelfReport.objects.filter(event__isnull=True).update(felt_at=F("created_at"))
    window_start = MoodEvent.objects.filter(pk=OuterRef("event_id")).values("started_at")[:1]
    SelfReport.objects.filter(event__isnull=False).update(felt_at=Subquery(window_start))


def back_to_when_said(apps: Any, schema_editor: Any) -> None:
    """Nothing to undo: ``created_at`` was never changed."""


class Migration(migrations.Migration):
    dependencies = [("moods", "0005_mood_event_window_key")]

    operations = [
        migrations.AddField(model_name="selfreport", name="felt_at", field=models.DateTimeField(null=True)),
        migrations.RunPython(file_under_the_moment, back_to_when_said),
        migrations.AlterField(model_name="selfreport", name="felt_at", field=models.DateTimeField()),
        migrations.AlterModelOptions(name="selfreport", options={"ordering": ("-felt_at", "-id")}),
        migrations.RemoveIndex(model_name="selfreport", name="selfreport_user_created"),
        migrations.AddIndex(
            model_name="selfreport",
            index=models.Index(fields=["user", "felt_at"], name="selfreport_user_felt"),
        ),
    ]
