"""The window rules and the baseline, as shared test vectors: the server's code must give exactly what
``extension/tests/vectors/*.json`` says, and the extension's node tests check its port against the same
files (``extension/tests/windows.test.js``, ``baseline.test.js``), so the two cannot drift apart.

``SMILE_WRITE_VECTORS=1`` rewrites the expected values from the server's code (after a deliberate
change of the rules); without it, a mismatch fails.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from inference.baseline import Baseline, adjust_reading
from moods.stream.aggregator import ClosedWindow, WindowAggregator
from moods.stream.messages import baseline_excess

VECTORS = Path(__file__).resolve().parents[3] / "extension" / "tests" / "vectors"
WRITE = os.environ.get("SMILE_WRITE_VECTORS") == "1"


def described(window: ClosedWindow | None, t0: datetime) -> dict[str, Any] | None:
    if window is None:
        return None
    return {
        "start": (window.start - t0).total_seconds(),
        "end": (window.end - t0).total_seconds(),
        "frames": window.frames,
        "faces": window.faces,
        "scores": window.scores,
        "dominant": window.dominant,
        "uncertain": window.uncertain,
    }


def run_case(case: dict[str, Any], t0: datetime) -> list[Any]:
    aggregator = WindowAggregator(window_seconds=case["window_seconds"])
    outcomes: list[Any] = []
    for step in case["steps"]:
        if "add" in step:
            aggregator.add(step["add"], t0 + timedelta(seconds=step["at"]))
            outcomes.append(None)
        elif "due" in step:
            outcomes.append(aggregator.due(t0 + timedelta(seconds=step["due"])))
        elif "close" in step:
            outcomes.append(described(aggregator.close(t0 + timedelta(seconds=step["close"])), t0))
        else:
            outcomes.append(described(aggregator.flush(t0 + timedelta(seconds=step["flush"])), t0))
    return outcomes


def test_the_aggregator_gives_exactly_the_shared_window_vectors() -> None:
    path = VECTORS / "windows.json"
    document = json.loads(path.read_text())
    t0 = datetime.fromisoformat(document["t0"])
    for case in document["cases"]:
        outcomes = run_case(case, t0)
        for step, outcome in zip(case["steps"], outcomes, strict=True):
            if "add" in step:
                continue
            if WRITE:
                step["expect"] = outcome
            else:
                assert step["expect"] == outcome, case["name"]
    if WRITE:
        path.write_text(json.dumps(document, indent=1) + "\n")


def test_the_baseline_adjusts_exactly_as_the_shared_vectors_say() -> None:
    path = VECTORS / "baseline.json"
    document = json.loads(path.read_text())
    for case in document["baselines"]:
        baseline = Baseline(log_scores=tuple(case["log_scores"]), faces=case["faces"])
        excess = baseline_excess(baseline)
        adjusted = [adjust_reading(frame, baseline) for frame in document["frames"]]
        if WRITE:
            case["excess"], case["adjusted"] = excess, adjusted
        else:
            assert case["excess"] == excess, case["name"]
            assert case["adjusted"] == adjusted, case["name"]
    if WRITE:
        path.write_text(json.dumps(document, indent=1) + "\n")


def test_every_vector_has_its_expected_values() -> None:
    windows = json.loads((VECTORS / "windows.json").read_text())
    assert all("expect" in step for case in windows["cases"] for step in case["steps"] if "add" not in step)
    baseline = json.loads((VECTORS / "baseline.json").read_text())
    assert all("excess" in case and "adjusted" in case for case in baseline["baselines"])
