"""Averaging the weights of several fine-tuned runs into one network (a "model soup").

Runs fine-tuned from the same weights with different seeds land in one basin of the loss
surface, in different spots; the mean of their weights sits nearer its centre and often
validates better than any of them, at no cost when serving: it is still one network. Not
always (see docs/model.md), so the average competes with the runs themselves. Its batch-norm
statistics are recomputed on clean training faces, as for SWA.

Called by ``manage.py average_emotion_models``; plain functions, no Django.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from inference.network import Lighting
from inference.research.datasets import LabeledFaces
from inference.research.training import ship_best
from inference.serving import CARD_JSON


class SoupError(ValueError):
    """The given weight files cannot be averaged (missing, unreadable, or not this network)."""


def _ingredient(path: Path) -> tuple[Any, dict[str, Any]]:
    """The network holding ``path``'s weights, and what its model card (if beside it) says of its run."""
    from inference.network import build_model

    model = build_model()
    try:
        model.load_weights(str(path))
    except (OSError, ValueError, KeyError) as exc:
        raise SoupError(f"{path}: not weights of this network ({exc})") from exc
    run: dict[str, Any] = {"weights": str(path)}
    try:
        card = json.loads(path.with_name(CARD_JSON).read_text())
    except (OSError, ValueError):
        card = None  # weights without a (readable) card: the run's details are unknown
    if isinstance(card, dict):
        training = card.get("training") or {}
        run.update(
            epochs=card.get("epochs"),
            seconds=card.get("training_seconds"),
            seed=training.get("seed"),
            init_weights=training.get("init_weights"),
        )
    return model, run


def average_models(
    weight_files: Sequence[Path],
    train_set: LabeledFaces,
    val_set: LabeledFaces,
    out_dir: Path,
    *,
    data_description: str = "",
    lighting: Lighting | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, object]:
    """Average ``weight_files`` uniformly; ship whichever of the average and the runs validates best.

    ``lighting``: the runs were trained on lit faces (``train_emotion_model --lighting``); batch
    norm is recomputed and every candidate validated on faces lit the same way.

    Returns the model card (also written to ``out_dir`` with the weights).
    """
    from inference.research.averaging import WeightAverage, averaged_model

    if len(weight_files) < 2:
        raise SoupError("give at least two weight files to average")
    missing = [str(path) for path in weight_files if not path.is_file()]
    if missing:
        raise SoupError(f"no such weight file: {', '.join(missing)}")
    started = time.monotonic()
    candidates: dict[str, Any] = {}
    runs: list[dict[str, Any]] = []
    average = WeightAverage()
    for path in weight_files:
        model, run = _ingredient(path)
        candidates[f"run {len(runs) + 1} ({path})"] = model
        runs.append(run)
        average.add(model.get_weights())
    soup_name = f"uniform average of {len(runs)} runs"
    candidates[soup_name] = averaged_model(average.mean(), train_set.images, lighting=lighting)
    known_seconds = [float(run["seconds"]) for run in runs if run.get("seconds") is not None]
    return ship_best(
        candidates,
        out_dir=out_dir,
        train_set=train_set,
        val_set=val_set,
        data_description=data_description,
        lighting=lighting,
        run={
            "training": {"method": "uniform weight average (model soup), batch norm recomputed", "runs": runs},
            "epochs": sum(int(run.get("epochs") or 0) for run in runs),
            "training_seconds": round(sum(known_seconds) + time.monotonic() - started, 1),
        },
        log=log,
    )
