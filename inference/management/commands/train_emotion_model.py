"""``manage.py train_emotion_model --data PATH --out DIR``: train the CNN (``inference.research.training``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.research import training


class Command(BaseCommand):
    help = (
        "Train the emotion CNN on FER-2013 (fer2013.csv, the image-folder release, the .npz files, or the GPU "
        "pack), on FER-2013 labels or FER+ votes. Training trains, PublicTest validates and selects the best "
        "epoch. Resumes from DIR/checkpoint if a previous run was interrupted. Writes the weights and a model "
        "card (JSON + Markdown) to DIR. The same trainer runs without Django: python -m inference.research.training."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        training.add_training_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            training.run_training(options, log=self.stdout.write)
        except training.TrainingError as exc:
            raise CommandError(str(exc)) from exc
