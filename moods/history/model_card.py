"""The honest note on the history page: the shipped model's accuracy and weaker classes, read from its model card.

The figures come from ``model_card.json`` beside the weights at run time, never from this code,
so retrained weights bring their own numbers.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

SHIPPED_CARD = Path(__file__).resolve().parents[2] / "inference" / "weights" / "model_card.json"


@dataclass(frozen=True)
class CardSummary:
    accuracy: float
    evaluated_on: int
    data: str
    # (emotion, recall) below the overall accuracy, weakest first.
    weak: tuple[tuple[str, float], ...]

    @property
    def accuracy_percent(self) -> int:
        return round(self.accuracy * 100)

    def weak_text(self) -> str:
        return ", ".join(f"{emotion} ({round(recall * 100)}% recognised)" for emotion, recall in self.weak)


def card_path() -> Path:
    weights = settings.SMILE_EMOTION_WEIGHTS
    beside = Path(str(weights)).with_name("model_card.json") if weights else SHIPPED_CARD
    return beside if beside.is_file() else SHIPPED_CARD


def read_summary(path: Path) -> CardSummary | None:
    """The card's validation figures; None (and a warning) when the card is missing or malformed."""
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
        validation = card["validation"]
        accuracy = float(validation["accuracy"])
        per_class = {str(name): float(value["recall"]) for name, value in validation["per_class"].items()}
        count = int(validation["n"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("model card %s unreadable: %s", path, type(exc).__name__)
        return None
    weak = tuple(
        sorted(((name, recall) for name, recall in per_class.items() if recall < accuracy), key=lambda x: x[1])
    )
    return CardSummary(accuracy=accuracy, evaluated_on=count, data=str(card.get("data", "")), weak=weak)


@functools.cache
def _cached(path: Path) -> CardSummary | None:
    return read_summary(path)


def summary() -> CardSummary | None:
    return _cached(card_path())
