"""FER+ votes (Barsoum et al. 2016): ten raters per FER-2013 face, as targets and as labels.

The FER+ files (``ferplus_<split>.npz``, beside ``fer2013_<split>.npz``) hold, row for row with
the FER-2013 files, ``votes`` (N, 10) in FER+ order, ``ferplus_labels`` (the majority mapped to
FER-2013 order, -1 where there is none among our seven classes) and ``matched``.

Contempt is not one of the product's seven expressions. Its votes are dropped and the
remaining seven renormalised: contempt is a one-sided, mild expression that FER+ raters mostly
split with neutral, and mapping it onto neutral (or disgust) would teach the network a class
the raters did not pick. Unknown and not-a-face votes are dropped the same way.

Only this module knows the FER+ order; everything else sees ``EMOTIONS`` order. NumPy only
(no TensorFlow): the GPU training script uses it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.emotions import EMOTIONS

FERPLUS_CLASSES = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
# Column of FERPLUS_CLASSES for each of EMOTIONS (angry, disgust, fear, happy, sad, surprise, neutral).
_FERPLUS_COLUMN = {"angry": 4, "disgust": 5, "fear": 6, "happy": 1, "sad": 3, "surprise": 2, "neutral": 0}
EMOTION_COLUMNS = np.array([_FERPLUS_COLUMN[e] for e in EMOTIONS])
UNKNOWN, NOT_A_FACE = 8, 9


class FerPlusError(ValueError):
    """The FER+ votes are missing or do not match the faces; the message says which."""


@dataclass(frozen=True)
class FerPlusVotes:
    votes: np.ndarray  # (N, 10) uint8, FER+ order
    labels: np.ndarray  # (N,) int8: FER+ majority in EMOTIONS order, -1 where none among the seven
    matched: np.ndarray  # (N,) bool: False where FER+ has no votes for the face

    def __len__(self) -> int:
        return len(self.labels)


def ferplus_path_for(fer_path: Path) -> Path:
    """``.../fer2013_PublicTest.npz`` -> ``.../ferplus_PublicTest.npz``."""
    name = fer_path.name
    if not name.startswith("fer2013_"):
        raise FerPlusError(f"{fer_path}: FER+ votes are found beside fer2013_<split>.npz files only")
    return fer_path.with_name("ferplus_" + name.removeprefix("fer2013_"))


def load_votes(path: Path, *, expected_rows: int | None = None) -> FerPlusVotes:
    if not path.is_file():
        raise FerPlusError(f"FER+ votes not found: {path}")
    with np.load(path) as data:
        missing = {"votes", "ferplus_labels", "matched"} - set(data.files)
        if missing:
            raise FerPlusError(f"{path}: missing {', '.join(sorted(missing))}")
        votes = FerPlusVotes(
            votes=np.asarray(data["votes"], dtype=np.uint8),
            labels=np.asarray(data["ferplus_labels"], dtype=np.int8),
            matched=np.asarray(data["matched"], dtype=bool),
        )
    if votes.votes.shape != (len(votes), len(FERPLUS_CLASSES)) or len(votes.matched) != len(votes):
        raise FerPlusError(f"{path}: expected votes (N, 10), ferplus_labels (N,) and matched (N,)")
    if expected_rows is not None and len(votes) != expected_rows:
        raise FerPlusError(f"{path}: {len(votes)} rows of votes for {expected_rows} faces")
    return votes


def soft_targets(votes: np.ndarray, *, drop_single_votes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Vote distributions over EMOTIONS, and which faces to train on.

    A face is left out when it has no votes, when not-a-face or unknown got the most votes, or
    when no vote is left among the seven. Like Barsoum et al., a class with a single vote is
    treated as a rater's slip and dropped (when another class has more). Returns
    ``(targets (N, 7) float32 rows summing to 1 where kept, keep (N,) bool)``.
    """
    votes = votes.astype(np.float32)
    if drop_single_votes:
        votes = np.where((votes <= 1) & (votes.max(axis=1, keepdims=True) > 1), 0.0, votes)
    top = votes.max(axis=1)
    keep = (top > 0) & (votes[:, UNKNOWN] < top) & (votes[:, NOT_A_FACE] < top)
    seven = votes[:, EMOTION_COLUMNS]
    totals = seven.sum(axis=1)
    keep &= totals > 0
    targets = np.where(keep[:, None], seven / np.maximum(totals, 1.0)[:, None], 0.0).astype(np.float32)
    return targets, keep


def mix_in_labels(targets: np.ndarray, labels: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * targets + weight * one_hot(labels)``: the votes with FER-2013's labels mixed in.

    The two say different things. FER-2013's label is the expression a face was found under
    (mostly posed or meant, like JAFFE's), the votes what ten raters saw in it: a mild frown is
    "angry" to the first and, to most raters, "neutral". Trained on the votes alone, the network
    reads such faces neutral; a share of the label keeps what the face was meant to show, while
    the votes, where they are clear, keep the majority: a face whose votes give their top class a
    lead of more than ``weight / (1 - weight)`` over the labelled one keeps it. (Tried to raise
    JAFFE, it did not within the model's targets: docs/model.md.)
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"the FER-2013 label weight must be between 0 and 1, not {weight}")
    one_hot = np.eye(len(EMOTIONS), dtype=np.float32)[labels]
    mixed: np.ndarray = ((1.0 - weight) * targets + weight * one_hot).astype(np.float32)
    return mixed


def presence_targets(targets: np.ndarray, share: float, neutral_weight: float) -> np.ndarray:
    """Vote distributions where an expression a meaningful share of raters saw counts as present.

    Trained on the vote distributions alone, the network learns the raters' habit of calling a
    faint expression neutral: a face that 4 of 10 raters read angry and 6 neutral is a neutral
    target. Here a face (a row of ``soft_targets``) whose votes give some expression other than
    neutral at least ``share`` of them has its neutral share scaled by ``neutral_weight`` and the
    row renormalised; every other face keeps its distribution (rows of zeros, the faces left out,
    stay zeros). ``share`` in (0, 1], ``neutral_weight`` in [0, 1] (1: the votes unchanged).
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"the presence share must be above 0 and at most 1, not {share}")
    if not 0.0 <= neutral_weight <= 1.0:
        raise ValueError(f"the presence neutral weight must be between 0 and 1, not {neutral_weight}")
    neutral = EMOTIONS.index("neutral")
    expressive = np.delete(targets, neutral, axis=1)
    present = expressive.max(axis=1) >= share
    scaled = targets.astype(np.float32, copy=True)
    scaled[present, neutral] *= neutral_weight
    scaled[present] /= scaled[present].sum(axis=1, keepdims=True)
    return scaled
