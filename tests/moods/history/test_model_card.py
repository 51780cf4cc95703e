"""The history page's honest note reads accuracy and weak classes from the model card at run time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moods.history import model_card


def test_the_shipped_card_gives_the_accuracy_and_the_weak_classes_weakest_first() -> None:
    card = json.loads(model_card.SHIPPED_CARD.read_text())
    summary = model_card.read_summary(model_card.SHIPPED_CARD)

    assert summary is not None
    assert summary.accuracy == card["validation"]["accuracy"]
    recalls = [recall for _, recall in summary.weak]
    assert recalls == sorted(recalls)
    assert all(recall < summary.accuracy for recall in recalls)
    assert summary.weak[0][0] == min(
        card["validation"]["per_class"], key=lambda e: card["validation"]["per_class"][e]["recall"]
    )


def test_a_retrained_card_beside_other_weights_brings_its_own_figures(tmp_path: Path, settings) -> None:
    per_class = {"happy": {"recall": 0.9, "n": 10}, "sad": {"recall": 0.4, "n": 10}}
    (tmp_path / "model_card.json").write_text(
        json.dumps({"validation": {"accuracy": 0.7, "n": 20, "per_class": per_class}, "data": "mine"})
    )
    settings.SMILE_EMOTION_WEIGHTS = str(tmp_path / "other.weights.h5")

    summary = model_card.read_summary(model_card.card_path())

    assert summary is not None
    assert (summary.accuracy_percent, summary.evaluated_on, summary.weak) == (70, 20, (("sad", 0.4),))
    assert summary.weak_text() == "sad (40% recognised)"


@pytest.mark.parametrize("content", ["", "{}", '{"validation": {"accuracy": "high"}}', "[1, 2]"])
def test_a_broken_card_gives_no_note_instead_of_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "model_card.json"
    path.write_text(content)
    assert model_card.read_summary(path) is None
    assert model_card.read_summary(tmp_path / "missing.json") is None
