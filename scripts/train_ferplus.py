"""Train the emotion CNN on FER+ vote distributions with Keras 3 on any backend (JAX on a GPU).

    KERAS_BACKEND=jax python scripts/train_ferplus.py --data fer_packed.npz --out DIR \\
        --name s1 --seed 1 [--width 1.0] [--init-weights W.weights.h5] [--max-epochs 100] [--budget-s 300]

``inference/training.py`` (``train_emotion_model --targets ferplus``) trains the same targets
but through ``tf.data``, which needs TensorFlow; the GPU machine has JAX and PyTorch, not
TensorFlow. So this script augments with NumPy and OpenCV on the CPU (in a thread, while the
GPU runs the previous epoch) and leaves the network to Keras. The weights it writes load in
``inference.network.build_model(width)`` under TensorFlow.

The schedule fits a wall-clock budget: after two epochs it sets the run's length to what the
budget allows (at most ``--max-epochs``), then warms up and decays the learning rate (cosine)
over that length, so a run always ends annealed, never cut off mid-schedule.

Data: the packed file from ``scripts/fer_pack.py`` (46x46 training faces, 40x40 validation).
Each epoch prints the validation agreement with the FER+ majority (mirror-averaged).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inference.network import INPUT_SIZE
from inference.research.ferplus import mix_in_labels, soft_targets


def augment(faces: np.ndarray, rng: np.random.Generator, pool: ThreadPoolExecutor) -> np.ndarray:
    """(N, S, S) uint8 faces -> (N, 40, 40, 1) float32: flip, rotate +-10 deg, zoom +-10%, shift,
    brightness +-20%, contrast +-25%, and random erasing of half the faces (2-20% of the area).
    The same kinds and ranges as ``inference.research.training``'s full augmentation."""
    n, size = len(faces), faces.shape[1]
    angles = rng.uniform(-10, 10, n)
    scales = rng.uniform(0.9, 1.1, n)
    flips = rng.random(n) < 0.5
    offsets = rng.integers(0, size - INPUT_SIZE + 1, size=(n, 2))

    def warp(chunk: range) -> np.ndarray:
        out = np.empty((len(chunk), INPUT_SIZE, INPUT_SIZE), dtype=np.uint8)
        for j, i in enumerate(chunk):
            matrix = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), float(angles[i]), float(scales[i]))
            face = cv2.warpAffine(faces[i], matrix, (size, size), borderMode=cv2.BORDER_REFLECT_101)
            if flips[i]:
                face = face[:, ::-1]
            top, left = offsets[i]
            out[j] = face[top : top + INPUT_SIZE, left : left + INPUT_SIZE]
        return out

    step = 2048
    warped = np.concatenate(list(pool.map(warp, [range(s, min(s + step, n)) for s in range(0, n, step)])))
    x = warped.astype(np.float32)
    x += rng.uniform(-0.2, 0.2, (n, 1, 1)).astype(np.float32) * 255.0
    mean = x.mean(axis=(1, 2), keepdims=True)
    x = (x - mean) * rng.uniform(0.75, 1.25, (n, 1, 1)).astype(np.float32) + mean
    np.clip(x, 0.0, 255.0, out=x)
    area = rng.uniform(0.02, 0.2, n) * INPUT_SIZE * INPUT_SIZE
    ratio = np.exp(rng.uniform(math.log(0.3), math.log(3.3), n))
    h = np.clip(np.sqrt(area * ratio), 1, INPUT_SIZE - 1).astype(int)
    w = np.clip(np.sqrt(area / ratio), 1, INPUT_SIZE - 1).astype(int)
    for i in np.flatnonzero(rng.random(n) < 0.5):
        top, left = rng.integers(0, INPUT_SIZE - h[i] + 1), rng.integers(0, INPUT_SIZE - w[i] + 1)
        x[i, top : top + h[i], left : left + w[i]] = rng.uniform(0, 255, (h[i], w[i]))
    augmented: np.ndarray = x[..., np.newaxis]
    return augmented


def learning_rate(epoch: int, total: int, peak: float, warmup: int) -> float:
    if epoch < warmup:
        return peak * (0.1 + 0.9 * epoch / warmup)
    progress = (epoch - warmup) / max(1, total - warmup)
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--init-weights", type=Path)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--budget-s", type=float, default=300.0, help="wall-clock seconds for the whole run")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1.5e-3)
    parser.add_argument("--weight-decay", type=float, default=0.02)
    parser.add_argument("--warmup-epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="use only this many training faces (smoke tests)")
    parser.add_argument(
        "--teacher",
        type=Path,
        help="(N, 7) .npy of a teacher's probabilities for every Training face (distillation)",
    )
    parser.add_argument(
        "--teacher-weight", type=float, default=0.5, help="share of the teacher in the targets (the votes: the rest)"
    )
    parser.add_argument(
        "--fer2013-weight",
        type=float,
        default=0.0,
        help="share of the face's FER-2013 label (one-hot) in the targets (inference.research.ferplus.mix_in_labels)",
    )
    args = parser.parse_args()
    started = time.monotonic()

    import keras

    from inference.network import build_model
    from scripts.fer_pack import unpack

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    data = unpack(args.data)
    targets, keep = soft_targets(data["train_votes"])
    if args.teacher:
        # Distillation: the teacher's probabilities on the clean face, mixed with the votes.
        teacher = np.load(args.teacher).astype(np.float32)
        teacher /= teacher.sum(axis=1, keepdims=True)
        targets = (1 - args.teacher_weight) * targets + args.teacher_weight * teacher
    targets = mix_in_labels(targets, data["train_labels"], args.fer2013_weight)
    faces = data["train_faces"][keep]
    targets = targets[keep]
    if args.limit:
        faces, targets = faces[: args.limit], targets[: args.limit]
    val_x = data["val_faces"].astype(np.float32)[..., np.newaxis]
    val_x = np.concatenate([val_x, val_x[:, :, ::-1]])
    val_ferplus = data["val_ferplus"].astype(np.int64)
    val_fer = data["val_labels"].astype(np.int64)
    counted = val_ferplus >= 0
    print(f"[{args.name}] {len(faces)} training faces, {int(counted.sum())} validation faces with a FER+ majority")

    model = build_model(args.width)
    if args.init_weights:
        model.load_weights(str(args.init_weights))
    optimizer = keras.optimizers.AdamW(learning_rate=args.learning_rate, weight_decay=args.weight_decay)
    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy())
    args.out.mkdir(parents=True, exist_ok=True)
    weights_path = args.out / f"{args.name}.weights.h5"
    # The compiled model would save its optimizer state too (three times the size): save a
    # fresh, uncompiled copy, which holds the weights alone.
    shipped = build_model(args.width)

    def save() -> None:
        shipped.set_weights(model.get_weights())
        shipped.save_weights(str(weights_path))

    pool = ThreadPoolExecutor(4)
    pending: dict[str, Any] = {}

    def prepare() -> None:
        pending["x"] = augment(faces, rng, pool)

    prepare()
    total = args.max_epochs
    curve: list[dict[str, float]] = []
    epoch_started = started
    for epoch in range(args.max_epochs):
        if epoch >= total:
            break
        x = pending.pop("x")
        epoch_started = time.monotonic()
        worker = threading.Thread(target=prepare)
        worker.start()
        rate = learning_rate(epoch, total, args.learning_rate, args.warmup_epochs)
        optimizer.learning_rate.assign(rate)
        history = model.fit(x, targets, batch_size=args.batch_size, epochs=1, shuffle=True, verbose=0).history
        scores = model.predict(val_x, batch_size=1024, verbose=0)
        scores = (scores[: len(scores) // 2] + scores[len(scores) // 2 :]) / 2
        predicted = scores.argmax(axis=1)
        agreement = float((predicted[counted] == val_ferplus[counted]).mean())
        fer_accuracy = float((predicted == val_fer).mean())
        worker.join()
        now = time.monotonic()
        if epoch == 1:
            # The second epoch is timed (the first includes compilation): fit the schedule to the budget.
            per_epoch = now - epoch_started
            total = min(args.max_epochs, max(3, int((args.budget_s - (now - started)) / per_epoch) + 2))
            print(f"[{args.name}] {per_epoch:.2f} s per epoch: running {total} epochs")
        curve.append({"epoch": epoch + 1, "lr": rate, "loss": float(history["loss"][-1]), "ferplus": agreement})
        print(
            f"[{args.name}] epoch {epoch + 1}/{total} lr {rate:.2e} loss {history['loss'][-1]:.4f} "
            f"val FER+ {agreement:.4f} FER-2013 {fer_accuracy:.4f} ({now - started:.0f} s)",
            flush=True,
        )
        if (epoch + 1) % 10 == 0:
            save()  # a run killed later still leaves weights
    save()
    log = {
        "name": args.name,
        "seed": args.seed,
        "width": args.width,
        "init_weights": str(args.init_weights or ""),
        "teacher": str(args.teacher or ""),
        "teacher_weight": args.teacher_weight if args.teacher else 0.0,
        "fer2013_weight": args.fer2013_weight,
        "epochs": len(curve),
        "batch_size": args.batch_size,
        "peak_learning_rate": args.learning_rate,
        "weight_decay": args.weight_decay,
        "backend": keras.backend.backend(),
        "seconds": round(time.monotonic() - started, 1),
        "training_faces": len(faces),
        "curve": curve,
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(log) + "\n")
    print(f"[{args.name}] done: val FER+ {curve[-1]['ferplus']:.4f} after {len(curve)} epochs, {log['seconds']} s")


if __name__ == "__main__":
    main()
