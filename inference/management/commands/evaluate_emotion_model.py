"""``manage.py evaluate_emotion_model --data PATH``: accuracy of the shipped (or given) weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference import per_subject
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
        parser.add_argument(
            "--per-subject",
            action="store_true",
            help="ROOT/<subject>/<emotion>/ or an .npz with a subjects array: also score each face with the "
            "baseline of its subject's other neutral faces (see inference.per_subject)",
        )
        parser.add_argument("--images", default="images", help="with --per-subject, the .npz array of faces")

    def handle(self, *args: Any, **options: Any) -> None:
        weights = options["weights"] or Path(settings.SMILE_EMOTION_WEIGHTS)
        if not weights.is_file():
            raise CommandError(f"weights not found: {weights}")
        if not options["data"].exists():
            raise CommandError(f"data not found: {options['data']}")
        try:
            if options["per_subject"]:
                report = per_subject.evaluate_path(options["data"], weights=weights, images_key=options["images"])
            else:
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
        if "per_subject" in report:
            self.stdout.write(per_subject.describe(report["per_subject"]))
        if report["skipped"]:
            self.stdout.write(f"skipped folders: {', '.join(report['skipped'])}")
