"""``manage.py train_emotion_model --data PATH --out DIR``: train the CNN on FER-2013."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.research.datasets import DatasetError, LabeledFaces, describe_training_data, load_training_data
from inference.research.ferplus import FerPlusError, load_votes, mix_in_labels, soft_targets
from inference.research.training import AUGMENTATIONS, TARGETS, TrainingConfig


def ferplus_sets(
    data: Path, train_set: LabeledFaces, val_set: LabeledFaces, fer2013_weight: float
) -> tuple[LabeledFaces, LabeledFaces, np.ndarray]:
    """Training faces with usable votes and their vote distributions (with ``fer2013_weight`` of
    their FER-2013 label mixed in); validation faces with a FER+ majority."""
    if not data.is_dir():
        raise CommandError("--targets ferplus needs --data to be the folder with fer2013_*.npz and ferplus_*.npz")
    try:
        train_votes = load_votes(data / "ferplus_Training.npz", expected_rows=len(train_set))
        val_votes = load_votes(data / "ferplus_PublicTest.npz", expected_rows=len(val_set))
    except FerPlusError as exc:
        raise CommandError(str(exc)) from exc
    targets, keep = soft_targets(train_votes.votes)
    targets = mix_in_labels(targets, train_set.labels, fer2013_weight)
    majority = val_votes.labels >= 0
    return (
        LabeledFaces(train_set.images[keep], targets[keep].argmax(axis=1).astype(np.uint8)),
        LabeledFaces(val_set.images[majority], val_votes.labels[majority].astype(np.uint8)),
        targets[keep],
    )


class Command(BaseCommand):
    help = (
        "Train the emotion CNN on FER-2013 (fer2013.csv, the image-folder release, or the .npz files). "
        "Training trains, PublicTest validates and selects the best epoch. Resumes from DIR/checkpoint "
        "if a previous run was interrupted. Writes the weights and a model card (JSON + Markdown) to DIR."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = TrainingConfig()
        parser.add_argument("--data", type=Path, required=True, help="fer2013.csv, a folder, or a packed .npz(.xz)")
        parser.add_argument("--out", type=Path, required=True, help="output folder for weights and model card")
        parser.add_argument("--epochs", type=int, default=defaults.epochs)
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
        parser.add_argument("--learning-rate", type=float, default=defaults.peak_learning_rate)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--warmup-epochs", type=int, default=defaults.warmup_epochs)
        parser.add_argument(
            "--augmentation",
            choices=AUGMENTATIONS,
            default=defaults.augmentation,
            help="full (default), or light: flips and crops only, for a last fine-tuning",
        )
        parser.add_argument(
            "--targets",
            choices=TARGETS,
            default=defaults.targets,
            help="fer2013: the FER-2013 labels (default); ferplus: the FER+ raters' vote distributions "
            "(needs ferplus_*.npz beside the fer2013_*.npz files; validates against the FER+ majority)",
        )
        parser.add_argument(
            "--fer2013-weight",
            type=float,
            default=defaults.fer2013_weight,
            help="with --targets ferplus: the share of each face's FER-2013 label mixed into its votes (0-1)",
        )
        parser.add_argument(
            "--label-smoothing",
            type=float,
            help=f"default {defaults.label_smoothing} with --targets fer2013, 0 with ferplus (votes are soft already)",
        )
        parser.add_argument(
            "--init-weights",
            type=Path,
            help="start from these weights (e.g. the shipped ones) and run the schedule again: fine-tuning",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from inference.research.training import train

        if options["epochs"] < 1 or options["batch_size"] < 1 or options["warmup_epochs"] < 0:
            raise CommandError("--epochs and --batch-size must be positive, --warmup-epochs not negative")
        init_weights = options["init_weights"]
        if init_weights is not None and not init_weights.is_file():
            raise CommandError(f"--init-weights: no such file: {init_weights}")
        fer2013_weight = options["fer2013_weight"]
        if fer2013_weight and options["targets"] != "ferplus":
            raise CommandError("--fer2013-weight mixes labels into the votes: it needs --targets ferplus")
        if not 0.0 <= fer2013_weight <= 1.0:
            raise CommandError(f"--fer2013-weight must be between 0 and 1, not {fer2013_weight}")
        try:
            train_set, val_set = load_training_data(options["data"])
        except (DatasetError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        targets = None
        if options["targets"] == "ferplus":
            train_set, val_set, targets = ferplus_sets(options["data"], train_set, val_set, fer2013_weight)
        smoothing = options["label_smoothing"]
        if smoothing is None:
            smoothing = 0.0 if options["targets"] == "ferplus" else TrainingConfig().label_smoothing
        self.stdout.write(f"training on {len(train_set)} faces, validating on {len(val_set)}")
        config = TrainingConfig(
            epochs=options["epochs"],
            batch_size=options["batch_size"],
            peak_learning_rate=options["learning_rate"],
            seed=options["seed"],
            warmup_epochs=options["warmup_epochs"],
            augmentation=options["augmentation"],
            init_weights=str(init_weights or ""),
            targets=options["targets"],
            fer2013_weight=fer2013_weight,
            label_smoothing=smoothing,
        )
        try:
            train(
                train_set,
                val_set,
                options["out"],
                config=config,
                data_description=describe_training_data(options["data"]),
                log=self.stdout.write,
                targets=targets,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
