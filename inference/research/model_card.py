"""The served model's card (``model_card.json`` and ``MODEL_CARD.md`` beside the served file).

Written by ``convert_emotion_model --calibrate-on``: every figure in it is measured on the
served LiteRT file itself, not on the Keras networks it was made from.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from inference.emotions import EMOTIONS
from inference.research.datasets import load_evaluation_data
from inference.research.evaluation import report_scores
from inference.research.ferplus import ferplus_path_for, load_votes
from inference.research.training import CARD_MARKDOWN
from inference.serving import CARD_JSON, ServedScorer, ServingSpec, sha256


def _jaffe(scorer: ServedScorer, path: Path) -> dict[str, Any]:
    faces = load_evaluation_data(path)
    predicted = scorer.score(faces.images).argmax(axis=1)
    expressive = faces.labels != EMOTIONS.index("neutral")
    return {
        "data": path.name,
        "accuracy": float((predicted == faces.labels).mean()),
        "n": len(faces),
        "expressive_accuracy": float((predicted[expressive] == faces.labels[expressive]).mean()),
        "expressive_n": int(expressive.sum()),
        "per_class": {
            e: float((predicted[faces.labels == i] == i).mean())
            for i, e in enumerate(EMOTIONS)
            if (faces.labels == i).any()
        },
    }


def write_served_card(
    model_path: Path,
    spec: ServingSpec,
    *,
    calibrate_on: Path,
    jaffe: Path | None,
    networks: list[Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    scorer = ServedScorer(model_path)
    faces = load_evaluation_data(calibrate_on)
    votes = load_votes(ferplus_path_for(calibrate_on), expected_rows=len(faces))
    report = report_scores(scorer.score(faces.images), faces.labels, votes.labels)
    report.pop("reliability")
    card: dict[str, Any] = {
        "model": "smile_emotion_served",
        "emotions": list(EMOTIONS),
        "file": model_path.name,
        "sha256": sha256(model_path),
        "runtime": "LiteRT (ai-edge-litert), " + spec.quantization,
        "input": "48x48 grayscale face, centre-cropped to 40x40, raw 0-255 values",
        "architecture": (
            "VGG-style: conv3x3(32w); 2x conv3x3(64w); 2x conv3x3(128w); 2x conv3x3(256w), each conv with batch "
            "norm and ReLU, max-pooling after each block; dense 256; softmax 7 (w: the member's width)"
        ),
        "parameters": int(sum(network.count_params() for network in networks)),
        "members": [{"weights": m.weights, "width": m.width, "sha256": m.sha256} for m in spec.members],
        "test_time_augmentation": "mean of the face and its horizontal mirror" if spec.mirror else "the face only",
        "passes_per_face": spec.passes,
        "lighting": asdict(spec.lighting) if spec.lighting else None,
        "temperature": spec.temperature,
        "calibration": spec.extra.get("calibration", {}),
        "data": f"FER-2013 {calibrate_on.name} with the FER+ raters' majority labels",
        "validation": report,
        **({"jaffe": _jaffe(scorer, jaffe)} if jaffe else {}),
        **extra,
    }
    folder = model_path.parent
    (folder / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n")
    (folder / CARD_MARKDOWN).write_text(card_markdown(card))
    return card


def _percent(value: Any) -> str:
    return f"{float(value):.2%}"


def card_markdown(card: dict[str, Any]) -> str:
    report = card["validation"]
    calibration = card.get("calibration") or {}
    members = ", ".join(f"`{member['weights']}` (width {member['width']})" for member in card["members"])
    lines = [
        "# Model card: smile_emotion_served",
        "",
        "Recognises seven facial expressions in a registered 48x48 grayscale face:",
        ", ".join(EMOTIONS) + ". The scores are calibrated probabilities (they sum to 1).",
        "",
        f"- Served file: `{card['file']}` (sha256 `{card['sha256']}`), run by {card['runtime']}",
        f"- Members: {members}; {card['parameters']:,} parameters",
        f"- Architecture: {card['architecture']}",
        f"- Input: {card['input']}; test-time: {card['test_time_augmentation']} "
        f"({card['passes_per_face']} network passes per face)",
        *(
            [
                f"- Lighting: each face's mean moved to {lighting['mean']:g} and its standard deviation raised to "
                f"at least {lighting['min_std']:g} before the networks read it (in the file's graph)"
            ]
            if (lighting := card.get("lighting"))
            else []
        ),
        f"- Calibration: temperature {card['temperature']} fitted on {calibration.get('fitted_on', '-')}; "
        f"expected calibration error (15 bins, FER+ majority) {_percent(calibration.get('ece_before', 0))} before, "
        f"{_percent(calibration.get('ece_after', 0))} after (Keras); served: {_percent(report['ece'])}",
        "",
        f"## Validation ({card['data']})",
        "",
        f"Agreement with the FER+ majority: **{_percent(report['accuracy'])}** on {report['n']} faces "
        f"(faces without a majority among the seven classes left out). FER-2013-label accuracy on all "
        f"{report['fer2013']['n']} faces: {_percent(report['fer2013']['accuracy'])}.",
        "",
        "| emotion | recall (FER+ majority) | faces |",
        "| --- | --- | --- |",
        *(f"| {e} | {_percent(report['per_class'][e]['recall'])} | {report['per_class'][e]['n']} |" for e in EMOTIONS),
        "",
        "Confusion matrix (rows: FER+ majority, columns: predicted, in the order above):",
        "",
        "```",
        *(" ".join(f"{v:5d}" for v in row) for row in report["confusion"]),
        "```",
        "",
        "![Reliability diagram](../../docs/reliability_publictest.png)",
        "",
    ]
    if "jaffe" in card:
        jaffe = card["jaffe"]
        lines += [
            "## Cross-data-set check: JAFFE (never trained on)",
            "",
            f"{_percent(jaffe['accuracy'])} of {jaffe['n']} posed faces "
            f"({_percent(jaffe['expressive_accuracy'])} of the {jaffe['expressive_n']} expressive ones). Recall: "
            + ", ".join(f"{e} {_percent(r)}" for e, r in jaffe["per_class"].items())
            + ".",
            "",
        ]
    if card.get("lineage"):
        lines += [
            "## How these weights were made",
            "",
            "PublicTest figures of each run (Keras, face + mirror); v1 is the model this one replaced.",
            "",
            "| stage | run | epochs | seconds | FER+ majority | FER-2013 labels |",
            "| --- | --- | --- | --- | --- | --- |",
            *(
                f"| {stage['stage']} | {stage['run']} | {stage['epochs']} | {stage['seconds']} | "
                f"{_percent(stage['ferplus']) if stage.get('ferplus') is not None else '-'} | "
                f"{_percent(stage['fer2013']) if stage.get('fer2013') is not None else '-'} |"
                for stage in card["lineage"]
            ),
            "",
        ]
    for section in card.get("sections", []):
        lines += [f"## {section['title']}", "", *section["lines"], ""]
    lines += [
        "Limits: expressions are not feelings. FER-2013 faces are mostly frontal, web-sourced and",
        "unevenly spread over ages and skin tones; disgust and fear are the weakest classes.",
        "",
    ]
    return "\n".join(lines)
