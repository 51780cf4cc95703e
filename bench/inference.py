"""Per-frame inference cost on 640x480 webcam-like JPEG frames, on one CPU core by default.

    .venv/bin/python bench/inference.py [--frames 300] [--threads 1] [--keras]

Prints median and p95 milliseconds for decode, face detection, classification (crop + the
served model: every network and test-time view) and the total; the served model's cost per
face at batch 1 and 32; the throughput of 4 threads sharing the classifier (one interpreter
per thread, against one interpreter behind a lock); with ``--keras``, the same network run
by Keras for comparison; peak memory and whether TensorFlow was imported.
Budget (docs/performance.md): total <= 5 ms median, served model <= 1 ms per face at batch 1.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")


def webcam_frames(count: int) -> list[bytes]:
    """Varied 640x480 JPEGs of a real face (scikit-image's astronaut), shifted and mirrored."""
    import cv2
    import numpy as np
    from skimage import data

    base = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    rng = np.random.default_rng(0)
    frames = []
    for i in range(count):
        # 4:3 views (no distortion) that keep the whole face, as a webcam would frame it.
        top, left = int(rng.integers(0, 150)), int(rng.integers(0, 30))
        view = base[top : top + 360, left : left + 480]
        view = cv2.resize(view if i % 2 else view[:, ::-1], (640, 480))
        ok, jpeg = cv2.imencode(".jpg", view, [cv2.IMWRITE_JPEG_QUALITY, 80])
        assert ok
        frames.append(jpeg.tobytes())
    return frames


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


def per_face(scorer: Any, batch: int) -> float:
    """Median seconds per face over repeated calls at this batch size (48x48 crops in)."""
    import numpy as np

    crops = np.random.default_rng(1).integers(0, 256, size=(batch, 48, 48), dtype=np.uint8)
    for _ in range(10):
        scorer.score(crops)
    samples = []
    for _ in range(max(30, 1200 // batch)):
        start = time.perf_counter()
        scorer.score(crops)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) / batch


def threaded_throughput(scorer: Any, threads: int, seconds: float = 2.0) -> float:
    """Faces per second when ``threads`` threads score one face at a time through ``scorer``."""
    import numpy as np

    crop = np.random.default_rng(2).integers(0, 256, size=(1, 48, 48), dtype=np.uint8)
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def work(index: int) -> None:
        while time.perf_counter() < stop:
            scorer.score(crop)
            counts[index] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for OpenCV and the served model")
    parser.add_argument("--keras", action="store_true", help="also time the Keras network (imports TensorFlow)")
    args = parser.parse_args()

    import cv2
    import django

    django.setup()
    cv2.setNumThreads(args.threads)

    import numpy as np
    from django.conf import settings

    from inference.blazeface import BlazeFaceDetector
    from inference.classifier import EmotionClassifier
    from inference.faces import crop_face
    from inference.images import decode_grayscale
    from inference.serving import ServedScorer

    model = Path(settings.SMILE_EMOTION_WEIGHTS)
    scorer = ServedScorer(model, threads=args.threads)
    classifier = EmotionClassifier(scorer, detector=BlazeFaceDetector())
    frames = webcam_frames(args.frames)
    for frame in frames[:10]:  # warm-up: allocator, interpreter tensors
        classifier.classify_frames([frame])

    decode, detect, classify, total = [], [], [], []
    found: list[bool] = []
    for frame in frames:
        t0 = time.perf_counter()
        gray = decode_grayscale(frame, classifier.limits)
        t1 = time.perf_counter()
        box = classifier.detector.find_face(gray)
        t2 = time.perf_counter()
        if box is not None:
            scorer.score(crop_face(gray, box)[np.newaxis])
        found.append(box is not None)
        t3 = time.perf_counter()
        decode.append(t1 - t0)
        detect.append(t2 - t1)
        classify.append(t3 - t2)
        total.append(t3 - t0)

    passes = scorer.spec.passes if scorer.spec else 1
    print(f"served model: {model.name} (LiteRT), {passes} network passes per face, threads: {args.threads}")
    print(
        f"frames: {len(frames)} x 640x480 JPEG (~{sum(map(len, frames)) // len(frames) // 1024} KiB), "
        f"faces found: {sum(found)}"
    )
    print(f"decode          {percentiles(decode)}")
    print(f"detect          {percentiles(detect)}")
    with_face = [c for c, f in zip(classify, found, strict=True) if f] or [0.0]
    print(f"crop + model    {percentiles(with_face)}  (frames with a face)")
    print(f"total           {percentiles(total)}")

    for batch in (1, 32):
        seconds = per_face(scorer, batch)
        print(f"served batch {batch:>2} {seconds * 1000:6.3f} ms per face  ({1 / seconds:8.1f} faces/s, all views)")
    shared = ServedScorer(model, threads=1, shared=True)
    for threads in (1, 4):
        own = threaded_throughput(ServedScorer(model, threads=1), threads)
        locked = threaded_throughput(shared, threads)
        print(
            f"{threads} thread(s), batch 1: {own:8.1f} faces/s with one interpreter per thread, "
            f"{locked:8.1f} with one shared behind a lock"
        )
    if args.keras:
        from inference.serving import load_scorer

        assert scorer.spec is not None
        keras_weights = model.parent / scorer.spec.members[0].weights
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        keras_scorer = load_scorer(keras_weights)
        for batch in (1, 32):
            seconds = per_face(keras_scorer, batch)
            print(f"Keras  batch {batch:>2} {seconds * 1000:6.3f} ms per face  ({keras_weights.name}, mirror included)")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak memory     {peak_kib / 1024:.0f} MiB (max RSS); TensorFlow imported: {'tensorflow' in sys.modules}")


if __name__ == "__main__":
    main()
