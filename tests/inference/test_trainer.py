"""The one trainer: its schedule, the GPU pack, distillation, and running without Django on any backend."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from inference.research import training
from inference.research.datasets import load_training_data
from inference.research.fer_pack import pack
from inference.research.ferplus import presence_targets, soft_targets
from inference.research.training import Schedule, TrainingConfig, TrainingError, ferplus_sets, fitted_total
from tests.inference.test_ferplus import write_ferplus_split

ROOT = Path(__file__).resolve().parents[2]


def test_the_learning_rate_warms_up_then_decays_to_a_hundredth() -> None:
    schedule = Schedule(peak=1e-3, warmup=2, total=10)
    rates = [schedule.rate(epoch) for epoch in range(10)]
    assert rates[0] == pytest.approx(1e-4)
    assert rates[2] == pytest.approx(1e-3)
    assert all(later < earlier for earlier, later in itertools.pairwise(rates[2:]))
    assert schedule.rate(10) == pytest.approx(1e-5)


def test_a_budget_fits_the_runs_length_after_two_timed_epochs() -> None:
    config = TrainingConfig(epochs=100, budget_seconds=100.0)
    assert fitted_total(config, elapsed=10.0, per_epoch=5.0) == 20  # 18 more epochs fit, after the first two
    assert fitted_total(config, elapsed=90.0, per_epoch=50.0) == 3  # never fewer than three
    assert fitted_total(TrainingConfig(epochs=12, budget_seconds=1e6), elapsed=1.0, per_epoch=1.0) == 12


def write_pack(tmp_path: Path) -> tuple[Path, np.ndarray]:
    write_ferplus_split(tmp_path, "Training", 48, seed=1)
    ferplus = write_ferplus_split(tmp_path, "PublicTest", 12, seed=2)
    pack(tmp_path, tmp_path / "fer_packed.npz")
    return tmp_path / "fer_packed.npz", ferplus


def test_the_gpu_pack_reads_as_the_folder_it_was_packed_from(tmp_path: Path) -> None:
    packed, _ = write_pack(tmp_path)
    (train, val), (folder_train, folder_val) = load_training_data(packed), load_training_data(tmp_path)
    # The validation faces' 40x40 centre is exact; the training faces' central 46x46 too.
    assert np.array_equal(val.images[:, 4:44, 4:44], folder_val.images[:, 4:44, 4:44])
    assert np.array_equal(train.images[:, 1:47, 1:47], folder_train.images[:, 1:47, 1:47])
    assert np.array_equal(train.labels, folder_train.labels)
    votes_from_pack = ferplus_sets(packed, train, val, 0.0)
    votes_from_folder = ferplus_sets(tmp_path, folder_train, folder_val, 0.0)
    np.testing.assert_allclose(votes_from_pack[2], votes_from_folder[2])
    assert np.array_equal(votes_from_pack[1].labels, votes_from_folder[1].labels)


def test_training_on_the_gpu_pack_validates_on_the_ferplus_majority(tmp_path: Path) -> None:
    packed, ferplus = write_pack(tmp_path)
    out = tmp_path / "model"
    call_command(
        "train_emotion_model",
        *("--data", str(packed), "--out", str(out), "--epochs", "1", "--batch-size", "16", "--targets", "ferplus"),
        stdout=StringIO(),
    )
    card = json.loads((out / "model_card.json").read_text())
    assert card["validation"]["n"] == int((ferplus >= 0).sum())
    assert card["training"]["backend"] == "tensorflow"


def test_a_teacher_takes_its_share_of_the_targets(tmp_path: Path) -> None:
    write_ferplus_split(tmp_path, "Training", 48, seed=1)
    write_ferplus_split(tmp_path, "PublicTest", 12, seed=2)
    train, val = load_training_data(tmp_path)
    teacher = np.full((48, 7), 1 / 7, dtype=np.float32)
    _, _, targets = ferplus_sets(tmp_path, train, val, 0.0, teacher=teacher, teacher_weight=0.25)
    plain, keep = soft_targets(np.load(tmp_path / "ferplus_Training.npz")["votes"])
    np.testing.assert_allclose(targets, 0.75 * plain[keep] + 0.25 / 7, rtol=1e-5)
    with pytest.raises(TrainingError, match="expected"):
        ferplus_sets(tmp_path, train, val, 0.0, teacher=teacher[:10], teacher_weight=0.25)


def test_presence_reshapes_the_votes_before_a_teacher_is_mixed_in(tmp_path: Path) -> None:
    write_ferplus_split(tmp_path, "Training", 48, seed=1)
    write_ferplus_split(tmp_path, "PublicTest", 12, seed=2)
    train, val = load_training_data(tmp_path)
    plain, keep = soft_targets(np.load(tmp_path / "ferplus_Training.npz")["votes"])
    kept, _, targets = ferplus_sets(tmp_path, train, val, 0.0, presence=(0.3, 0.3))
    expected = presence_targets(plain, 0.3, 0.3)[keep]
    np.testing.assert_allclose(targets, expected)
    assert not np.allclose(targets, plain[keep])  # the faces 3 of 10 raters read expressive changed
    np.testing.assert_array_equal(kept.labels, expected.argmax(axis=1))
    teacher = np.full((48, 7), 1 / 7, dtype=np.float32)
    _, _, mixed = ferplus_sets(tmp_path, train, val, 0.0, teacher=teacher, teacher_weight=0.25, presence=(0.3, 0.3))
    np.testing.assert_allclose(mixed, 0.75 * expected + 0.25 / 7, rtol=1e-5)


def test_the_command_trains_on_presence_targets_and_records_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_ferplus_split(tmp_path, "Training", 48, seed=1)
    write_ferplus_split(tmp_path, "PublicTest", 12, seed=2)
    given: list[dict[str, Any]] = []

    # Record what the command would train on, without training (no TensorFlow here).
    def recording_train(*args: Any, **kwargs: Any) -> dict[str, object]:
        given.append(kwargs)
        return {}

    monkeypatch.setattr(training, "train", recording_train)
    call_command(
        "train_emotion_model",
        *("--data", str(tmp_path), "--out", str(tmp_path / "m"), "--targets", "ferplus"),
        *("--presence-share", "0.3", "--presence-neutral-weight", "0.5"),
        stdout=StringIO(),
    )
    [kwargs] = given
    assert (kwargs["config"].presence_share, kwargs["config"].presence_neutral_weight) == (0.3, 0.5)
    plain, keep = soft_targets(np.load(tmp_path / "ferplus_Training.npz")["votes"])
    np.testing.assert_allclose(kwargs["targets"], presence_targets(plain, 0.3, 0.5)[keep])
    given.clear()
    call_command(
        "train_emotion_model",
        *("--data", str(tmp_path), "--out", str(tmp_path / "m"), "--targets", "ferplus"),
        stdout=StringIO(),
    )
    [kwargs] = given
    assert (kwargs["config"].presence_share, kwargs["config"].presence_neutral_weight) == (0.0, 1.0)
    np.testing.assert_allclose(kwargs["targets"], plain[keep])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--presence-share", "0.3"), "--presence-share reshapes the FER\\+ votes: it needs --targets ferplus"),
        (("--targets", "ferplus", "--presence-share", "0"), "--presence-share must be above 0 and at most 1, not 0.0"),
        (
            ("--targets", "ferplus", "--presence-share", "1.2"),
            "--presence-share must be above 0 and at most 1, not 1.2",
        ),
        (
            ("--targets", "ferplus", "--presence-share", "0.3", "--presence-neutral-weight", "-0.1"),
            "--presence-neutral-weight must be between 0 and 1, not -0.1",
        ),
        (
            ("--targets", "ferplus", "--presence-share", "0.3", "--presence-neutral-weight", "1.5"),
            "--presence-neutral-weight must be between 0 and 1, not 1.5",
        ),
    ],
)
def test_presence_options_are_refused_out_of_range(tmp_path: Path, extra: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("train_emotion_model", "--data", str(tmp_path), "--out", str(tmp_path / "m"), *extra)


def test_a_teacher_needs_vote_targets(tmp_path: Path) -> None:
    teacher = tmp_path / "teacher.npy"
    np.save(teacher, np.ones((4, 7)))
    with pytest.raises(CommandError, match="--teacher needs --targets ferplus"):
        call_command(
            "train_emotion_model", "--data", str(tmp_path), "--out", str(tmp_path / "m"), "--teacher", str(teacher)
        )


def test_the_trainer_runs_without_django_or_tensorflow_imported_first() -> None:
    """A GPU machine runs ``python -m inference.research.training`` with Keras on JAX or PyTorch only."""
    code = (
        "import sys, runpy; sys.argv = ['training', '--help']\n"
        "try:\n    runpy.run_module('inference.research.training', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "assert 'django' not in sys.modules, 'django imported'\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "numpy"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--budget-seconds" in result.stdout
