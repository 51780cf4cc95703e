"""Pack FER-2013 + FER+ votes small enough to travel to a GPU machine (64 MiB with the repo).

    .venv/bin/python -m inference.research.fer_pack ../shared/data/fer2013 OUT.npz

The faces are stored losslessly: each pixel minus the LOCO-I (JPEG-LS) median predictor from
its left, upper and upper-left neighbours, then xz. Training faces keep their central 46x46
(the random 40x40 training crop then shifts by up to 3 pixels, not 4): the full 48x48 faces
did not fit beside the repository. Validation faces keep the 40x40 centre the network reads.
``unpack`` restores exactly those pixels (``pack`` checks it before writing). NumPy only.
Never commit the packed file: it is FER-2013.
"""

from __future__ import annotations

import lzma
import sys
from pathlib import Path

import numpy as np

TRAIN_CROP, VAL_CROP = 46, 40
_XZ = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "lc": 3, "lp": 0, "pb": 0}]


def _prediction_neighbours(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b, c = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    a[:, :, 1:], b[:, 1:, :], c[:, 1:, 1:] = x[:, :, :-1], x[:, :-1, :], x[:, :-1, :-1]
    return a, b, c


def _median_prediction(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    high, low = np.maximum(a, b), np.minimum(a, b)
    predicted: np.ndarray = np.where(c >= high, low, np.where(c <= low, high, a + b - c))
    return predicted


def encode(images: np.ndarray) -> bytes:
    x = images.astype(np.int16)
    residual = ((x - _median_prediction(*_prediction_neighbours(x))) & 255).astype(np.uint8)
    return lzma.compress(residual.tobytes(), format=lzma.FORMAT_XZ, filters=_XZ)


def decode(blob: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    """Undo ``encode`` row by row and column by column (each pixel needs its decoded neighbours)."""
    residual = np.frombuffer(lzma.decompress(blob), dtype=np.uint8).reshape(shape).astype(np.int16)
    x = np.zeros(shape, dtype=np.int16)
    for row in range(shape[1]):
        for col in range(shape[2]):
            a = x[:, row, col - 1] if col else np.zeros(shape[0], np.int16)
            b = x[:, row - 1, col] if row else np.zeros(shape[0], np.int16)
            c = x[:, row - 1, col - 1] if row and col else np.zeros(shape[0], np.int16)
            x[:, row, col] = (residual[:, row, col] + _median_prediction(a, b, c)) & 255
    return x.astype(np.uint8)


def _centre(images: np.ndarray, size: int) -> np.ndarray:
    margin = (images.shape[1] - size) // 2
    return np.ascontiguousarray(images[:, margin : margin + size, margin : margin + size])


def pack(data_dir: Path, out: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    for split, key, size in (("Training", "train", TRAIN_CROP), ("PublicTest", "val", VAL_CROP)):
        with np.load(data_dir / f"fer2013_{split}.npz") as fer, np.load(data_dir / f"ferplus_{split}.npz") as votes:
            images = _centre(fer["images"], size)
            blob = encode(images)
            if not np.array_equal(decode(blob, images.shape), images):
                raise SystemExit(f"{split}: the packed faces do not decode to the originals")
            arrays[f"{key}_faces"] = np.frombuffer(blob, dtype=np.uint8)
            arrays[f"{key}_shape"] = np.array(images.shape)
            arrays[f"{key}_labels"] = fer["labels"]
            arrays[f"{key}_votes"] = votes["votes"]
            arrays[f"{key}_ferplus"] = votes["ferplus_labels"]
    np.savez(out, allow_pickle=False, **arrays)


def is_pack(path: Path) -> bool:
    """Whether ``path`` is a file ``pack`` wrote (the trainer reads it like the data folder)."""
    if not (path.is_file() and path.name.endswith(".npz")):
        return False
    with np.load(path) as data:
        return "train_shape" in data.files and "train_votes" in data.files


def padded(faces: np.ndarray, size: int = 48) -> np.ndarray:
    """Centre crops back to ``size`` x ``size``, their border replicated: the 40x40 validation faces get
    their exact centre back, the 46x46 training faces a one-pixel replicated frame (their random
    40x40 crop then shifts by up to 4 pixels, the last of them into the replicated pixel)."""
    import cv2

    border = (size - faces.shape[1]) // 2
    if border == 0:
        return faces
    return np.stack([cv2.copyMakeBorder(face, border, border, border, border, cv2.BORDER_REPLICATE) for face in faces])


def pack_votes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(Training votes, PublicTest FER+ majority labels) from a pack, without decoding faces."""
    with np.load(path) as data:
        return data["train_votes"], data["val_ferplus"]


def unpack(path: Path) -> dict[str, np.ndarray]:
    """Faces (``train_faces`` 46x46, ``val_faces`` 40x40), labels, votes and FER+ labels by split."""
    with np.load(path) as packed:
        out = {name: packed[name] for name in packed.files if not name.endswith(("_faces", "_shape"))}
        for key in ("train", "val"):
            shape = tuple(int(v) for v in packed[f"{key}_shape"])
            out[f"{key}_faces"] = decode(packed[f"{key}_faces"].tobytes(), (shape[0], shape[1], shape[2]))
    return out


if __name__ == "__main__":
    pack(Path(sys.argv[1]), Path(sys.argv[2]))
