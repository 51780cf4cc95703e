"""The one trainer of the emotion CNN, on any Keras 3 backend (TensorFlow here, JAX or PyTorch on a GPU).

``manage.py train_emotion_model`` and ``python -m inference.research.training`` (no Django, for
a GPU machine that has Keras and JAX or PyTorch but neither TensorFlow nor this project's
dependencies) take the same options (``add_training_arguments``) and run ``run_training``.

Augmentation is NumPy and OpenCV (``augment``), batch by batch in a ``keras.utils.PyDataset``
whose worker thread prepares the next batches while the network trains, so no backend's data
pipeline is needed. The learning rate warms up and decays (cosine) epoch by epoch; with a
wall-clock budget (``budget_seconds``) the run's length is fitted after its second epoch, so a run
always ends annealed. Interrupted runs resume from ``out/checkpoint`` (Keras ``BackupAndRestore``).
The weights of the last quarter of the epochs are averaged; the better of that average and the
best epoch on validation is shipped with its model card.

Plain functions: the tests call ``train`` directly on tiny generated sets.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.emotions import EMOTIONS
from inference.network import Lighting, normalise_lighting
from inference.research.datasets import DatasetError, LabeledFaces, describe_training_data, load_training_data
from inference.research.ferplus import FerPlusError, load_votes, mix_in_labels, presence_targets, soft_targets
from inference.serving import CARD_JSON

WEIGHTS_NAME = "emotion_cnn.weights.h5"
BEST_NAME = "best.weights.h5"
CARD_MARKDOWN = "MODEL_CARD.md"
AUGMENTATIONS = ("full", "light", "camera")
TARGETS = ("fer2013", "ferplus")


class TrainingError(ValueError):
    """Training cannot start with these data or options; the message says why."""


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
    # which then fits the real (unerased, unwarped) faces more closely;
    # "camera": "full" plus what a webcam does to a face that FER's web photos rarely show
    # (``camera_degrade``): dim, flat, soft, low-resolution and noisy faces, and wider tilts.
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
    # With "ferplus" targets: a face where some expression other than neutral got at least
    # ``presence_share`` of the votes has its neutral votes scaled by ``presence_neutral_weight``
    # (``inference.research.ferplus.presence_targets``); 0: the votes as they are.
    presence_share: float = 0.0
    presence_neutral_weight: float = 1.0
    # Scales every block's filters (``inference.network.build_model``).
    width: float = 1.0
    # Distillation: a teacher's probabilities (an (N, 7) .npy over every training face) take this
    # share of the targets.
    teacher: str = ""
    teacher_weight: float = 0.0
    # Seconds for the whole run; 0: run ``epochs``. With a budget, ``epochs`` is the most it runs.
    budget_seconds: float = 0.0
    # Each (augmented) face's lighting evened out before the network reads it, as the served file
    # does (``convert_emotion_model --lighting``, which must then be given the same values): the
    # network learns on the faces it will be served instead of spending itself on lighting.
    lighting: Lighting | None = None

    @property
    def first_averaged_epoch(self) -> int:
        """1-based epoch from which weights are averaged."""
        return first_averaged_epoch(self.epochs, self.average_last_fraction)


def first_averaged_epoch(total: int, fraction: float) -> int:
    return total - max(1, round(total * fraction)) + 1


def class_weights(labels: np.ndarray, power: float) -> np.ndarray:
    """One weight per class, normalised so the mean weight over the samples is 1."""
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(np.float64)
    weights = np.where(counts > 0, (counts.max() / np.maximum(counts, 1)) ** power, 0.0)
    return weights / float((weights[labels]).mean())


def camera_degrade(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, S, S) uint8 faces -> the same faces as a webcam might cut them, each change on 30-50% of them.

    Measured on whole photos of real people through the frame path (docs/model.md, "Real
    people"): BlazeFace's crops of studio photos are darker (mean 84 against FER's 131), flatter
    (standard deviation 33 against 77) and softer (mean |Laplacian| 15 against FER's median 47)
    than FER's faces, and a slight blur (sigma 0.8) costs the served network 16 points there
    against 3 on FER+. So: contrast down to 0.35 of itself, a gamma of 0.6-1.6 (dim or washed
    out), a Gaussian blur (sigma 0.3-1.2) and a round trip through 20-40 px (a face far from the
    camera), the pixels' noise (sigma 2-8) of a small sensor in low light.
    """
    import cv2

    n, size = len(faces), faces.shape[1]
    out = faces.astype(np.float32)
    flat = rng.random(n) < 0.5
    contrast = np.where(flat, rng.uniform(0.35, 1.0, n), 1.0).astype(np.float32)[:, None, None]
    mean = out.mean(axis=(1, 2), keepdims=True)
    out = (out - mean) * contrast + mean
    dim = rng.random(n) < 0.5
    gamma = np.where(dim, np.exp(rng.uniform(math.log(0.6), math.log(1.6), n)), 1.0).astype(np.float32)
    out = 255.0 * (np.clip(out, 0.0, 255.0) / 255.0) ** gamma[:, None, None]
    for i in np.flatnonzero(rng.random(n) < 0.4):
        out[i] = cv2.GaussianBlur(out[i], (0, 0), float(rng.uniform(0.3, 1.2)))
    for i in np.flatnonzero(rng.random(n) < 0.3):
        small = int(rng.integers(20, 41))
        shrunk = cv2.resize(out[i], (small, small), interpolation=cv2.INTER_AREA)
        out[i] = cv2.resize(shrunk, (size, size), interpolation=cv2.INTER_LINEAR)
    noisy = rng.random(n) < 0.3
    sigma = rng.uniform(2.0, 8.0, (int(noisy.sum()), 1, 1)).astype(np.float32)
    out[noisy] += rng.normal(0.0, 1.0, out[noisy].shape).astype(np.float32) * sigma
    degraded: np.ndarray = np.clip(out, 0.0, 255.0).round().astype(np.uint8)
    return degraded


def augment(faces: np.ndarray, rng: np.random.Generator, *, augmentation: str) -> np.ndarray:
    """(N, S, S) uint8 faces (S >= 40) -> (N, 40, 40, 1) float32 network inputs.

    Always a horizontal flip of half the faces and a random 40x40 crop ("light"). "full" adds
    rotation +-10 degrees, zoom +-10%, brightness +-20%, contrast +-25% and random erasing of half
    the faces (a rectangle of 2-20% of the face set to noise). "camera" is "full" on faces first
    degraded as a webcam would (``camera_degrade``), tilted up to +-15 degrees.
    """
    import cv2

    from inference.network import INPUT_SIZE

    full, camera = augmentation in ("full", "camera"), augmentation == "camera"
    n, size = len(faces), faces.shape[1]
    if camera:
        faces = camera_degrade(faces, rng)
    flips = rng.random(n) < 0.5
    offsets = rng.integers(0, size - INPUT_SIZE + 1, size=(n, 2))
    tilt = 15 if camera else 10
    angles, scales = rng.uniform(-tilt, tilt, n), rng.uniform(0.9, 1.1, n)
    out = np.empty((n, INPUT_SIZE, INPUT_SIZE), dtype=np.uint8)
    for i in range(n):
        face = faces[i]
        if full:
            matrix = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), float(angles[i]), float(scales[i]))
            face = cv2.warpAffine(face, matrix, (size, size), borderMode=cv2.BORDER_REFLECT_101)
        if flips[i]:
            face = face[:, ::-1]
        top, left = int(offsets[i, 0]), int(offsets[i, 1])
        out[i] = face[top : top + INPUT_SIZE, left : left + INPUT_SIZE]
    x = out.astype(np.float32)
    if full:
        x += rng.uniform(-0.2, 0.2, (n, 1, 1)).astype(np.float32) * 255.0
        mean = x.mean(axis=(1, 2), keepdims=True)
        x = (x - mean) * rng.uniform(0.75, 1.25, (n, 1, 1)).astype(np.float32) + mean
        np.clip(x, 0.0, 255.0, out=x)
        area = rng.uniform(0.02, 0.2, n) * INPUT_SIZE * INPUT_SIZE
        ratio = np.exp(rng.uniform(math.log(0.3), math.log(3.3), n))
        h = np.clip(np.sqrt(area * ratio), 1, INPUT_SIZE - 1).astype(int)
        w = np.clip(np.sqrt(area / ratio), 1, INPUT_SIZE - 1).astype(int)
        for j in np.flatnonzero(rng.random(n) < 0.5):
            top, left = rng.integers(0, INPUT_SIZE - h[j] + 1), rng.integers(0, INPUT_SIZE - w[j] + 1)
            x[j, top : top + h[j], left : left + w[j]] = rng.uniform(0, 255, (h[j], w[j]))
    augmented: np.ndarray = x[..., np.newaxis]
    return augmented


def training_arrays(
    train: LabeledFaces, config: TrainingConfig, targets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(targets (N, 7), per-face weights (N,)) the network trains towards.

    ``targets`` (rows summing to 1: FER+ vote distributions) replace the one-hot labels; the
    vote distributions already say how ambiguous each face is, and weighting classes on top of
    them lowered the agreement with the raters' majority, so every face then counts once.
    """
    if targets is None:
        weights = class_weights(train.labels, config.class_weight_power).astype(np.float32)
        one_hot = np.eye(len(EMOTIONS), dtype=np.float32)[train.labels]
        return one_hot, weights[train.labels]
    return targets.astype(np.float32), np.ones(len(targets), dtype=np.float32)


def build_batches(train: LabeledFaces, config: TrainingConfig, targets: np.ndarray | None = None) -> Any:
    """The training batches, augmented afresh each epoch (``inference.research.batches``)."""
    from inference.research.batches import FaceBatches

    if config.augmentation not in AUGMENTATIONS:
        raise TrainingError(f"augmentation must be one of {', '.join(AUGMENTATIONS)}, not {config.augmentation!r}")
    y, w = training_arrays(train, config, targets)
    augmentation, lighting = config.augmentation, config.lighting

    def prepare(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        inputs = augment(faces, rng, augmentation=augmentation)
        return inputs if lighting is None else normalise_lighting(inputs, lighting)

    return FaceBatches(train.images, y, w, batch_size=config.batch_size, seed=config.seed, prepare=prepare)


@dataclass
class Schedule:
    """The learning rate epoch by epoch: warm-up from a tenth of the peak, then a cosine decay to 1% of it.

    ``total`` may be set once the run has timed itself (a wall-clock budget).
    """

    peak: float
    warmup: int
    total: int

    def rate(self, epoch: int) -> float:
        """For the 0-based ``epoch``."""
        warmup = min(self.warmup, self.total // 2)
        if epoch < warmup:
            return self.peak * (0.1 + 0.9 * epoch / warmup)
        progress = (epoch - warmup) / max(1, self.total - warmup)
        return self.peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def fitted_total(config: TrainingConfig, elapsed: float, per_epoch: float) -> int:
    """How many epochs fit the budget after two, each taking ``per_epoch`` seconds (at least 3)."""
    return min(config.epochs, max(3, int((config.budget_seconds - elapsed) / per_epoch) + 2))


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

    ``targets``: soft targets for ``train_set`` (see ``training_arrays``); ``val_set``'s labels
    are then the ones validation is measured against (the FER+ majority).

    Interrupted runs resume from ``out_dir/checkpoint`` (Keras ``BackupAndRestore``).
    Returns the model card as a dict.
    """
    import keras

    from inference.network import build_model, centre_crop
    from inference.research.averaging import WeightAverage

    config = config or TrainingConfig()
    if len(train_set) < config.batch_size:
        raise TrainingError(f"need at least {config.batch_size} training images, got {len(train_set)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    batches = build_batches(train_set, config, targets)
    validation = (centre_crop(val_set.images, config.lighting), np.eye(len(EMOTIONS), dtype=np.float32)[val_set.labels])
    checkpoint = out_dir / "checkpoint"
    checkpoint.mkdir(exist_ok=True)
    # A budgeted run's fitted length is kept beside the backup, so a resumed run keeps its schedule.
    fitted = checkpoint / "schedule.json"
    total = json.loads(fitted.read_text())["total"] if fitted.is_file() else config.epochs
    schedule = Schedule(config.peak_learning_rate, config.warmup_epochs, total)
    model = build_model(config.width)
    if config.init_weights:
        model.load_weights(config.init_weights)
    backend = keras.backend.backend()
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule.rate(0), weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
        # XLA on CPU was 2x slower than oneDNN under TensorFlow here; JAX and PyTorch compile their own way.
        jit_compile=False if backend == "tensorflow" else "auto",
    )
    best_path = out_dir / BEST_NAME
    average = WeightAverage(checkpoint / "average.npz")
    curve: dict[int, float] = {}  # 1-based epoch -> validation accuracy (a resumed run starts later)
    started = time.monotonic()
    epoch_started = [started]

    def begin(epoch: int) -> None:
        epoch_started[0] = time.monotonic()

    def end(epoch: int, logs: dict[str, Any] | None) -> None:
        now = time.monotonic()
        if config.budget_seconds and epoch == 1 and not fitted.is_file():
            # The second epoch is timed (the first includes compilation): fit the run to the budget.
            schedule.total = fitted_total(config, now - started, now - epoch_started[0])
            fitted.write_text(json.dumps({"total": schedule.total}))
            log(f"{now - epoch_started[0]:.2f} s per epoch: running {schedule.total} epochs")
        if epoch + 1 >= first_averaged_epoch(schedule.total, config.average_last_fraction):
            average.add(model.get_weights())
        curve[epoch + 1] = float((logs or {})["val_accuracy"])
        log(
            f"epoch {epoch + 1}/{schedule.total} ({now - epoch_started[0]:.0f} s): lr={schedule.rate(epoch):.2e}, "
            + ", ".join(f"{k}={v:.4f}" for k, v in sorted((logs or {}).items()) if k != "learning_rate")
        )
        if epoch + 1 >= schedule.total:
            model.stop_training = True

    model.fit(
        batches,
        validation_data=validation,
        epochs=config.epochs,
        verbose=0,  # each epoch's line comes from ``end``, the same on every backend
        callbacks=[
            keras.callbacks.BackupAndRestore(str(checkpoint)),
            keras.callbacks.LearningRateScheduler(schedule.rate),
            # After the backup: a crash between the two redoes the epoch, never counts it twice.
            keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: begin(epoch), on_epoch_end=end),
            keras.callbacks.ModelCheckpoint(
                str(best_path), monitor="val_accuracy", mode="max", save_best_only=True, save_weights_only=True
            ),
        ],
    )
    # BackupAndRestore removed out/checkpoint (the backup, the average's sums, the fitted length)
    # when the run ended: a finished run leaves no resume state.
    averaged = average.mean() if average.count else None
    return finish_training(
        out_dir=out_dir,
        train_set=train_set,
        val_set=val_set,
        config=config,
        average=averaged,
        averaged_epochs=average.count,
        seconds=time.monotonic() - started,
        data_description=data_description,
        best_epoch=max(curve, key=lambda epoch: curve[epoch]) if curve else None,
        epochs=len(curve) if curve else schedule.total,
        backend=backend,
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
    epochs: int | None = None,
    backend: str = "tensorflow",
    log: Callable[[str], None] = print,
) -> dict[str, object]:
    """Pick the better of the best epoch and the weight average on validation; ship it with its card."""
    from inference.network import build_model
    from inference.research.averaging import averaged_model

    # A fresh, uncompiled model holds the weights alone (a compiled one saves the optimizer's
    # state too, three times the size).
    best = build_model(config.width)
    best.load_weights(str(out_dir / BEST_NAME))
    candidates = {f"best epoch ({best_epoch})": best}
    if average is not None:
        candidates[f"average of the last {averaged_epochs} epochs"] = averaged_model(
            average, train_set.images, width=config.width, lighting=config.lighting
        )
    return ship_best(
        candidates,
        out_dir=out_dir,
        train_set=train_set,
        val_set=val_set,
        data_description=data_description,
        lighting=config.lighting,
        run={
            "training": {**asdict(config), "backend": backend},
            "epochs": epochs or config.epochs,
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
    lighting: Lighting | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, object]:
    """Evaluate the candidate models on validation; write the best one's weights and model card.

    ``run`` says how the candidates were made: ``training`` (settings), ``epochs`` and
    ``training_seconds`` at least; ``lighting``, what the networks were trained to read.
    Returns the card as a dict.
    """
    from inference.network import FaceScorer
    from inference.research.evaluation import evaluate

    out_dir.mkdir(parents=True, exist_ok=True)
    reports = {name: evaluate(FaceScorer(model, lighting=lighting), val_set) for name, model in candidates.items()}
    for name, candidate_report in reports.items():
        log(f"{name}: validation accuracy {candidate_report['accuracy']:.4f}")
    chosen = max(reports, key=lambda name: reports[name]["accuracy"])
    model = candidates[chosen]
    model.save_weights(str(out_dir / WEIGHTS_NAME))
    report = reports[chosen]
    card: dict[str, object] = {
        "model": model.name,
        "emotions": list(EMOTIONS),
        "input": "48x48 grayscale face, centre-cropped to 40x40, raw 0-255 values"
        + (
            ""
            if lighting is None
            else f", its mean moved to {lighting.mean:g} and its standard deviation raised to at least "
            f"{lighting.min_std:g} (convert with --lighting {lighting.mean:g}:{lighting.min_std:g})"
        ),
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


# --- The command line: manage.py train_emotion_model, or python -m inference.research.training ---------


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainingConfig()
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="fer2013.csv, a folder (fer2013_*.npz with ferplus_*.npz beside, or train/ and test/), a packed "
        ".npz(.xz), or the GPU pack of inference.research.fer_pack (FER+ votes inside)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder for weights and model card")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="with --budget-seconds: the most")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.peak_learning_rate)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--warmup-epochs", type=int, default=defaults.warmup_epochs)
    parser.add_argument("--width", type=float, default=defaults.width, help="scales every block's filters")
    parser.add_argument(
        "--budget-seconds",
        type=float,
        default=defaults.budget_seconds,
        help="fit the run's length to this many seconds after timing its second epoch (0: run --epochs)",
    )
    parser.add_argument(
        "--augmentation",
        choices=AUGMENTATIONS,
        default=defaults.augmentation,
        help="full (default); light: flips and crops only, for a last fine-tuning; camera: full plus dim, flat, "
        "soft, low-resolution and noisy faces and wider tilts, as a webcam cuts them",
    )
    parser.add_argument(
        "--targets",
        choices=TARGETS,
        default=defaults.targets,
        help="fer2013: the FER-2013 labels (default); ferplus: the FER+ raters' vote distributions "
        "(needs ferplus_*.npz beside the fer2013_*.npz files, or the GPU pack; validates against the FER+ majority)",
    )
    parser.add_argument(
        "--fer2013-weight",
        type=float,
        default=defaults.fer2013_weight,
        help="with --targets ferplus: the share of each face's FER-2013 label mixed into its votes (0-1)",
    )
    parser.add_argument(
        "--presence-share",
        type=float,
        help="with --targets ferplus: a face where an expression other than neutral got at least this share of "
        "the votes (0-1, e.g. 0.3) counts it as present: its neutral votes are scaled by --presence-neutral-weight",
    )
    parser.add_argument(
        "--presence-neutral-weight",
        type=float,
        default=0.3,
        help="with --presence-share: the factor on such a face's neutral votes before renormalising (0-1)",
    )
    parser.add_argument(
        "--teacher",
        type=Path,
        help="with --targets ferplus: (N, 7) .npy of a teacher's probabilities for every Training face (distillation)",
    )
    parser.add_argument(
        "--teacher-weight",
        type=float,
        default=0.5,
        help="with --teacher: its share of the targets (the votes: the rest)",
    )
    parser.add_argument(
        "--label-smoothing",
        type=float,
        help=f"default {defaults.label_smoothing} with --targets fer2013, 0 with ferplus (votes are soft already)",
    )
    parser.add_argument(
        "--lighting",
        metavar="MEAN:MIN_STD",
        help="train on faces whose lighting is evened out as the served file's is (e.g. 128:50); convert the "
        "weights with the same --lighting",
    )
    parser.add_argument(
        "--init-weights",
        type=Path,
        help="start from these weights (e.g. the shipped ones) and run the schedule again: fine-tuning",
    )


def ferplus_sets(
    data: Path,
    train_set: LabeledFaces,
    val_set: LabeledFaces,
    fer2013_weight: float,
    *,
    teacher: np.ndarray | None = None,
    teacher_weight: float = 0.0,
    presence: tuple[float, float] | None = None,
) -> tuple[LabeledFaces, LabeledFaces, np.ndarray]:
    """Training faces with usable votes and their vote distributions (with ``presence`` (share, neutral
    weight): ``presence_targets``; then a teacher's share and ``fer2013_weight`` of their FER-2013 label
    mixed in); validation faces with a FER+ majority."""
    from inference.research.fer_pack import is_pack, pack_votes

    try:
        if is_pack(data):
            train_votes, val_majority = pack_votes(data)
        elif data.is_dir():
            train = load_votes(data / "ferplus_Training.npz", expected_rows=len(train_set))
            val = load_votes(data / "ferplus_PublicTest.npz", expected_rows=len(val_set))
            train_votes, val_majority = train.votes, val.labels
        else:
            raise TrainingError(
                "--targets ferplus needs --data to be the folder with fer2013_*.npz and ferplus_*.npz, or the GPU pack"
            )
    except FerPlusError as exc:
        raise TrainingError(str(exc)) from exc
    targets, keep = soft_targets(train_votes)
    if presence is not None:
        targets = presence_targets(targets, *presence)
    if teacher is not None:
        if teacher.shape != targets.shape:
            raise TrainingError(f"--teacher: expected {targets.shape} probabilities, got {teacher.shape}")
        teacher = teacher.astype(np.float32) / teacher.sum(axis=1, keepdims=True)
        targets = (1 - teacher_weight) * targets + teacher_weight * teacher
    targets = mix_in_labels(targets, train_set.labels, fer2013_weight)
    majority = val_majority >= 0
    return (
        LabeledFaces(train_set.images[keep], targets[keep].argmax(axis=1).astype(np.uint8)),
        LabeledFaces(val_set.images[majority], val_majority[majority].astype(np.uint8)),
        targets[keep],
    )


def run_training(options: dict[str, Any], log: Callable[[str], None] = print) -> dict[str, object]:
    """Check the options, load the data and train (raises ``TrainingError`` with a precise message)."""
    if options["epochs"] < 1 or options["batch_size"] < 1 or options["warmup_epochs"] < 0:
        raise TrainingError("--epochs and --batch-size must be positive, --warmup-epochs not negative")
    if options["budget_seconds"] < 0 or options["width"] <= 0:
        raise TrainingError("--budget-seconds must not be negative, --width must be positive")
    init_weights = options["init_weights"]
    if init_weights is not None and not init_weights.is_file():
        raise TrainingError(f"--init-weights: no such file: {init_weights}")
    ferplus = options["targets"] == "ferplus"
    fer2013_weight = options["fer2013_weight"]
    if fer2013_weight and not ferplus:
        raise TrainingError("--fer2013-weight mixes labels into the votes: it needs --targets ferplus")
    if not 0.0 <= fer2013_weight <= 1.0:
        raise TrainingError(f"--fer2013-weight must be between 0 and 1, not {fer2013_weight}")
    teacher_path = options["teacher"]
    if teacher_path is not None and (not ferplus or not teacher_path.is_file()):
        raise TrainingError("--teacher needs --targets ferplus and an existing .npy file")
    if not 0.0 <= options["teacher_weight"] <= 1.0:
        raise TrainingError(f"--teacher-weight must be between 0 and 1, not {options['teacher_weight']}")
    presence_share = options.get("presence_share")
    presence_neutral_weight = options.get("presence_neutral_weight", 0.3)
    if presence_share is not None:
        if not ferplus:
            raise TrainingError("--presence-share reshapes the FER+ votes: it needs --targets ferplus")
        if not 0.0 < presence_share <= 1.0:
            raise TrainingError(f"--presence-share must be above 0 and at most 1, not {presence_share}")
        if not 0.0 <= presence_neutral_weight <= 1.0:
            raise TrainingError(f"--presence-neutral-weight must be between 0 and 1, not {presence_neutral_weight}")
    try:
        lighting = Lighting.parse(options["lighting"]) if options.get("lighting") else None
    except ValueError as exc:
        raise TrainingError(str(exc)) from exc
    try:
        train_set, val_set = load_training_data(options["data"])
    except (DatasetError, OSError) as exc:
        raise TrainingError(str(exc)) from exc
    targets = None
    if ferplus:
        teacher = np.load(teacher_path) if teacher_path is not None else None
        train_set, val_set, targets = ferplus_sets(
            options["data"],
            train_set,
            val_set,
            fer2013_weight,
            teacher=teacher,
            teacher_weight=options["teacher_weight"] if teacher is not None else 0.0,
            presence=(presence_share, presence_neutral_weight) if presence_share is not None else None,
        )
    smoothing = options["label_smoothing"]
    if smoothing is None:
        smoothing = 0.0 if ferplus else TrainingConfig().label_smoothing
    log(f"training on {len(train_set)} faces, validating on {len(val_set)}")
    config = TrainingConfig(
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        peak_learning_rate=options["learning_rate"],
        weight_decay=options["weight_decay"],
        seed=options["seed"],
        warmup_epochs=options["warmup_epochs"],
        augmentation=options["augmentation"],
        init_weights=str(init_weights or ""),
        targets=options["targets"],
        fer2013_weight=fer2013_weight,
        presence_share=presence_share or 0.0,
        presence_neutral_weight=presence_neutral_weight if presence_share is not None else 1.0,
        label_smoothing=smoothing,
        width=options["width"],
        teacher=str(teacher_path or ""),
        teacher_weight=options["teacher_weight"] if teacher_path is not None else 0.0,
        budget_seconds=options["budget_seconds"],
        lighting=lighting,
    )
    return train(
        train_set,
        val_set,
        options["out"],
        config=config,
        data_description=describe_training_data(options["data"]),
        log=log,
        targets=targets,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_training_arguments(parser)
    try:
        run_training(vars(parser.parse_args(argv)), log=lambda line: print(line, flush=True))
    except TrainingError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
