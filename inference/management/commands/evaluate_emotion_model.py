"""``manage.py evaluate_emotion_model --data PATH``: accuracy and calibration of the served (or given) model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.emotions import EMOTIONS
from inference.research import per_subject
from inference.research.datasets import DatasetError, load_evaluation_data
from inference.research.evaluation import LABEL_SOURCES
from inference.research.ferplus import FerPlusError, ferplus_path_for, load_votes
from inference.research.photos import describe as describe_photos
from inference.research.photos import evaluate_photos, is_photo_folder


def evaluate_path(data: Path, *, weights: Path, split: str | None = None, labels: str = "fer2013") -> dict[str, Any]:
    """The evaluation report for the faces at ``data`` (see ``inference.research.evaluation.report_scores``)."""
    from inference.research.evaluation import report_scores
    from inference.serving import load_scorer

    faces = load_evaluation_data(data, split=split)
    ferplus = None
    if labels == "ferplus":
        ferplus = load_votes(ferplus_path_for(data), expected_rows=len(faces)).labels
    scores = load_scorer(weights).score(faces.images)
    return report_scores(scores, faces.labels, ferplus, faces.skipped)


class Command(BaseCommand):
    help = (
        "Evaluate the emotion model on labelled faces: a FER-2013 CSV (filter rows with --split, e.g. "
        "PublicTest), an .npz with images/labels, or a folder tree ROOT/<emotion>/*.(png|jpg|jpeg) whose "
        "folder names may be synonyms (anger, happiness, ...); other folders are skipped and listed. "
        "--labels ferplus scores against the FER+ raters' majority (ferplus_<split>.npz beside "
        "fer2013_<split>.npz; faces without a majority among the seven classes are left out) and "
        "reports the FER-2013-label accuracy beside it. A folder with a labels.json (a list of "
        "{file, emotion, person}) holds whole photos of people: each is read through the stream's frame "
        "path (decode, BlazeFace, crop, served model), with per-person figures."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", type=Path, required=True)
        parser.add_argument("--split", help="only CSV rows whose Usage is this (Training, PublicTest, ...)")
        parser.add_argument(
            "--weights", type=Path, help="served .tflite file or Keras .weights.h5 (default: the served model)"
        )
        parser.add_argument("--labels", choices=LABEL_SOURCES, default="fer2013", help="which labels to score against")
        parser.add_argument("--plot", type=Path, help="write a reliability diagram (PNG) to this file")
        parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
        parser.add_argument(
            "--per-subject",
            action="store_true",
            help="ROOT/<subject>/<emotion>/ or an .npz with a subjects array: also score each face with the "
            "baseline of its subject's other neutral faces (see inference.research.per_subject)",
        )
        parser.add_argument(
            "--crop-margin",
            type=float,
            help="for a folder of whole photos (labels.json), crop this margin around the face box instead of the "
            "served one (a fraction of the box, 0 to 0.5)",
        )
        parser.add_argument("--images", default="images", help="with --per-subject, the .npz array of faces")
        parser.add_argument(
            "--feature-statistics",
            type=Path,
            metavar="KERAS_WEIGHTS",
            help="with --per-subject, also read each face with its subject's other faces' feature statistics "
            "(the last batch norm re-estimated; see inference.research.feature_statistics), using these .weights.h5",
        )
        parser.add_argument(
            "--neutral-share",
            type=float,
            help="with --feature-statistics, the share of the statistics' weight the neutral faces get "
            "(default: each face weighs the same)",
        )
        parser.add_argument(
            "--balance",
            action="store_true",
            help="with --feature-statistics, balance the statistics' weights by the model's own reading of the "
            "faces, as a stream without labels could (after --neutral-share, which then stands for the day's mix)",
        )

    @staticmethod
    def feature_statistics(options: dict[str, Any]) -> per_subject.FeatureStatistics | None:
        keras_weights, share, balance = options["feature_statistics"], options["neutral_share"], options["balance"]
        if keras_weights is None:
            if share is not None:
                raise CommandError("--neutral-share needs --feature-statistics")
            if balance:
                raise CommandError("--balance needs --feature-statistics")
            return None
        if not options["per_subject"]:
            raise CommandError("--feature-statistics needs --per-subject: the statistics are each person's own")
        if not keras_weights.name.endswith(".weights.h5") or not keras_weights.is_file():
            raise CommandError(
                f"--feature-statistics takes one network's Keras .weights.h5 (the served model's is "
                f"inference/weights/emotion_cnn.weights.h5); got {keras_weights}"
            )
        if share is not None and not 0.0 < share < 1.0:
            raise CommandError(f"--neutral-share must lie strictly between 0 and 1; got {share}")
        return per_subject.FeatureStatistics(keras_weights=keras_weights, neutral_share=share, balance=balance)

    def handle(self, *args: Any, **options: Any) -> None:
        weights = options["weights"] or Path(settings.SMILE_EMOTION_WEIGHTS)
        if not weights.is_file():
            raise CommandError(f"weights not found: {weights}")
        if not options["data"].exists():
            raise CommandError(f"data not found: {options['data']}")
        feature_statistics = self.feature_statistics(options)
        margin = options["crop_margin"]
        if margin is not None and not 0.0 <= margin <= 0.5:
            raise CommandError(f"--crop-margin must lie between 0 and 0.5; got {margin}")
        if is_photo_folder(options["data"]):
            self.handle_photos(options, weights=weights, with_features=feature_statistics is not None)
            return
        if margin is not None:
            raise CommandError("--crop-margin needs a folder of whole photos with a labels.json")
        try:
            if options["per_subject"]:
                report = per_subject.evaluate_path(
                    options["data"],
                    weights=weights,
                    images_key=options["images"],
                    feature_statistics=feature_statistics,
                )
            else:
                report = evaluate_path(
                    options["data"], weights=weights, split=options["split"], labels=options["labels"]
                )
        except (DatasetError, FerPlusError) as exc:
            raise CommandError(str(exc)) from exc
        if options["plot"]:
            from inference.research.calibration import draw_reliability_diagram

            draw_reliability_diagram(
                report["reliability"],
                options["plot"],
                title=f"{weights.name} on {options['data'].name}, {report['labels']} labels: ECE {report['ece']:.2%}",
            )
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        labels = "FER+ majority" if report["labels"] == "ferplus" else "FER-2013 labels"
        self.stdout.write(f"accuracy {report['accuracy']:.2%} on {report['n']} faces ({labels})")
        if "fer2013" in report:
            self.stdout.write(
                f"FER-2013-label accuracy {report['fer2013']['accuracy']:.2%} on {report['fer2013']['n']} faces"
            )
        self.stdout.write(f"expected calibration error {report['ece']:.2%} (15 bins)")
        for emotion in EMOTIONS:
            row = report["per_class"][emotion]
            self.stdout.write(f"  {emotion:<9} recall {row['recall']:.2%}  ({row['n']} faces)")
        if "per_subject" in report:
            self.stdout.write(per_subject.describe(report["per_subject"]))
        if report["skipped"]:
            self.stdout.write(f"skipped folders: {', '.join(report['skipped'])}")

    def handle_photos(self, options: dict[str, Any], *, weights: Path, with_features: bool) -> None:
        if with_features:
            raise CommandError("--feature-statistics reads registered faces, not whole photos")
        if options["plot"]:
            raise CommandError("--plot is for FER-style faces; whole photos report their ECE only")
        try:
            report = evaluate_photos(
                options["data"], weights=weights, crop_margin=options["crop_margin"], per_subject=options["per_subject"]
            )
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        for line in describe_photos(report):
            self.stdout.write(line)
        if "per_subject" in report:
            self.stdout.write(per_subject.describe(report["per_subject"]))
