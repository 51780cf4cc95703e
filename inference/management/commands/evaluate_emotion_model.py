"""``manage.py evaluate_emotion_model --data PATH``: accuracy of the shipped (or given) weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.datasets import DatasetError, load_evaluation_data
from inference.emotions import EMOTIONS


def evaluate_path(data: Path, *, weights: Path, split: str | None = None) -> dict[str, Any]:
    """The evaluation report for the faces at ``data`` (see ``inference.evaluation.summarise``)."""
    from inference.evaluation import evaluate
    from inference.network import FaceScorer

    faces = load_evaluation_data(data, split=split)
    return evaluate(FaceScorer.from_weights(weights), faces)


class Command(BaseCommand):
    help = (
        "Evaluate the emotion model on labelled faces: a FER-2013 CSV (filter rows with --split, e.g. "
        "PublicTest), an .npz with images/labels, or a folder tree ROOT/<emotion>/*.(png|jpg|jpeg) whose "
        "folder names may be synonyms (anger, happiness, ...); other folders are skipped and listed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", type=Path, required=True)
        parser.add_argument("--split", help="only CSV rows whose Usage is this (Training, PublicTest, ...)")
        parser.add_argument("--weights", type=Path, help="weights file (default: the shipped weights)")
        parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else")

    def handle(self, *args: Any, **options: Any) -> None:
        weights = options["weights"] or Path(settings.SMILE_EMOTION_WEIGHTS)
        if not weights.is_file():
            raise CommandError(f"weights not found: {weights}")
        if not options["data"].exists():
            raise CommandError(f"data not found: {options['data']}")
        try:
            report = evaluate_path(options["data"], weights=weights, split=options["split"])
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"accuracy {report['accuracy']:.2%} on {report['n']} faces")
        for emotion in EMOTIONS:
            row = report["per_class"][emotion]
            self.stdout.write(f"  {emotion:<9} recall {row['recall']:.2%}  ({row['n']} faces)")
        if report["skipped"]:
            self.stdout.write(f"skipped folders: {', '.join(report['skipped'])}")
