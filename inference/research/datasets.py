"""Loading FER-2013 style data in the forms users bring it in.

Three on-disk forms are accepted:
- the original Kaggle ``fer2013.csv`` (``emotion,pixels,Usage``);
- an image-folder tree ``ROOT/<emotion>/*.(png|jpg|jpeg)`` (the public release has ``train/``
  and ``test/`` such trees);
- NumPy ``.npz`` files holding ``images`` (N, 48, 48) uint8 and ``labels`` (N,) uint8, or the
  packed ``train_images/train_labels/val_images/val_labels`` form (optionally ``.npz.xz``).

Everything is returned as 48x48 grayscale uint8 faces with labels in ``EMOTIONS`` order.
"""

from __future__ import annotations

import csv
import io
import lzma
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from inference.emotions import EMOTIONS, FACE_SIZE, emotion_for_name

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
TRAINING_SPLIT = "Training"
VALIDATION_SPLIT = "PublicTest"


class DatasetError(ValueError):
    """The data at a path is not in a form we understand; the message says why."""


@dataclass(frozen=True)
class LabeledFaces:
    images: np.ndarray  # (N, 48, 48) uint8
    labels: np.ndarray  # (N,) uint8, indexes into EMOTIONS
    skipped: list[str] = field(default_factory=list)  # folders or labels not among the seven

    def __post_init__(self) -> None:
        if self.images.ndim != 3 or self.images.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise DatasetError(f"expected (N, 48, 48) images, got {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise DatasetError("images and labels differ in length")
        if len(self.labels) and int(self.labels.max()) >= len(EMOTIONS):
            raise DatasetError(f"labels must be 0..{len(EMOTIONS) - 1}")

    def __len__(self) -> int:
        return len(self.labels)


def _faces(images: np.ndarray, labels: np.ndarray, skipped: list[str] | None = None) -> LabeledFaces:
    return LabeledFaces(
        images=np.ascontiguousarray(images, dtype=np.uint8),
        labels=np.ascontiguousarray(labels, dtype=np.uint8),
        skipped=skipped or [],
    )


# --- CSV -------------------------------------------------------------------------------


def load_csv(path: Path, *, split: str | None = None) -> LabeledFaces:
    """Rows of the Kaggle CSV, optionally only those whose ``Usage`` equals ``split``."""
    images: list[np.ndarray] = []
    labels: list[int] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"emotion", "pixels"} - set(reader.fieldnames or [])
        if missing:
            raise DatasetError(f"{path}: missing CSV column(s) {', '.join(sorted(missing))}")
        if split is not None and "Usage" not in (reader.fieldnames or []):
            raise DatasetError(f"{path}: no Usage column to filter split {split!r} by")
        for line, row in enumerate(reader, start=2):
            if split is not None and row["Usage"].strip() != split:
                continue
            try:
                label = int(row["emotion"])
                pixels = np.array(row["pixels"].split(), dtype=np.uint8)
            except ValueError as exc:
                raise DatasetError(f"{path}:{line}: {exc}") from exc
            if pixels.size != FACE_SIZE * FACE_SIZE or not 0 <= label < len(EMOTIONS):
                raise DatasetError(f"{path}:{line}: expected 2304 pixels and a label 0-6")
            images.append(pixels.reshape(FACE_SIZE, FACE_SIZE))
            labels.append(label)
    if not images:
        wanted = f" with Usage {split!r}" if split else ""
        raise DatasetError(f"{path}: no rows{wanted}")
    return _faces(np.stack(images), np.array(labels))


# --- Image folders ---------------------------------------------------------------------


def _read_face(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DatasetError(f"{path}: not a readable image")
    if image.shape != (FACE_SIZE, FACE_SIZE):
        image = cv2.resize(image, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    return image


def load_folder_tree(root: Path, *, name_prefix: str | None = None) -> LabeledFaces:
    """Faces from ``root/<emotion>/*``; other class folders are skipped and listed.

    ``name_prefix`` keeps only files whose name starts with it (the public release names
    test images ``PublicTest_<id>.jpg`` and ``PrivateTest_<id>.jpg`` in one folder).
    """
    images: list[np.ndarray] = []
    labels: list[int] = []
    skipped: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        emotion = emotion_for_name(folder.name)
        if emotion is None:
            skipped.append(folder.name)
            continue
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if name_prefix and not file.name.startswith(name_prefix):
                continue
            images.append(_read_face(file))
            labels.append(EMOTIONS.index(emotion))
    if not images:
        raise DatasetError(f"{root}: no images under any of the emotion folders")
    return _faces(np.stack(images), np.array(labels), skipped)


# --- NumPy -----------------------------------------------------------------------------


def _open_npz(path: Path) -> np.lib.npyio.NpzFile:
    source = io.BytesIO(lzma.decompress(path.read_bytes())) if path.name.endswith(".xz") else path
    data: np.lib.npyio.NpzFile = np.load(source)
    return data


def load_npz(path: Path) -> LabeledFaces:
    """A single-split ``.npz`` with ``images`` and ``labels``."""
    with _open_npz(path) as data:
        if "images" not in data or "labels" not in data:
            raise DatasetError(f"{path}: expected arrays 'images' and 'labels', found {sorted(data)}")
        return _faces(data["images"], data["labels"])


# --- Training data (train + validation splits) -----------------------------------------


def describe_training_data(path: Path) -> str:
    """How a model card names the data ``load_training_data(path)`` read."""
    name = f"{path.name}/" if path.is_dir() else path.name
    return f"FER-2013 from {name}: Training trains, PublicTest validates"


def load_training_data(path: Path) -> tuple[LabeledFaces, LabeledFaces]:
    """(training, validation) from any accepted form: Training trains, PublicTest validates."""
    if path.is_file() and path.suffix.lower() == ".csv":
        return load_csv(path, split=TRAINING_SPLIT), load_csv(path, split=VALIDATION_SPLIT)
    if path.is_file() and (path.name.endswith(".npz") or path.name.endswith(".npz.xz")):
        from inference.research.fer_pack import is_pack, padded, unpack

        if is_pack(path):
            packed = unpack(path)
            return (
                _faces(padded(packed["train_faces"]), packed["train_labels"]),
                _faces(padded(packed["val_faces"]), packed["val_labels"]),
            )
        with _open_npz(path) as data:
            if "train_images" not in data:
                raise DatasetError(f"{path}: a training file needs train_/val_ arrays; found {sorted(data)}")
            return (
                _faces(data["train_images"], data["train_labels"]),
                _faces(data["val_images"], data["val_labels"]),
            )
    if path.is_dir():
        npz_train = path / f"fer2013_{TRAINING_SPLIT}.npz"
        if npz_train.exists():
            return load_npz(npz_train), load_npz(path / f"fer2013_{VALIDATION_SPLIT}.npz")
        if (path / "fer2013.csv").exists():
            return load_training_data(path / "fer2013.csv")
        if (path / "train").is_dir() and (path / "test").is_dir():
            test = path / "test"
            has_public = any(test.glob(f"*/{VALIDATION_SPLIT}_*"))
            return load_folder_tree(path / "train"), load_folder_tree(
                test, name_prefix=f"{VALIDATION_SPLIT}_" if has_public else None
            )
    raise DatasetError(
        f"{path}: expected fer2013.csv, a folder with train/ and test/, "
        "a folder with fer2013_Training.npz and fer2013_PublicTest.npz, a packed .npz(.xz) or the GPU pack"
    )


def load_evaluation_data(path: Path, *, split: str | None = None) -> LabeledFaces:
    """Labelled faces to evaluate on: a CSV (``split`` filters Usage), an .npz, or a folder tree."""
    if path.is_file() and path.suffix.lower() == ".csv":
        return load_csv(path, split=split)
    if path.is_file() and path.name.endswith(".npz"):
        return load_npz(path)
    if path.is_dir():
        return load_folder_tree(path)
    raise DatasetError(f"{path}: expected a .csv, an .npz or a folder of <emotion>/ folders")
