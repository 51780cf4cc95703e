"""Real people against FER+: every served candidate, crop margin, ensemble weight and neutral shift.

    .venv/bin/python bench/real_people.py --photos ../shared/data/kdef_dev \\
        --fer ../shared/data/fer2013/fer2013_PublicTest.npz \\
        --model v2=inference/weights/emotion_model.tflite --model v1=var/v1/v1.tflite \\
        [--margins 0 0.05 0.1 0.15 0.2] [--weights 0.25 0.5 0.75] [--neutral-shifts -0.5 -1.0] [--json]

Whole photos are read through the stream's frame path (``inference.research.photos``: decode,
BlazeFace, crop, served model), once per model and margin; FER+ PublicTest faces are already
registered crops, read by the served model directly. Ensembles of each consecutive pair of
``--model`` files are log-averages of their calibrated scores, ``softmax(w log p1 + (1 - w) log p2)``;
a neutral shift adds a constant to the neutral log-score (negative: neutral must be more certain
to win). Each row gives the development set's figures beside FER+ majority agreement, ECE and
neutral recall on PublicTest.

``--write-teacher T.npy`` writes the first two models' log-average over every FER-2013 Training
face instead (the teacher of ``train_emotion_model --teacher``). ``--timing`` times each model
file per face (``bench/inference.py``'s ``per_face``, batch 1, one thread). ``--plot`` draws the
frontier; with ``--plot-recorded docs/model.md`` it draws every candidate recorded in the model
card's table instead (lost runs included) without reading a photo. ``--pasted N`` also places N
PublicTest faces (scaled to 120 px) in a 320x240 grey frame and reads them through the frame path
at each margin: what the margin does to FER-style faces in frames. ``--webcam-faces 80 100 140``
frames each development photo as a webcam would see a person: the photo scaled so that its face
(BlazeFace's box on the whole photo) is that many pixels wide, centred in a 640x480 grey frame,
sent as a JPEG at the extension's first quality (0.8), then read through the frame path: what a
person reads like at each distance from the camera. ``--degrade`` reads each photo's crop (the frame
path's decode, BlazeFace and crop) again softened, flattened, dimmed or cut from fewer pixels, as
a dim room or a cheap camera would give it (``DEGRADATIONS``): how much a model leans on a
studio-sharp face.

The development set is a measuring instrument: nothing here trains on it.
"""

from __future__ import annotations

import argparse
import itertools
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


def split_teacher(
    first: np.ndarray, second: np.ndarray, majority: np.ndarray, share: float, neutral_share: float
) -> np.ndarray:
    """The teacher of each face: ``combine`` with ``neutral_share`` of the first model where the raters'
    majority is neutral, ``share`` elsewhere (no majority included).

    So one network can be taught v2's reading of the faces raters call neutral and v1's reading of
    the rest, instead of one mix of the two everywhere.
    """
    from inference.emotions import EMOTIONS

    neutral = (majority == EMOTIONS.index("neutral"))[:, np.newaxis]
    return np.where(neutral, combine(first, second, neutral_share, 0.0), combine(first, second, share, 0.0))


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


# docs/model.md's table of every candidate measured on the development set, by its header.
RECORDED_TABLE_HEADER = "| candidate | margin | passes | real people |"


def _percent(cell: str) -> float:
    return float(cell.strip().strip("*").rstrip("%")) / 100


def recorded_rows(text: str) -> list[dict[str, Any]]:
    """Every candidate of the model card's real-people table (docs/model.md), runs whose files are
    gone included: its name (up to a colon or a parenthesis), margin, real-people accuracy and FER+
    majority agreement, as ``--plot`` draws them."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(RECORDED_TABLE_HEADER))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    real, fer = header.index("real people"), header.index("FER+ majority")
    rows = []
    for line in itertools.takewhile(lambda line: line.startswith("|"), lines[start + 2 :]):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        name = cells[0].strip("*").split(":")[0].split(" (")[0].split(", margin ")[0]  # the margin has its column
        if name == "targets":
            continue
        rows.append(
            {
                "candidate": name,
                "margin": float(cells[1]),
                "accuracy": _percent(cells[real]),
                "fer_majority": _percent(cells[fer]),
            }
        )
    return rows


def frontier(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows no other row beats on both the development set and FER+ majority agreement."""
    return [
        row
        for row in rows
        if not any(
            other["accuracy"] >= row["accuracy"]
            and other["fer_majority"] >= row["fer_majority"]
            and (other["accuracy"], other["fer_majority"]) != (row["accuracy"], row["fer_majority"])
            for other in rows
        )
    ]


def draw_frontier(
    rows: list[dict[str, Any]], path: Path, *, fer_target: float = 0.855, real_target: float = 0.78
) -> None:
    """Every candidate as a dot (development-set accuracy against FER+ majority), the frontier joined, the
    targets as dashed lines; a PNG drawn with OpenCV."""
    import cv2

    width, height, margin, legend = 640, 520, 70, 540
    image = np.full((height + 2 * margin, width + 2 * margin + legend, 3), 255, dtype=np.uint8)
    xs, ys = [row["fer_majority"] for row in rows], [row["accuracy"] for row in rows]
    x_low, x_high = min(min(xs), fer_target) - 0.01, max(max(xs), fer_target) + 0.01
    y_low, y_high = min(min(ys), real_target) - 0.02, max(max(ys), real_target) + 0.02

    def point(x: float, y: float) -> tuple[int, int]:
        return (
            round(margin + (x - x_low) / (x_high - x_low) * width),
            round(margin + height - (y - y_low) / (y_high - y_low) * height),
        )

    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.rectangle(image, point(x_low, y_high), point(x_high, y_low), (0, 0, 0), 1)
    for tick in np.arange(np.ceil(x_low * 50) / 50, x_high, 0.02):
        px, py = point(float(tick), y_low)
        cv2.putText(image, f"{tick:.0%}", (px - 14, py + 20), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for tick in np.arange(np.ceil(y_low * 20) / 20, y_high, 0.05):
        px, py = point(x_low, float(tick))
        cv2.putText(image, f"{tick:.0%}", (px - 40, py + 4), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for start, end in (
        (point(fer_target, y_low), point(fer_target, y_high)),
        (point(x_low, real_target), point(x_high, real_target)),
    ):
        length = int(np.hypot(end[0] - start[0], end[1] - start[1]))
        for offset in range(0, length, 12):
            near, far = offset / length, min(1.0, (offset + 6) / length)
            p0 = (round(start[0] + (end[0] - start[0]) * near), round(start[1] + (end[1] - start[1]) * near))
            p1 = (round(start[0] + (end[0] - start[0]) * far), round(start[1] + (end[1] - start[1]) * far))
            cv2.line(image, p0, p1, (60, 60, 200), 1, cv2.LINE_AA)
    for row in rows:
        cv2.circle(image, point(row["fer_majority"], row["accuracy"]), 3, (160, 160, 160), -1, cv2.LINE_AA)
    best = sorted(frontier(rows), key=lambda row: row["fer_majority"])
    for a, b in itertools.pairwise(best):
        cv2.line(
            image, point(a["fer_majority"], a["accuracy"]), point(b["fer_majority"], b["accuracy"]), (200, 120, 40), 1
        )
    # The frontier's points are numbered; the legend on the right names them (labels beside the
    # dots would overlap where the frontier is dense).
    for number, row in enumerate(best, start=1):
        px, py = point(row["fer_majority"], row["accuracy"])
        cv2.circle(image, (px, py), 4, (200, 120, 40), -1, cv2.LINE_AA)
        cv2.putText(image, str(number), (px + 5, py - 5), font, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
        text = (
            f"{number}. {row['candidate']}, margin {row['margin']:g}: "
            f"{row['accuracy']:.1%} real / {row['fer_majority']:.1%} FER+"
        )
        cv2.putText(image, text, (2 * margin + width - 20, margin + 16 * number), font, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(
        image,
        "FER+ PublicTest majority agreement",
        (margin + width // 2 - 140, margin + height + 45),
        font,
        0.5,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    cv2.putText(
        image,
        "real people (whole photos through the frame path): accuracy; dashed: targets",
        (margin, margin - 30),
        font,
        0.5,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"could not write {path}")


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


WEBCAM_FRAME = (640, 480)
WEBCAM_JPEG_QUALITY = 80  # the extension's first quality (extension/offscreen.js, JPEG_QUALITIES)


def webcam_frame(photo: np.ndarray, box: Any, face_width: int) -> bytes:
    """``photo`` (BGR) scaled so ``box`` is ``face_width`` px wide, its centre at a 640x480 grey frame's, as JPEG."""
    import cv2

    scale = face_width / box.width
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    width, height = WEBCAM_FRAME
    frame = np.full((height, width, 3), 128, dtype=np.uint8)
    # Where the photo's top-left corner lands so that the face's centre is the frame's centre.
    left = round(width / 2 - (box.x + box.width / 2) * scale)
    top = round(height / 2 - (box.y + box.height / 2) * scale)
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(width, left + small.shape[1]), min(height, top + small.shape[0])
    frame[y0:y1, x0:x1] = small[y0 - top : y1 - top, x0 - left : x1 - left]
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, WEBCAM_JPEG_QUALITY])
    if not ok:
        raise OSError("could not encode a webcam frame")
    return bytes(jpeg.tobytes())


def photos_with_faces(photos: list[Any]) -> list[tuple[Any, bytes, np.ndarray, Any]]:
    """(photo, bytes, grey pixels, BlazeFace's box) of each photo where the frame path's detector finds a face."""
    from inference.blazeface import BlazeFaceDetector
    from inference.images import decode_grayscale
    from inference.research.photos import PHOTO_LIMITS

    detector = BlazeFaceDetector()
    found = []
    for photo in photos:
        data = photo.path.read_bytes()
        gray = decode_grayscale(data, PHOTO_LIMITS)
        box = detector.find_face(gray)
        if box is not None:
            found.append((photo, data, gray, box))
    return found


def webcam_readings(photos: list[Any], models: dict[str, str], face_widths: list[int]) -> list[dict[str, Any]]:
    """Each model's reading of the photos framed as webcam frames (``webcam_frame``) at each face width."""
    import cv2

    from inference.classifier import EmotionClassifier
    from inference.emotions import EMOTIONS
    from inference.research.photos import NEUTRAL

    framed = []  # without a face in the whole photo there is no face width to frame it at
    for photo, data, _, box in photos_with_faces(photos):
        colour = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if colour is None:
            raise SystemExit(f"{photo.path}: decoded grey but not in colour")
        framed.append((colour, box, photo.label))
    labels = np.array([label for _, _, label in framed])
    rows = []
    for name, path in models.items():
        classifier = EmotionClassifier.from_weights(Path(path))
        for face_width in face_widths:
            results = classifier.classify_frames([webcam_frame(image, box, face_width) for image, box, _ in framed])
            predicted = np.array([EMOTIONS.index(r.dominant) if r.dominant else -1 for r in results])
            expressive = labels != NEUTRAL
            rows.append(
                {
                    "model": name,
                    "face_width": face_width,
                    "photos": len(framed),
                    "found": round(float(np.mean([r.face for r in results])), 4),
                    "accuracy": round(float((predicted == labels).mean()), 4),
                    "expressive_read_neutral": round(float((predicted[expressive] == NEUTRAL).mean()), 4),
                }
            )
    return rows


def _contrast(face: np.ndarray, factor: float) -> np.ndarray:
    mean = float(face.mean())
    return np.clip((face.astype(np.float32) - mean) * factor + mean, 0, 255).round().astype(np.uint8)


def _blur(face: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return np.asarray(cv2.GaussianBlur(face, (0, 0), sigma))


def _fewer_pixels(face: np.ndarray, size: int) -> np.ndarray:
    import cv2

    small = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.resize(small, face.shape[::-1], interpolation=cv2.INTER_LINEAR))


# What a dim room or a cheap camera does to a face crop, beside the crop itself.
DEGRADATIONS: dict[str, Any] = {
    "as cut": lambda face: face,
    "blur sigma 0.8": lambda face: _blur(face, 0.8),
    "blur sigma 1.2": lambda face: _blur(face, 1.2),
    "contrast x0.5": lambda face: _contrast(face, 0.5),
    "dim (gamma 1.5)": lambda face: np.clip(255 * (face / 255.0) ** 1.5, 0, 255).round().astype(np.uint8),
    "from 32 px": lambda face: _fewer_pixels(face, 32),
    "from 24 px": lambda face: _fewer_pixels(face, 24),
}


def degraded_readings(photos: list[Any], models: dict[str, str]) -> list[dict[str, Any]]:
    """Each model's accuracy on the photos' crops under each of ``DEGRADATIONS`` (photos without a face: misread)."""
    from inference.faces import crop_face
    from inference.serving import ServedScorer

    found = photos_with_faces(photos)
    crops = [crop_face(gray, box) for _, _, gray, box in found]
    truth = np.array([photo.label for photo, _, _, _ in found])
    rows = []
    for name, path in models.items():
        scorer = ServedScorer(Path(path))
        for condition, degrade in DEGRADATIONS.items():
            predicted = scorer.score(np.stack([degrade(face) for face in crops])).argmax(axis=1)
            correct = int((predicted == truth).sum())
            rows.append({"model": name, "condition": condition, "accuracy": round(correct / len(photos), 4)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, help="a folder with a labels.json")
    parser.add_argument("--fer", type=Path, help="fer2013_PublicTest.npz (ferplus_PublicTest.npz beside)")
    parser.add_argument("--model", action="append", help="NAME=PATH of a served .tflite file")
    parser.add_argument("--margins", type=float, nargs="+", default=[0.0, 0.05, 0.1, 0.15, 0.2])
    parser.add_argument("--weights", type=float, nargs="*", default=[0.25, 0.5, 0.75], help="first model's share")
    parser.add_argument("--neutral-shifts", type=float, nargs="*", default=[-0.5, -1.0])
    parser.add_argument("--pasted", type=int, default=0, help="also read this many PublicTest faces pasted in frames")
    parser.add_argument(
        "--webcam-faces",
        type=int,
        nargs="*",
        default=[],
        metavar="PX",
        help="also read the photos framed as 640x480 webcam frames with the face this many px wide",
    )
    parser.add_argument(
        "--degrade", action="store_true", help="also read each photo's crop softened, flattened, dimmed and shrunk"
    )
    parser.add_argument("--plot", type=Path, help="write the frontier (development set against FER+) as a PNG")
    parser.add_argument(
        "--timing", action="store_true", help="also time each model file per face (batch 1, one thread)"
    )
    parser.add_argument(
        "--write-teacher",
        type=Path,
        help="write the first two models' log-average (--teacher-share of the first) over every face of "
        "fer2013_Training.npz beside --fer as an (N, 7) .npy, for train_emotion_model --teacher, and stop",
    )
    parser.add_argument("--teacher-share", type=float, default=0.75)
    parser.add_argument(
        "--teacher-neutral-share",
        type=float,
        help="with --write-teacher: the first model's share on the faces the FER+ majority calls neutral "
        "(--teacher-share elsewhere; default: --teacher-share everywhere)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--plot-recorded",
        type=Path,
        metavar="MODEL_MD",
        help="draw --plot from every candidate recorded in docs/model.md's real-people table, and stop",
    )
    args = parser.parse_args()
    if args.plot_recorded:
        if not args.plot:
            parser.error("--plot-recorded draws the --plot file: name it")
        draw_frontier(recorded_rows(args.plot_recorded.read_text()), args.plot)
        return
    if not (args.photos and args.fer and args.model):
        parser.error("--photos, --fer and --model are needed (or --plot-recorded)")

    import django

    django.setup()
    from inference.classifier import EmotionClassifier
    from inference.emotions import EMOTIONS
    from inference.research.datasets import load_evaluation_data
    from inference.research.ferplus import ferplus_path_for, load_votes
    from inference.research.photos import PHOTO_LIMITS, load_photos, read_photos
    from inference.serving import ServedScorer

    # A model may be named twice (the same file) to pair it with two others: ensembles pair each
    # consecutive two of the --model list, singles are read once per name.
    given = [tuple(text.split("=", 1)) for text in args.model]
    models = dict(given)
    if len({(name, models[name]) for name, _ in given}) != len(set(given)):
        raise SystemExit("a --model name names two different files")
    if args.write_teacher:
        training_path = args.fer.with_name("fer2013_Training.npz")
        training = load_evaluation_data(training_path)
        first, second = (
            ServedScorer(Path(path)).score(training.images).astype(np.float64) for path in list(models.values())[:2]
        )
        if args.teacher_neutral_share is None:
            teacher = combine(first, second, args.teacher_share, 0.0)
        else:
            votes = load_votes(ferplus_path_for(training_path), expected_rows=len(training))
            teacher = split_teacher(first, second, votes.labels, args.teacher_share, args.teacher_neutral_share)
        np.save(args.write_teacher, teacher.astype(np.float32))
        return
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

    paired = [name for name, _ in given]
    for margin in args.margins:
        for name in models:
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
        for first, second in zip(paired[::2], paired[1::2], strict=False):
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
    webcam = webcam_readings(photos, models, args.webcam_faces) if args.webcam_faces else []
    degraded = degraded_readings(photos, models) if args.degrade else []
    timing: dict[str, float] = {}
    if args.timing:
        from bench.inference import per_face

        for name, path in models.items():
            timing[name] = round(per_face(ServedScorer(Path(path), threads=1), 1) * 1000, 3)
    if args.plot:
        draw_frontier(rows, args.plot)
    if args.json:
        print(
            json.dumps({"rows": rows, "pasted": pasted, "webcam": webcam, "degraded": degraded, "ms_per_face": timing})
        )
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
    for name, ms in timing.items():
        print(f"{name}: {ms:.3f} ms per face at batch 1 on one thread (an ensemble costs its two models' sum)")
    for row in pasted:
        print(
            f"pasted PublicTest faces, {row['model']}, margin {row['margin']:g}: found {row['found']:.1%}, "
            f"FER+ majority of found {row['fer_majority_of_found']:.2%}"
        )
    for row in webcam:
        print(
            f"webcam frames, {row['model']}, face {row['face_width']} px in 640x480: {row['accuracy']:.1%} of "
            f"{row['photos']} photos, found {row['found']:.1%}, expressive read neutral "
            f"{row['expressive_read_neutral']:.1%}"
        )
    for row in degraded:
        print(f"crops {row['condition']}, {row['model']}: {row['accuracy']:.1%}")


if __name__ == "__main__":
    main()
