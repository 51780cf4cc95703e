"""The served emotion model: every network, test-time view and the calibration in one LiteRT file.

Serving goes through LiteRT (TensorFlow Lite's runtime, the ``ai-edge-litert`` package), not
Keras: it answers a face several times faster on one core (dynamic-range int8 weights, XNNPACK
kernels) and does not import TensorFlow, so a web process that scores frames stays small.
TensorFlow is needed only to *make* the file (``manage.py convert_emotion_model``, with
``inference.research.conversion``).

The file's graph takes (N, 40, 40, 1) float32 faces (raw 0-255, the centre of the 48x48 crop)
and returns calibrated scores (N, 7) that sum to 1: it evens out each face's lighting when the
spec says so (``inference.network.normalise_lighting``), runs each member network on each view (the face, and its
mirror when ``mirror``), averages the probabilities, and applies the temperature:
``softmax(log(mean) / T)``. A JSON manifest beside the file lists the members, views, lighting
and temperature. Everything is in the one file, so the extension's private mode, which runs the
same file, reads a face exactly as the server does.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from inference.emotions import EMOTIONS
from inference.network import Lighting, centre_crop

MANIFEST_SUFFIX = ".json"
# The model card the trainer and the converter write beside the weights they make.
CARD_JSON = "model_card.json"
# Keeps log() finite for a probability that rounds to 0.
EPSILON = 1e-7


@dataclass(frozen=True)
class Member:
    weights: str  # file name of the Keras weights (relative to the manifest's folder when shipped)
    width: float = 1.0
    sha256: str = ""


@dataclass(frozen=True)
class ServingSpec:
    members: list[Member]
    mirror: bool = True
    temperature: float = 1.0
    lighting: Lighting | None = None
    quantization: str = "dynamic-range int8 weights"
    emotions: list[str] = field(default_factory=lambda: list(EMOTIONS))
    input: str = "(N, 40, 40, 1) float32: the centre of the 48x48 face crop, raw 0-255 values"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passes(self) -> int:
        """Network evaluations per face: members x views."""
        return len(self.members) * (2 if self.mirror else 1)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ServingSpec:
        data = json.loads(text)
        data["members"] = [Member(**member) for member in data["members"]]
        if data.get("lighting") is not None:
            data["lighting"] = Lighting(**data["lighting"])
        return cls(**data)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_path(model_path: Path) -> Path:
    return model_path.with_suffix(MANIFEST_SUFFIX)


def calibrate(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(p) / T)`` row by row, in NumPy: what the served graph does last."""
    logits = np.log(np.maximum(probabilities, EPSILON)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    calibrated: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return calibrated


# --- Serving (LiteRT; no TensorFlow) -----------------------------------------------------


class Scorer(Protocol):
    def score(self, faces: np.ndarray, *, batch_size: int = 256) -> np.ndarray: ...


def load_scorer(path: Path) -> Scorer:
    """The served LiteRT file (``.tflite``), or Keras weights (``.weights.h5``) for comparison.

    Keras weights are read with the lighting they were trained on, which the model card beside
    them records (``training.lighting``: the trainer's card, or the served folder's); weights
    without a card are read as they are.
    """
    if path.suffix == ".tflite":
        return ServedScorer(path)
    from inference.network import FaceScorer

    card = path.with_name(CARD_JSON)
    trained = json.loads(card.read_text()).get("training", {}).get("lighting") if card.is_file() else None
    return FaceScorer.from_weights(path, lighting=Lighting(**trained) if trained else None)


class ServedScorer:
    """Scores 48x48 faces with the LiteRT file: thread-safe, one interpreter per thread.

    A LiteRT interpreter holds its tensors and must not be invoked from two threads at once.
    One interpreter per thread (created on first use, ~2 MB each) lets the classifier's worker
    threads score side by side; a single interpreter behind a lock would serialise them
    (``bench/inference.py --threads`` measures both).
    """

    def __init__(self, model_path: Path, *, threads: int = 1, shared: bool = False) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.model_path = model_path
        self.content = model_path.read_bytes()
        manifest = manifest_path(model_path)
        self.spec = ServingSpec.from_json(manifest.read_text()) if manifest.is_file() else None
        self._interpreter_class = Interpreter
        self._threads = threads
        self._local = threading.local()
        # shared=True: one interpreter for every thread, behind a lock (for the benchmark's comparison).
        self._lock = threading.Lock() if shared else None
        self._shared = self._new_interpreter() if shared else None
        if self._shared is None:
            self._interpreter()  # fail now, not on the first frame, if the file is broken

    def _new_interpreter(self) -> Any:
        interpreter = self._interpreter_class(model_content=self.content, num_threads=self._threads)
        interpreter.allocate_tensors()
        return interpreter

    def _interpreter(self) -> Any:
        interpreter = getattr(self._local, "interpreter", None)
        if interpreter is None:
            interpreter = self._local.interpreter = self._new_interpreter()
        return interpreter

    def _run(self, interpreter: Any, batch: np.ndarray) -> np.ndarray:
        [source] = interpreter.get_input_details()
        [target] = interpreter.get_output_details()
        if tuple(source["shape"]) != batch.shape:
            interpreter.resize_tensor_input(source["index"], batch.shape)
            interpreter.allocate_tensors()
        interpreter.set_tensor(source["index"], batch)
        interpreter.invoke()
        result: np.ndarray = interpreter.get_tensor(target["index"]).copy()
        return result

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 40, 40, 1) float32 network inputs -> (N, 7) calibrated scores."""
        if self._lock is not None:
            with self._lock:
                return self._run(self._shared, inputs)
        return self._run(self._interpreter(), inputs)

    def score(self, faces: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """(N, 48, 48) uint8 faces -> (N, 7) float32 scores, each row summing to 1."""
        out = np.empty((len(faces), len(EMOTIONS)), dtype=np.float32)
        for start in range(0, len(faces), batch_size):
            out[start : start + batch_size] = self.predict(centre_crop(faces[start : start + batch_size]))
        return out
