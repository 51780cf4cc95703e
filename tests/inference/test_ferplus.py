"""FER+ votes: soft targets, ``--labels ferplus``, ``--plot``, ``--targets ferplus`` and the GPU data pack."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command

import inference.research.training
from inference.emotions import EMOTIONS
from inference.research.datasets import load_training_data
from inference.research.fer_pack import decode, encode
from inference.research.ferplus import FERPLUS_CLASSES, mix_in_labels, presence_targets, soft_targets


def votes_for(**counts: int) -> np.ndarray:
    row = np.zeros(len(FERPLUS_CLASSES), dtype=np.uint8)
    for name, count in counts.items():
        row[FERPLUS_CLASSES.index(name)] = count
    return row


def test_soft_targets_follow_the_votes_in_our_order_without_contempt_or_slips() -> None:
    votes = np.stack(
        [
            votes_for(happiness=6, neutral=3, surprise=1),  # the single surprise vote is a slip
            votes_for(sadness=4, contempt=4, neutral=2),  # contempt dropped, the rest renormalised
            votes_for(NF=8, happiness=2),  # not a face
            votes_for(unknown=5, anger=5),  # unknown ties the top: left out
            votes_for(),  # unmatched: no votes
            votes_for(contempt=10),  # nothing left among the seven
        ]
    )
    targets, keep = soft_targets(votes)
    assert keep.tolist() == [True, True, False, False, False, False]
    happy, sad, neutral = (EMOTIONS.index(e) for e in ("happy", "sad", "neutral"))
    assert targets[0, happy] == pytest.approx(6 / 9)
    assert targets[0, neutral] == pytest.approx(3 / 9)
    assert targets[1, sad] == pytest.approx(4 / 6)
    np.testing.assert_allclose(targets[keep].sum(axis=1), 1.0)
    assert (targets[~keep] == 0).all()


def test_mixing_in_labels_moves_close_votes_to_the_label_and_keeps_clear_majorities() -> None:
    angry, sad, neutral = (EMOTIONS.index(e) for e in ("angry", "sad", "neutral"))
    targets, _ = soft_targets(
        np.stack(
            [
                votes_for(neutral=6, anger=4),  # a mild frown: lead 0.2
                votes_for(neutral=9, sadness=1),  # clearly neutral (the single sad vote is a slip)
                votes_for(neutral=6, anger=2, sadness=2),  # a lead of 0.4 (over 0.25 / 0.75) on the labelled sad
            ]
        )
    )
    labels = np.array([angry, angry, sad], dtype=np.uint8)
    mixed = mix_in_labels(targets, labels, 0.25)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-6)
    assert mixed[0, angry] == pytest.approx(0.75 * 0.4 + 0.25)
    assert mixed.argmax(axis=1).tolist() == [angry, neutral, neutral]
    np.testing.assert_array_equal(mix_in_labels(targets, labels, 0.0), targets)
    np.testing.assert_array_equal(mix_in_labels(targets, labels, 1.0).argmax(axis=1), labels)
    with pytest.raises(ValueError, match="between 0 and 1"):
        mix_in_labels(targets, labels, 1.5)


def test_an_expression_a_meaningful_share_of_raters_saw_takes_neutral_votes_away() -> None:
    angry, fear, happy, neutral = (EMOTIONS.index(e) for e in ("angry", "fear", "happy", "neutral"))
    targets, keep = soft_targets(
        np.stack(
            [
                votes_for(neutral=6, anger=4),  # a mild frown 4 of 10 raters saw: present
                votes_for(neutral=8, anger=2),  # 0.2 of the votes: below the share, unchanged
                votes_for(neutral=6, anger=2, sadness=2),  # 0.4 expressive, but no one expression has 0.3
                votes_for(neutral=6, fear=2),  # exactly the share (2 of 8): present
                votes_for(happiness=7, neutral=3),  # an expressive majority loses neutral votes too
                votes_for(neutral=9, sadness=1),  # the slip is dropped first: all neutral, unchanged
                votes_for(NF=8, happiness=2),  # left out: a row of zeros stays zeros
            ]
        )
    )
    scaled = presence_targets(targets, 0.25, 0.3)
    assert scaled.dtype == np.float32
    assert scaled[0, angry] == pytest.approx(4 / (4 + 6 * 0.3))
    assert scaled[0, neutral] == pytest.approx(6 * 0.3 / (4 + 6 * 0.3))
    assert scaled[0].argmax() == angry
    np.testing.assert_array_equal(scaled[[1, 2, 5, 6]], targets[[1, 2, 5, 6]])
    assert scaled[3, fear] == pytest.approx(2 / (2 + 6 * 0.3))
    assert scaled[4, happy] == pytest.approx(7 / (7 + 3 * 0.3))
    np.testing.assert_allclose(scaled[keep].sum(axis=1), 1.0, rtol=1e-6)
    assert not np.isnan(scaled).any()
    # A higher share leaves the 2-of-8 face alone; weight 1 changes nothing; weight 0 drops neutral.
    np.testing.assert_array_equal(presence_targets(targets, 0.3, 0.3)[3], targets[3])
    np.testing.assert_array_equal(presence_targets(targets, 0.25, 1.0), targets)
    assert presence_targets(targets, 0.25, 0.0)[[0, 3, 4], neutral].tolist() == [0.0, 0.0, 0.0]
    # The input is left as it was.
    assert targets[0, neutral] == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("share", "weight", "message"),
    [
        (0.0, 0.3, "presence share"),
        (1.5, 0.3, "presence share"),
        (0.3, -0.1, "neutral weight"),
        (0.3, 1.2, "neutral weight"),
    ],
)
def test_presence_targets_refuse_shares_and_weights_out_of_range(share: float, weight: float, message: str) -> None:
    targets, _ = soft_targets(votes_for(neutral=6, anger=4)[None])
    with pytest.raises(ValueError, match=message):
        presence_targets(targets, share, weight)


def write_ferplus_split(folder: Path, split: str, n: int, seed: int = 0) -> np.ndarray:
    """fer2013_<split>.npz and ferplus_<split>.npz; returns the FER+ labels (-1 for every third face)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(EMOTIONS), n).astype(np.uint8)
    ferplus = np.where(np.arange(n) % 3 == 2, -1, (labels + 1) % len(EMOTIONS)).astype(np.int8)
    votes = np.zeros((n, len(FERPLUS_CLASSES)), dtype=np.uint8)
    columns = [4, 5, 6, 1, 3, 2, 0]  # FER+ column of each of EMOTIONS
    for i in range(n):
        votes[i, columns[int(labels[i])]] = 3
        votes[i, columns[int(ferplus[i]) if ferplus[i] >= 0 else 0]] += 7
    images = rng.integers(0, 256, size=(n, 48, 48), dtype=np.uint8)
    np.savez(folder / f"fer2013_{split}.npz", images=images, labels=labels, ids=np.arange(n))
    np.savez(folder / f"ferplus_{split}.npz", votes=votes, ferplus_labels=ferplus, matched=np.ones(n, bool))
    return ferplus


def evaluate(*args: str) -> dict:
    out = StringIO()
    call_command("evaluate_emotion_model", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_evaluate_scores_against_the_ferplus_majority_and_reports_fer2013_beside_it(tmp_path: Path) -> None:
    ferplus = write_ferplus_split(tmp_path, "PublicTest", 12)
    report = evaluate("--data", str(tmp_path / "fer2013_PublicTest.npz"), "--labels", "ferplus")
    assert report["labels"] == "ferplus"
    assert report["n"] == int((ferplus >= 0).sum()) == 8  # faces without a majority are left out
    assert sum(row["n"] for row in report["per_class"].values()) == 8
    assert report["fer2013"]["n"] == 12
    assert 0.0 <= report["ece"] <= 1.0
    assert sum(row["n"] for row in report["reliability"]) == 8


def test_evaluate_needs_the_votes_beside_the_faces_for_ferplus_labels(tmp_path: Path) -> None:
    write_ferplus_split(tmp_path, "PublicTest", 6)
    (tmp_path / "ferplus_PublicTest.npz").unlink()
    with pytest.raises(CommandError, match="FER\\+ votes not found"):
        evaluate("--data", str(tmp_path / "fer2013_PublicTest.npz"), "--labels", "ferplus")
    faces = tmp_path / "faces.npz"
    np.savez(faces, images=np.zeros((2, 48, 48), np.uint8), labels=np.zeros(2, np.uint8))
    with pytest.raises(CommandError, match=r"beside fer2013_<split>\.npz"):
        evaluate("--data", str(faces), "--labels", "ferplus")
    with pytest.raises(CommandError, match="invalid choice"):
        evaluate("--data", str(faces), "--labels", "majority")


def test_evaluate_plots_a_reliability_diagram_png(tmp_path: Path) -> None:
    write_ferplus_split(tmp_path, "PublicTest", 9)
    plot = tmp_path / "reliability.png"
    report = evaluate("--data", str(tmp_path / "fer2013_PublicTest.npz"), "--labels", "ferplus", "--plot", str(plot))
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imread(str(plot))
    assert image is not None
    assert image.shape[0] > 300
    assert "ece" in report


def test_training_on_ferplus_votes_runs_one_tiny_epoch(tmp_path: Path) -> None:
    write_ferplus_split(tmp_path, "Training", 48, seed=1)
    ferplus = write_ferplus_split(tmp_path, "PublicTest", 12, seed=2)
    out_dir = tmp_path / "model"
    log = StringIO()
    call_command(
        "train_emotion_model",
        *("--data", str(tmp_path), "--out", str(out_dir), "--epochs", "1", "--batch-size", "16"),
        *("--targets", "ferplus"),
        stdout=log,
    )
    assert f"training on 48 faces, validating on {int((ferplus >= 0).sum())}" in log.getvalue()
    card = json.loads((out_dir / "model_card.json").read_text())
    assert card["training"]["targets"] == "ferplus"
    assert card["training"]["label_smoothing"] == 0.0
    assert card["validation"]["n"] == 8


def test_training_mixes_fer2013_labels_into_the_votes_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_ferplus_split(tmp_path, "Training", 48, seed=1)
    write_ferplus_split(tmp_path, "PublicTest", 12, seed=2)
    trained_on: list[np.ndarray] = []
    real_train = inference.research.training.train

    def recording_train(*args: Any, **kwargs: Any) -> Any:
        trained_on.append(kwargs["targets"])
        return real_train(*args, **kwargs)

    # The command imports train() when it runs (TensorFlow loads then): record what it is given.
    monkeypatch.setattr(inference.research.training, "train", recording_train)
    out_dir = tmp_path / "model"
    call_command(
        "train_emotion_model",
        *("--data", str(tmp_path), "--out", str(out_dir), "--epochs", "1", "--batch-size", "16"),
        *("--targets", "ferplus", "--fer2013-weight", "0.3"),
        stdout=StringIO(),
    )
    card = json.loads((out_dir / "model_card.json").read_text())
    assert card["training"]["fer2013_weight"] == 0.3
    # What the command trained on: each kept face's votes with 0.3 of its FER-2013 label mixed in.
    train_set, _ = load_training_data(tmp_path)
    votes = np.load(tmp_path / "ferplus_Training.npz")["votes"]
    plain, keep = soft_targets(votes)
    [targets] = trained_on
    np.testing.assert_allclose(targets, mix_in_labels(plain, train_set.labels, 0.3)[keep])
    assert not np.allclose(targets, plain[keep])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--fer2013-weight", "0.3"), "needs --targets ferplus"),
        (("--targets", "ferplus", "--fer2013-weight", "-0.1"), "between 0 and 1"),
        (("--targets", "ferplus", "--fer2013-weight", "1.5"), "between 0 and 1"),
    ],
)
def test_a_fer2013_weight_needs_vote_targets_and_a_share(tmp_path: Path, extra: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("train_emotion_model", "--data", str(tmp_path), "--out", str(tmp_path / "m"), *extra)


def test_ferplus_targets_need_the_npz_folder(tmp_path: Path) -> None:
    csv = tmp_path / "fer2013.csv"
    pixels = " ".join(["0"] * 2304)
    csv.write_text("emotion,pixels,Usage\n" + "".join(f"0,{pixels},{usage}\n" for usage in ("Training", "PublicTest")))
    with pytest.raises(CommandError, match="--targets ferplus needs"):
        call_command("train_emotion_model", "--data", str(csv), "--out", str(tmp_path / "m"), "--targets", "ferplus")


def test_the_gpu_data_pack_is_lossless() -> None:
    faces = np.random.default_rng(3).integers(0, 256, size=(5, 46, 46), dtype=np.uint8)
    faces[0] = 255  # flat and extreme faces wrap around the predictor's residuals
    faces[1] = 0
    assert np.array_equal(decode(encode(faces), faces.shape), faces)
