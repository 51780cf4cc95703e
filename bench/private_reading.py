"""Private mode's reading against the server's: the same frames through the browser (Chromium, LiteRT.js,
``extension/lib/reader.js``) and through the server (``inference.classifier``), with the browser's cost.

    .venv/bin/python bench/private_reading.py [--frames 100] [--jaffe /work/shared/data/jaffe/jaffe.npz] [--json]

Frames: ``--frames`` 640x480 webcam JPEGs of a real face (``bench/inference.py``), a third as many
with that frame shrunk into the middle of a grey one (a face 50-65 px wide, someone sitting back:
the detector's second looks), and, when the file is there, JAFFE's 213 posed faces (160x160) set
in 320x240 grey frames (never written anywhere).
The browser reads the very grey pixels the server decoded (so the two runs differ only in detect,
crop and score), and, for the JPEGs, also decodes them itself (``createImageBitmap``, canvas, grey at
the size the server decodes) as the extension's offscreen document would read a camera frame.

Prints: faces each side found and both found, the same top class on how many, the largest and the
95th-percentile difference of a score, and the browser's milliseconds per frame (decode, detect,
crop and score) against the server's (one thread). Needs Chromium at /usr/bin/chromium and the
models in ``extension/models/`` (``make extension-models``).
"""

from __future__ import annotations

import argparse
import base64
import json
import mimetypes
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXTENSION = ROOT / "extension"
ORIGIN = "http://smile-extension.test"
HARNESS = """<!doctype html><meta charset="utf-8"><title>reader</title><body><script type="module">
import { FaceReader } from "/lib/reader.js";
import { grayFromRGBA, decodedSize } from "/lib/faces.js";
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
window.reader = await FaceReader.create(location.origin + "/");
window.readGray = async (b64, width, height) => {
  const started = performance.now();
  const result = await window.reader.read(bytes(b64), width, height);
  return { ...result, ms: performance.now() - started };
};
window.readJpeg = async (b64) => {
  const started = performance.now();
  const bitmap = await createImageBitmap(new Blob([bytes(b64)], { type: "image/jpeg" }));
  const { width, height } = decodedSize(bitmap.width, bitmap.height);
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0, width, height);
  const gray = grayFromRGBA(context.getImageData(0, 0, width, height).data, width, height);
  const decoded = performance.now();
  const result = await window.reader.read(gray, width, height);
  return { ...result, decodeMs: decoded - started, readMs: performance.now() - decoded };
};
window.ready = true;
</script>"""


def serve_extension(route: Any) -> None:
    path = route.request.url[len(ORIGIN) :].split("?")[0]
    if path == "/harness.html":
        route.fulfill(status=200, content_type="text/html", body=HARNESS)
        return
    file = (EXTENSION / path.lstrip("/")).resolve()
    if EXTENSION not in file.parents or not file.is_file():
        route.fulfill(status=404, body="")
        return
    kind = "application/wasm" if file.suffix == ".wasm" else (mimetypes.guess_type(file.name)[0] or "text/javascript")
    if file.suffix == ".js":
        kind = "text/javascript"
    route.fulfill(status=200, content_type=kind, body=file.read_bytes())


def far_face_frame(jpeg: bytes, scale: float) -> bytes:
    """The webcam frame shrunk by ``scale`` into the middle of a grey 640x480 frame, as a JPEG."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError("could not decode a frame")
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 110, np.uint8)
    top, left = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    ok, encoded = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise OSError("could not encode a frame")
    return bytes(encoded.tobytes())


def frames(count: int, jaffe: Path | None) -> list[tuple[str, bytes | None, Any]]:
    """(name, JPEG bytes or None, the grey pixels the server reads)."""
    import numpy as np

    from bench.inference import webcam_frames
    from inference.images import decode_grayscale

    webcam = webcam_frames(count)
    found: list[tuple[str, bytes | None, Any]] = [
        (f"webcam-{i}", jpeg, decode_grayscale(jpeg)) for i, jpeg in enumerate(webcam)
    ]
    for i, jpeg in enumerate(webcam[: count // 3]):
        small = far_face_frame(jpeg, 0.4 + 0.05 * (i % 3))
        found.append((f"far-{i}", small, decode_grayscale(small)))
    if jaffe is not None and jaffe.is_file():
        for i, face in enumerate(np.load(jaffe)["images_large"]):
            canvas = np.full((240, 320), int(face[0, 0]), np.uint8)
            canvas[40:200, 80:240] = face
            found.append((f"jaffe-{i}", None, canvas))
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def compare(cases: list[tuple[str, bytes | None, Any]]) -> dict[str, Any]:
    """Read ``cases`` on both sides; the figures ``main`` prints."""
    import numpy as np
    from playwright.sync_api import sync_playwright

    from inference.classifier import EmotionClassifier
    from inference.emotions import EMOTIONS

    classifier = EmotionClassifier.from_weights(ROOT / "inference" / "weights" / "emotion_model.tflite")
    server: list[dict[str, float] | None] = []
    server_ms: list[float] = []
    for _, _, gray in cases:
        started = time.perf_counter()
        box = classifier.detector.find_face(gray)
        if box is None:
            server.append(None)
        else:
            from inference.faces import crop_face

            row = classifier.scorer.score(crop_face(gray, box)[np.newaxis])[0]
            server.append({emotion: float(value) for emotion, value in zip(EMOTIONS, row, strict=True)})
        server_ms.append((time.perf_counter() - started) * 1000)

    browser: list[dict[str, Any]] = []
    jpeg_reads: list[dict[str, Any]] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = chromium.new_page()
        page.route(f"{ORIGIN}/**", serve_extension)
        page.goto(f"{ORIGIN}/harness.html")
        page.wait_for_function("window.ready === true", timeout=60_000)
        for _, jpeg, gray in cases:
            height, width = gray.shape
            b64 = base64.b64encode(np.ascontiguousarray(gray).tobytes()).decode()
            browser.append(page.evaluate("([b, w, h]) => window.readGray(b, w, h)", [b64, width, height]))
            if jpeg is not None:
                jpeg_reads.append(page.evaluate("(b) => window.readJpeg(b)", base64.b64encode(jpeg).decode()))
        chromium.close()

    both = [(s, b["scores"]) for s, b in zip(server, browser, strict=True) if s is not None and b["face"]]
    same_top = sum(max(EMOTIONS, key=s.__getitem__) == max(EMOTIONS, key=b.__getitem__) for s, b in both)
    differences = [abs(s[e] - b[e]) for s, b in both for e in EMOTIONS]
    jpeg_both = [
        (s, b["scores"])
        for s, b in zip(
            [s for (_, jpeg, _), s in zip(cases, server, strict=True) if jpeg is not None], jpeg_reads, strict=True
        )
        if s is not None and b["face"]
    ]
    jpeg_same = sum(max(EMOTIONS, key=s.__getitem__) == max(EMOTIONS, key=b.__getitem__) for s, b in jpeg_both)
    jpeg_diff = [abs(s[e] - b[e]) for s, b in jpeg_both for e in EMOTIONS]
    found = {
        "frames": len(cases),
        "server_faces": sum(s is not None for s in server),
        "browser_faces": sum(bool(b["face"]) for b in browser),
        "both_faces": len(both),
        "same_top_class": same_top,
        "same_top_share": round(same_top / len(both), 4) if both else None,
        "max_score_difference": round(max(differences), 6) if differences else None,
        "p95_score_difference": round(percentile(differences, 0.95), 6) if differences else None,
        "browser_ms_per_frame_p50": round(statistics.median(b["ms"] for b in browser), 2),
        "browser_ms_per_frame_p95": round(percentile([b["ms"] for b in browser], 0.95), 2),
        "server_ms_per_frame_p50": round(statistics.median(server_ms), 2),
        "jpeg_frames": len(jpeg_reads),
        "jpeg_both_faces": len(jpeg_both),
        "jpeg_same_top_class": jpeg_same,
        "jpeg_max_score_difference": round(max(jpeg_diff), 6) if jpeg_diff else None,
        "browser_decode_ms_p50": round(statistics.median(r["decodeMs"] for r in jpeg_reads), 2) if jpeg_reads else None,
        "browser_read_ms_p50": round(statistics.median(r["readMs"] for r in jpeg_reads), 2) if jpeg_reads else None,
        "browser_read_ms_p95": round(percentile([r["readMs"] for r in jpeg_reads], 0.95), 2) if jpeg_reads else None,
    }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--jaffe", type=Path, default=Path("/work/shared/data/jaffe/jaffe.npz"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    found = compare(frames(args.frames, args.jaffe))
    for name, value in found.items():
        print(f"{name:<28}{value}")
    if args.json:
        print(json.dumps(found))


if __name__ == "__main__":
    main()
