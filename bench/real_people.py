"""Real people against FER+: every served candidate, crop margin, ensemble weight and neutral shift.

    .venv/bin/python bench/real_people.py --photos ../shared/data/kdef_dev \\
        --fer ../shared/data/fer2013/fer2013_PublicTest.npz \\
        --model v2=inference/weights/emotion_model.tflite --model v1=var/v1/v1.tflite \\
        [--margins 0 0.05 0.1 0.15 0.2] [--weights 0.25 0.5 0.75] [--neutral-shifts -0.5 -1.0] [--json]

Whole photos are read through the stream's frame path (``inference.research.photos``: decode,
BlazeFace, crop, served model), once per model and margin; FER+ PublicTest faces are already
registered crops, read by the served model directly. Ensembles of two models are log-averages
of their calibrated scores, ``softmax(w log p1 + (1 - w) log p2)``; a neutral shift adds a constant
to the neutral log-score (negative: neutral must be more certain to win). Each row gives the
development set's figures beside FER+ majority agreement, ECE and neutral recall on PublicTest.

``--pasted N`` also places N PublicTest faces (scaled to 120 px) in a 320x240 grey frame and reads
them through the frame path at each margin: what the margin does to FER-style faces in frames.

The development set is a measuring instrument: nothing here trains on it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")

import numpy as np  # noqa: E402

EPSILON = 1e-7


def combine(first: np.ndarray, second: np.ndarray | None, weight: float, neutral_shift: float) -> np.ndarray:
    """``softmax(w log p1 + (1 - w) log p2 + shift on neutral)``, row by row."""
    from inference.emotions import EMOTIONS

    logits = weight * np.log(np.maximum(first, EPSILON))
    if second is not None:
        logits = logits + (1 - weight) * np.log(np.maximum(second, EPSILON))
    logits[:, EMOTIONS.index("neutral")] += neutral_shift
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    combined: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return combined


def fer_figures(scores: np.ndarray, majority: np.ndarray) -> dict[str, float]:
    from inference.emotions import EMOTIONS
    from inference.research.calibration import expected_calibration_error

    chosen = majority >= 0
    labels, scores = majority[chosen], scores[chosen]
    predicted = scores.argmax(axis=1)
    neutral = labels == EMOTIONS.index("neutral")
    return {
        "fer_majority": round(float((predicted == labels).mean()), 4),
        "fer_ece": round(expected_calibration_error(scores, labels), 4),
        "fer_neutral_recall": round(float((predicted[neutral] == labels[neutral]).mean()), 4),
    }


def photo_figures(scores: np.ndarray, readings: Any) -> dict[str, float]:
    from inference.research.photos import photo_report

    report = photo_report(scores, readings.found, readings.labels, readings.persons)
    return {
        "accuracy": report["accuracy"],
        "expressive_read_neutral": report["expressive_read_neutral"],
        "sad_recall": report["sad"]["recall"],
        "sad_precision": report["sad"]["precision"],
        "angry_recall": report["per_class"]["angry"]["recall"],
        "fear_recall": report["per_class"]["fear"]["recall"],
        "per_person_mean": report["per_person_mean"],
        "faces_found": report["faces_found"],
    }


def pasted_frames(faces: np.ndarray) -> list[bytes]:
    import cv2

    frames = []
    for face in faces:
        frame = np.full((240, 320), 128, dtype=np.uint8)
        big = cv2.resize(face, (120, 120), interpolation=cv2.INTER_CUBIC)
        frame[60:180, 100:220] = big
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        frames.append(jpeg.tobytes())
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True, help="a folder with a labels.json")
    parser.add_argument(
        "--fer", type=Path, required=True, help="fer2013_PublicTest.npz (ferplus_PublicTest.npz beside)"
    )
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH of a served .tflite file")
    parser.add_argument("--margins", type=float, nargs="+", default=[0.0, 0.05, 0.1, 0.15, 0.2])
    parser.add_argument("--weights", type=float, nargs="*", default=[0.25, 0.5, 0.75], help="first model's share")
    parser.add_argument("--neutral-shifts", type=float, nargs="*", default=[-0.5, -1.0])
    parser.add_argument("--pasted", type=int, default=0, help="also read this many PublicTest faces pasted in frames")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from inference.classifier import EmotionClassifier
    from inference.emotions import EMOTIONS
    from inference.research.datasets import load_evaluation_data
    from inference.research.ferplus import ferplus_path_for, load_votes
    from inference.research.photos import PHOTO_LIMITS, load_photos, read_photos
    from inference.serving import ServedScorer

    models = dict(text.split("=", 1) for text in args.model)
    photos = load_photos(args.photos)
    fer = load_evaluation_data(args.fer)
    majority = load_votes(ferplus_path_for(args.fer), expected_rows=len(fer)).labels
    fer_scores = {name: ServedScorer(Path(path)).score(fer.images).astype(np.float64) for name, path in models.items()}
    readings = {
        (name, margin): read_photos(
            photos, EmotionClassifier.from_weights(Path(path), limits=PHOTO_LIMITS, crop_margin=margin)
        )
        for name, path in models.items()
        for margin in args.margins
    }
    rows: list[dict[str, Any]] = []

    def add(label: str, margin: float, photo_scores: np.ndarray, fer_scored: np.ndarray, reading: Any) -> None:
        rows.append(
            {
                "candidate": label,
                "margin": margin,
                **photo_figures(photo_scores, reading),
                **fer_figures(fer_scored, majority),
            }
        )

    names = list(models)
    for margin in args.margins:
        for name in names:
            reading = readings[(name, margin)]
            for shift in [0.0, *args.neutral_shifts]:
                label = name if shift == 0 else f"{name}, neutral {shift:+g}"
                add(
                    label,
                    margin,
                    combine(reading.scores, None, 1.0, shift),
                    combine(fer_scores[name], None, 1.0, shift),
                    reading,
                )
        if len(names) >= 2:
            first, second = names[0], names[1]
            a, b = readings[(first, margin)], readings[(second, margin)]
            if not np.array_equal(a.found, b.found):
                raise SystemExit("the two models' frame paths found different faces")
            for weight in args.weights:
                for shift in [0.0, *args.neutral_shifts]:
                    label = f"{weight:g} {first} + {1 - weight:g} {second}" + (f", neutral {shift:+g}" if shift else "")
                    add(
                        label,
                        margin,
                        combine(a.scores, b.scores, weight, shift),
                        combine(fer_scores[first], fer_scores[second], weight, shift),
                        a,
                    )
    pasted: list[dict[str, Any]] = []
    if args.pasted:
        frames = pasted_frames(fer.images[: args.pasted])
        labels = majority[: args.pasted]
        for name, path in models.items():
            for margin in args.margins:
                results = EmotionClassifier.from_weights(Path(path), crop_margin=margin).classify_frames(frames)
                found = np.array([result.face for result in results])
                predicted = np.array([EMOTIONS.index(r.dominant) if r.dominant else -1 for r in results])
                counted = found & (labels >= 0)
                pasted.append(
                    {
                        "model": name,
                        "margin": margin,
                        "found": round(float(found.mean()), 4),
                        "fer_majority_of_found": round(float((predicted[counted] == labels[counted]).mean()), 4),
                    }
                )
    if args.json:
        print(json.dumps({"rows": rows, "pasted": pasted}))
        return
    header = (
        "| candidate | margin | dev acc | expr->neutral | sad R / P | angry / fear R | per-person | "
        "FER+ maj | ECE | neutral R |"
    )
    print(header)
    print("|" + " --- |" * 10)
    for row in rows:
        print(
            f"| {row['candidate']} | {row['margin']:g} | {row['accuracy']:.1%} | "
            f"{row['expressive_read_neutral']:.1%} | {row['sad_recall']:.0%} / {row['sad_precision']:.0%} | "
            f"{row['angry_recall']:.0%} / {row['fear_recall']:.0%} | "
            f"{row['per_person_mean']:.1%} | {row['fer_majority']:.2%} | {row['fer_ece']:.2%} | "
            f"{row['fer_neutral_recall']:.1%} |"
        )
    for row in pasted:
        print(
            f"pasted PublicTest faces, {row['model']}, margin {row['margin']:g}: found {row['found']:.1%}, "
            f"FER+ majority of found {row['fer_majority_of_found']:.2%}"
        )


if __name__ == "__main__":
    main()
