"""``manage.py average_emotion_models --data PATH --out DIR WEIGHTS WEIGHTS...``: a weight soup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.network import Lighting
from inference.research.datasets import DatasetError, describe_training_data, load_training_data


class Command(BaseCommand):
    help = (
        "Average the weights of emotion CNNs fine-tuned from the same weights (e.g. with different "
        "--seed), recompute batch norm on the training faces, and write whichever of the average and "
        "the given runs validates best on PublicTest to DIR, with its model card."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("weights", nargs="+", type=Path, help="two or more .weights.h5 files of this network")
        parser.add_argument("--data", type=Path, required=True, help="fer2013.csv, a folder, or a packed .npz(.xz)")
        parser.add_argument("--out", type=Path, required=True, help="output folder for weights and model card")
        parser.add_argument(
            "--lighting", metavar="MEAN:MIN_STD", help="the runs were trained with train_emotion_model --lighting"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from inference.research.weight_soup import SoupError, average_models

        try:
            lighting = Lighting.parse(options["lighting"]) if options["lighting"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        try:
            train_set, val_set = load_training_data(options["data"])
        except (DatasetError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        try:
            average_models(
                options["weights"],
                train_set,
                val_set,
                options["out"],
                data_description=describe_training_data(options["data"]),
                lighting=lighting,
                log=self.stdout.write,
            )
        except SoupError as exc:
            raise CommandError(str(exc)) from exc
