"""Training the emotion CNN on FER-2013 (called by ``manage.py train_emotion_model``).

Plain functions, no Django: the command is a thin wrapper, and the tests call ``train``
directly on a tiny generated set.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.emotions import EMOTIONS
from inference.research.datasets import LabeledFaces

WEIGHTS_NAME = "emotion_cnn.weights.h5"
BEST_NAME = "best.weights.h5"
CARD_JSON = "model_card.json"
CARD_MARKDOWN = "MODEL_CARD.md"


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 48
    batch_size: int = 128
    peak_learning_rate: float = 1.5e-3
    warmup_epochs: int = 2
    weight_decay: float = 0.02
    label_smoothing: float = 0.1
    # Class weights are (max_count / count) ** power: 0.5 lifts the rare disgust class
    # without trading away much overall accuracy (1.0 would fully balance).
    class_weight_power: float = 0.5
    # The weights of the last quarter of the epochs are averaged (SWA); the average is shipped
    # when it validates better than the best single epoch.
    average_last_fraction: float = 0.25
    seed: int = 2013
    # "full": flips, rotation, zoom, brightness, contrast, random crop and random erasing;
    # "light": flips and the random crop only, for the last fine-tuning of a trained model,
    # which then fits the real (unerased, unwarped) faces more closely.
    augmentation: str = "full"
    # Weights to start from instead of a fresh initialisation: a warm restart of the schedule
    # on a trained model (fine-tuning), recorded in the model card.
    init_weights: str = ""
    # "fer2013": one-hot FER-2013 labels; "ferplus": the FER+ raters' vote distributions (soft
    # targets, ``inference.research.ferplus``), validated against the FER+ majority.
    targets: str = "fer2013"
    # With "ferplus" targets: the share of each face's FER-2013 label mixed into its votes
    # (``inference.research.ferplus.mix_in_labels``).
    fer2013_weight: float = 0.0

    @property
    def first_averaged_epoch(self) -> int:
        """1-based epoch from which weights are averaged."""
        return self.epochs - max(1, round(self.epochs * self.average_last_fraction)) + 1


def class_weights(labels: np.ndarray, power: float) -> np.ndarray:
    """One weight per class, normalised so the mean weight over the samples is 1."""
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(np.float64)
    weights = np.where(counts > 0, (counts.max() / np.maximum(counts, 1)) ** power, 0.0)
    return weights / float((weights[labels]).mean())


AUGMENTATIONS = ("full", "light")


def _augment_batch(images: Any, generator: Any, layers: Any, *, erase: bool) -> Any:
    """Random geometry and photometry, a random 40x40 crop and random erasing (in tf.data)."""
    import tensorflow as tf

    from inference.network import INPUT_SIZE

    x = layers(images, training=True)
    x = tf.image.random_crop(x, [tf.shape(x)[0], INPUT_SIZE, INPUT_SIZE, 1], seed=None)
    if not erase:
        return x
    # Random erasing: with probability 1/2 a rectangle of 2-20% of the face is set to noise.
    n = tf.shape(x)[0]
    area = generator.uniform([n], 0.02, 0.2) * INPUT_SIZE * INPUT_SIZE
    ratio = tf.exp(generator.uniform([n], math.log(0.3), math.log(3.3)))
    h = tf.clip_by_value(tf.sqrt(area * ratio), 1.0, INPUT_SIZE - 1.0)
    w = tf.clip_by_value(tf.sqrt(area / ratio), 1.0, INPUT_SIZE - 1.0)
    top = generator.uniform([n]) * (INPUT_SIZE - h)
    left = generator.uniform([n]) * (INPUT_SIZE - w)
    grid = tf.range(INPUT_SIZE, dtype=tf.float32)
    rows = (grid[None, :] >= top[:, None]) & (grid[None, :] < (top + h)[:, None])
    cols = (grid[None, :] >= left[:, None]) & (grid[None, :] < (left + w)[:, None])
    chosen = generator.uniform([n]) < 0.5
    mask = rows[:, :, None] & cols[:, None, :] & chosen[:, None, None]
    noise = generator.uniform(tf.shape(x), 0.0, 255.0)
    return tf.where(mask[..., None], noise, x)


TARGETS = ("fer2013", "ferplus")


def build_datasets(
    train: LabeledFaces, val: LabeledFaces, config: TrainingConfig, targets: np.ndarray | None = None
) -> tuple[Any, Any]:
    """``targets`` (N, 7), rows summing to 1, replace the one-hot labels (FER+ vote distributions)."""
    import keras
    import tensorflow as tf

    from inference.network import centre_crop

    x_train = train.images.astype(np.float32)[..., np.newaxis]
    if targets is None:
        weights = class_weights(train.labels, config.class_weight_power).astype(np.float32)
        y_train = keras.utils.to_categorical(train.labels, len(EMOTIONS))
        w_train = weights[train.labels]
    else:
        # The vote distributions already say how ambiguous each face is; weighting classes on
        # top of them lowered the agreement with the raters' majority, so every face counts once.
        y_train = targets.astype(np.float32)
        w_train = np.ones(len(targets), dtype=np.float32)
    if config.augmentation not in AUGMENTATIONS:
        raise ValueError(f"augmentation must be one of {', '.join(AUGMENTATIONS)}, not {config.augmentation!r}")
    full = config.augmentation == "full"
    geometry = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=config.seed),
            *(
                [
                    keras.layers.RandomRotation(10 / 360, fill_mode="reflect", seed=config.seed + 1),
                    keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=config.seed + 2),
                    keras.layers.RandomBrightness(0.2, value_range=(0.0, 255.0), seed=config.seed + 3),
                    keras.layers.RandomContrast(0.25, value_range=(0.0, 255.0), seed=config.seed + 4),
                ]
                if full
                else []
            ),
        ]
    )
    generator = tf.random.Generator.from_seed(config.seed)
    training = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train, w_train))
        .shuffle(len(x_train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size, drop_remainder=True)
        .map(lambda x, y, w: (_augment_batch(x, generator, geometry, erase=full), y, w), num_parallel_calls=1)
        .prefetch(2)
    )
    y_val = keras.utils.to_categorical(val.labels, len(EMOTIONS))
    validation = tf.data.Dataset.from_tensor_slices((centre_crop(val.images), y_val)).batch(256)
    return training, validation


def train(
    train_set: LabeledFaces,
    val_set: LabeledFaces,
    out_dir: Path,
    *,
    config: TrainingConfig | None = None,
    data_description: str = "",
    log: Callable[[str], None] = print,
    targets: np.ndarray | None = None,
) -> dict[str, object]:
    """Train, keep the weights that validate best, write them and the model card to ``out_dir``.

    ``targets``: soft targets for ``train_set`` (see ``build_datasets``); ``val_set``'s labels
    are then the ones validation is measured against (the FER+ majority).

    Interrupted runs resume from ``out_dir/checkpoint`` (Keras ``BackupAndRestore``).
    Returns the model card as a dict.
    """
    import keras

    from inference.network import build_model
    from inference.research.averaging import WeightAverage

    config = config or TrainingConfig()
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    training, validation = build_datasets(train_set, val_set, config, targets)
    steps_per_epoch = len(train_set) // config.batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"need at least {config.batch_size} training images, got {len(train_set)}")
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = min(steps_per_epoch * config.warmup_epochs, total_steps // 2)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.peak_learning_rate / 10,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=0.01,
        warmup_target=config.peak_learning_rate,
        warmup_steps=warmup_steps,
    )
    model = build_model()
    if config.init_weights:
        model.load_weights(config.init_weights)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
        jit_compile=False,  # XLA on CPU was 2x slower than oneDNN here (bench figures in the card)
    )
    best_path = out_dir / BEST_NAME
    average = WeightAverage(out_dir / "checkpoint" / "average.npz")
    curve: dict[int, float] = {}  # 1-based epoch -> validation accuracy (a resumed run starts later)
    started = time.monotonic()
    model.fit(
        training,
        validation_data=validation,
        epochs=config.epochs,
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=2,
        callbacks=[
            keras.callbacks.BackupAndRestore(str(out_dir / "checkpoint")),
            # After the backup: a crash between the two redoes the epoch, never counts it twice.
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: (
                    average.add(model.get_weights()) if epoch + 1 >= config.first_averaged_epoch else None
                )
            ),
            keras.callbacks.ModelCheckpoint(
                str(best_path), monitor="val_accuracy", mode="max", save_best_only=True, save_weights_only=True
            ),
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: curve.__setitem__(epoch + 1, float((logs or {})["val_accuracy"]))
            ),
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: log(
                    f"epoch {epoch + 1}/{config.epochs}: "
                    + ", ".join(f"{k}={v:.4f}" for k, v in sorted((logs or {}).items()))
                )
            ),
        ],
    )
    return finish_training(
        out_dir=out_dir,
        train_set=train_set,
        val_set=val_set,
        config=config,
        average=average.mean() if average.count else None,
        averaged_epochs=average.count,
        seconds=time.monotonic() - started,
        data_description=data_description,
        best_epoch=max(curve, key=lambda epoch: curve[epoch]) if curve else None,
        log=log,
    )


def finish_training(
    *,
    out_dir: Path,
    train_set: LabeledFaces,
    val_set: LabeledFaces,
    config: TrainingConfig,
    average: list[np.ndarray] | None,
    averaged_epochs: int,
    seconds: float,
    data_description: str,
    best_epoch: int | None,
    log: Callable[[str], None] = print,
) -> dict[str, object]:
    """Pick the better of the best epoch and the weight average on validation; ship it with its card."""
    from inference.network import build_model
    from inference.research.averaging import averaged_model

    # A fresh, uncompiled model holds the weights alone (a compiled one saves the optimizer's
    # state too, three times the size).
    best = build_model()
    best.load_weights(str(out_dir / BEST_NAME))
    candidates = {f"best epoch ({best_epoch})": best}
    if average is not None:
        candidates[f"average of the last {averaged_epochs} epochs"] = averaged_model(average, train_set.images)
    return ship_best(
        candidates,
        out_dir=out_dir,
        train_set=train_set,
        val_set=val_set,
        data_description=data_description,
        run={
            "training": asdict(config),
            "epochs": config.epochs,
            "best_epoch": best_epoch,
            "training_seconds": round(seconds, 1),
        },
        log=log,
    )


def ship_best(
    candidates: dict[str, Any],
    *,
    out_dir: Path,
    train_set: LabeledFaces,
    val_set: LabeledFaces,
    data_description: str,
    run: dict[str, object],
    log: Callable[[str], None] = print,
) -> dict[str, object]:
    """Evaluate the candidate models on validation; write the best one's weights and model card.

    ``run`` says how the candidates were made: ``training`` (settings), ``epochs`` and
    ``training_seconds`` at least. Returns the card as a dict.
    """
    from inference.network import FaceScorer
    from inference.research.evaluation import evaluate

    out_dir.mkdir(parents=True, exist_ok=True)
    reports = {name: evaluate(FaceScorer(model), val_set) for name, model in candidates.items()}
    for name, candidate_report in reports.items():
        log(f"{name}: validation accuracy {candidate_report['accuracy']:.4f}")
    chosen = max(reports, key=lambda name: reports[name]["accuracy"])
    model = candidates[chosen]
    model.save_weights(str(out_dir / WEIGHTS_NAME))
    report = reports[chosen]
    card: dict[str, object] = {
        "model": model.name,
        "emotions": list(EMOTIONS),
        "input": "48x48 grayscale face, centre-cropped to 40x40, raw 0-255 values",
        "architecture": (
            "VGG-style: conv3x3(32); 2x conv3x3(64); 2x conv3x3(128); 2x conv3x3(256), each conv with batch "
            "norm and ReLU, max-pooling after each block; dense 256; softmax 7"
        ),
        "parameters": int(model.count_params()),
        "test_time_augmentation": "mean of the face and its horizontal mirror",
        "data": data_description,
        "training_images": len(train_set),
        "validation_images": len(val_set),
        **run,
        "candidates": {name: round(float(r["accuracy"]), 4) for name, r in reports.items()},
        "shipped": chosen,
        "validation": report,
    }
    write_model_card(card, out_dir)
    log(f"shipped {chosen}: validation accuracy {report['accuracy']:.4f} on {report['n']} faces")
    return card


def _lineage_lines(card: dict[str, object]) -> list[str]:
    """The card's optional ``lineage``: the runs, oldest first, that led to weights fine-tuned in stages."""
    stages = card.get("lineage")
    if not isinstance(stages, list) or not stages:
        return []
    return [
        "## How these weights were made",
        "",
        "| stage | run | epochs | seconds | validation accuracy |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {i} | {stage['run']} | {stage['epochs']} | {stage['seconds']} | {stage['validation_accuracy']:.2%} |"
            for i, stage in enumerate(stages, start=1)
        ),
        "",
    ]


def write_model_card(card: dict[str, object], out_dir: Path) -> None:
    """The card as JSON (for machines) and a short Markdown page (for people)."""
    (out_dir / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n")
    report = card["validation"]
    assert isinstance(report, dict)
    per_class = report["per_class"]
    lines = [
        f"# Model card: {card['model']}",
        "",
        "Recognises seven facial expressions in a registered 48x48 grayscale face:",
        ", ".join(EMOTIONS) + ".",
        "",
        f"- Data: {card['data']} ({card['training_images']} training, {card['validation_images']} validation faces)",
        f"- Architecture: {card['architecture']}; {card['parameters']:,} parameters",
        f"- Input: {card['input']}; test-time: {card['test_time_augmentation']}",
        f"- Training: {card['epochs']} epochs, {card['training_seconds']} s; settings {json.dumps(card['training'])}",
        f"- Shipped: {card['shipped']} (validation accuracy of each candidate: {json.dumps(card['candidates'])})",
        "",
        f"## Validation (FER-2013 PublicTest): accuracy {report['accuracy']:.2%} on {report['n']} faces",
        "",
        "| emotion | recall | faces |",
        "| --- | --- | --- |",
        *(f"| {e} | {per_class[e]['recall']:.2%} | {per_class[e]['n']} |" for e in EMOTIONS),
        "",
        "Confusion matrix (rows: true, columns: predicted, in the order above):",
        "",
        "```",
        *(" ".join(f"{v:5d}" for v in row) for row in report["confusion"]),
        "```",
        "",
        *_lineage_lines(card),
        "Limits: expressions are not feelings. FER-2013 faces are mostly frontal, web-sourced and",
        "unevenly spread over ages and skin tones; disgust and fear are the weakest classes.",
        "",
    ]
    (out_dir / CARD_MARKDOWN).write_text("\n".join(lines))
