"""``manage.py baseline_reference --data FACES``: the population's neutral face for ``inference.baseline``.

Scores the neutral faces of FACES (any form ``evaluate_emotion_model`` reads) with the given
weights and prints ``POPULATION_NEUTRAL``: per expression, the upper quartile of the faces'
log-odds against neutral. Run it on FER-2013 PublicTest whenever the served model changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.baseline import NEUTRAL, population_reference
from inference.research.datasets import DatasetError, load_evaluation_data


class Command(BaseCommand):
    help = "Print the population's neutral face (POPULATION_NEUTRAL of inference/baseline.py) for some weights."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", type=Path, required=True)
        parser.add_argument("--split", help="only CSV rows whose Usage is this (e.g. PublicTest)")
        parser.add_argument(
            "--weights", type=Path, help="served .tflite file or Keras .weights.h5 (default: the served model)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from inference.serving import load_scorer  # loads the model's runtime

        weights = options["weights"] or Path(settings.SMILE_EMOTION_WEIGHTS)
        if not weights.is_file():
            raise CommandError(f"weights not found: {weights}")
        try:
            faces = load_evaluation_data(options["data"], split=options["split"])
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
        neutral = faces.images[faces.labels == NEUTRAL]
        if not len(neutral):
            raise CommandError(f"{options['data']}: no neutral faces")
        scores = load_scorer(weights).score(neutral)
        reference = population_reference(scores)
        read_neutral = int((scores.argmax(axis=1) == NEUTRAL).sum())
        self.stdout.write(
            json.dumps({"population_neutral": reference, "faces": len(neutral), "read_neutral": read_neutral})
        )
