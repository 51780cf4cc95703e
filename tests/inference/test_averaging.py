"""Weight averaging (SWA) and the batch-norm recalibration it needs."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from inference.network import build_model
from inference.research.averaging import WeightAverage, averaged_model, recalibrate_batch_norm
from inference.research.training import TrainingConfig


def test_the_average_is_the_mean_of_what_was_added() -> None:
    average = WeightAverage()
    average.add([np.array([1.0, 2.0]), np.array([[4.0]])])
    average.add([np.array([3.0, 6.0]), np.array([[0.0]])])
    mean = average.mean()
    np.testing.assert_allclose(mean[0], [2.0, 4.0])
    np.testing.assert_allclose(mean[1], [[2.0]])
    assert mean[0].dtype == np.float32


def test_an_interrupted_average_resumes_from_its_file(tmp_path: Path) -> None:
    path = tmp_path / "average.npz"
    WeightAverage(path).add([np.array([1.0]), np.array([10.0, 20.0])])
    resumed = WeightAverage(path)
    assert resumed.count == 1
    resumed.add([np.array([3.0]), np.array([30.0, 40.0])])
    np.testing.assert_allclose(WeightAverage(path).mean()[1], [20.0, 30.0])


def test_nothing_averaged_is_an_error() -> None:
    with pytest.raises(ValueError, match="no weights"):
        WeightAverage().mean()


def test_recalibration_sets_batch_norm_statistics_from_the_faces() -> None:
    model = build_model()
    faces = np.full((300, 48, 48), 200, dtype=np.uint8)
    recalibrate_batch_norm(model, faces)
    first_bn = next(layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    # Untouched, the moving means are 0; constant faces give a non-zero activation mean.
    assert np.abs(np.asarray(first_bn.moving_mean)).max() > 0
    assert first_bn.momentum == 0.99  # restored


def test_an_averaged_model_holds_the_averaged_weights() -> None:
    weights = [np.asarray(w) for w in build_model().get_weights()]
    model = averaged_model(weights, np.zeros((10, 48, 48), dtype=np.uint8))
    conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    np.testing.assert_allclose(np.asarray(conv.kernel), weights[0])


def test_the_last_quarter_of_the_epochs_is_averaged() -> None:
    assert TrainingConfig(epochs=48).first_averaged_epoch == 37
    assert TrainingConfig(epochs=1).first_averaged_epoch == 1
