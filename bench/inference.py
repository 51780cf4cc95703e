"""Per-frame inference cost on 640x480 webcam-like JPEG frames, on one CPU core by default.

    .venv/bin/python bench/inference.py [--frames 300] [--threads 1]

Prints median and p95 milliseconds for decode, face detection, classification (crop + CNN
with mirror averaging) and the total; CNN throughput at batch 1 and 32; peak memory.
Budget (docs/performance.md): total <= 10 ms median on one core.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for OpenCV and TensorFlow")
    args = parser.parse_args()

    import cv2
    import django

    django.setup()
    import tensorflow as tf

    cv2.setNumThreads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    import numpy as np

    from inference.classifier import get_classifier
    from inference.faces import crop_face
    from inference.images import decode_grayscale

    classifier = get_classifier()
    frames = webcam_frames(args.frames)
    for frame in frames[:10]:  # warm-up: graph tracing, allocator
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
            classifier.scorer.score(crop_face(gray, box)[np.newaxis])
        found.append(box is not None)
        t3 = time.perf_counter()
        decode.append(t1 - t0)
        detect.append(t2 - t1)
        classify.append(t3 - t2)
        total.append(t3 - t0)

    print(
        f"frames: {len(frames)} x 640x480 JPEG (~{sum(map(len, frames)) // len(frames) // 1024} KiB), "
        f"faces found: {sum(found)}, threads: {args.threads}"
    )
    print(f"decode          {percentiles(decode)}")
    print(f"detect          {percentiles(detect)}")
    with_face = [c for c, f in zip(classify, found, strict=True) if f] or [0.0]
    print(f"crop + CNN      {percentiles(with_face)}  (frames with a face)")
    print(f"total           {percentiles(total)}")

    rng = np.random.default_rng(1)
    for batch in (1, 32):
        crops = rng.integers(0, 256, size=(batch, 48, 48), dtype=np.uint8)
        classifier.scorer.score(crops)
        rounds = max(20, 640 // batch)
        start = time.perf_counter()
        for _ in range(rounds):
            classifier.scorer.score(crops)
        elapsed = time.perf_counter() - start
        print(
            f"CNN batch {batch:>2}    {rounds * batch / elapsed:8.1f} faces/s  "
            f"({elapsed / rounds * 1000:.2f} ms per batch, mirror averaging included)"
        )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak memory     {peak_kib / 1024:.0f} MiB (max RSS)")


if __name__ == "__main__":
    main()
