"""``manage.py convert_emotion_model W.weights.h5 [W2.weights.h5[:width] ...] --out M.tflite``: the served file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.network import Lighting
from inference.research.datasets import DatasetError, load_evaluation_data
from inference.research.ferplus import FerPlusError, ferplus_path_for, load_votes


def parse_member(text: str) -> tuple[Path, float]:
    """``path`` or ``path:width`` (width scales the network's filters, default 1.0)."""
    path, _, width = text.partition(":")
    try:
        return Path(path), float(width) if width else 1.0
    except ValueError as exc:
        raise CommandError(f"{text}: expected WEIGHTS or WEIGHTS:WIDTH") from exc


class Command(BaseCommand):
    help = (
        "Convert trained Keras weights (one network or several, averaged) into the served LiteRT file "
        "with dynamic-range quantisation, test-time mirror averaging, optionally each face's lighting evened out "
        "(--lighting), and a temperature baked in. "
        "--calibrate-on fits the temperature on labelled faces (FER+ majority where the votes are beside "
        "a fer2013_<split>.npz) and writes the model card (model_card.json, MODEL_CARD.md) beside the file. "
        "Needs TensorFlow; serving the file does not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("members", nargs="+", help="Keras .weights.h5 files, each optionally :WIDTH")
        parser.add_argument("--out", type=Path, required=True, help="the .tflite file to write (JSON manifest beside)")
        parser.add_argument("--no-mirror", action="store_true", help="score the face only, not also its mirror")
        parser.add_argument("--temperature", type=float, default=1.0, help="used when --calibrate-on is not given")
        parser.add_argument(
            "--lighting",
            metavar="MEAN:MIN_STD",
            help="move each face's mean to MEAN and raise its contrast to at least MIN_STD first (served: 128:50)",
        )
        parser.add_argument("--calibrate-on", type=Path, help="labelled faces (.npz) to fit the temperature on")
        parser.add_argument("--jaffe", type=Path, help="JAFFE .npz for the card's cross-data-set check")
        parser.add_argument("--card-extra", type=Path, help="JSON merged into the card (training runs, lineage)")

    def handle(self, *args: Any, **options: Any) -> None:
        from inference.research.conversion import build_ensemble, convert, load_members
        from inference.research.model_card import write_served_card
        from inference.serving import Member, ServingSpec, manifest_path, sha256

        out: Path = options["out"]
        if out.suffix != ".tflite":
            raise CommandError("--out must name a .tflite file")
        if options["temperature"] <= 0:
            raise CommandError("--temperature must be positive")
        try:
            lighting = Lighting.parse(options["lighting"]) if options["lighting"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        out.parent.mkdir(parents=True, exist_ok=True)
        members = []
        for path, width in map(parse_member, options["members"]):
            if not path.is_file():
                raise CommandError(f"weights not found: {path}")
            # The manifest names members relative to its folder: keep a copy there (the parity
            # test and later conversions read them from beside the served file).
            local = out.parent / path.name
            if local.resolve() != path.resolve():
                shutil.copyfile(path, local)
            members.append(Member(weights=path.name, width=width, sha256=sha256(local)))
        mirror = not options["no_mirror"]
        spec = ServingSpec(members=members, mirror=mirror, temperature=options["temperature"], lighting=lighting)
        networks = load_members(spec, out.parent)
        calibration: dict[str, Any] = {}
        if options["calibrate_on"]:
            calibration = self.calibrate(networks, options["calibrate_on"], mirror=mirror, lighting=lighting)
            spec = ServingSpec(
                members=members,
                mirror=mirror,
                temperature=calibration["temperature"],
                lighting=lighting,
                extra={"calibration": calibration},
            )
        ensemble = build_ensemble(networks, mirror=mirror, temperature=spec.temperature, lighting=lighting)
        out.write_bytes(convert(ensemble))
        manifest_path(out).write_text(spec.to_json())
        self.stdout.write(
            f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB, sha256 {sha256(out)}): {len(members)} network(s) x "
            f"{2 if mirror else 1} view(s), temperature {spec.temperature:.4f}"
            + (f", lighting {lighting.mean:g}:{lighting.min_std:g}" if lighting else "")
        )
        if options["calibrate_on"]:
            extra = json.loads(options["card_extra"].read_text()) if options["card_extra"] else {}
            card = write_served_card(
                out, spec, calibrate_on=options["calibrate_on"], jaffe=options["jaffe"], networks=networks, extra=extra
            )
            validation = card["validation"]
            self.stdout.write(
                f"served: FER+ majority agreement {validation['accuracy']:.2%} on {validation['n']} faces, "
                f"FER-2013 labels {validation['fer2013']['accuracy']:.2%}, ECE {validation['ece']:.2%}"
            )

    def calibrate(self, networks: list[Any], data: Path, *, mirror: bool, lighting: Lighting | None) -> dict[str, Any]:
        from inference.research.calibration import expected_calibration_error, fit_temperature
        from inference.research.conversion import keras_scores
        from inference.serving import calibrate

        try:
            faces = load_evaluation_data(data)
            votes = load_votes(ferplus_path_for(data), expected_rows=len(faces))
        except (DatasetError, FerPlusError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        chosen = votes.labels >= 0
        labels = votes.labels[chosen].astype(int)
        probabilities = keras_scores(networks, faces.images, mirror=mirror, lighting=lighting)[chosen]
        temperature = fit_temperature(probabilities, labels)
        result = {
            "temperature": round(temperature, 4),
            "fitted_on": f"{data.name}, FER+ majority ({len(labels)} faces)",
            "ece_before": round(expected_calibration_error(probabilities, labels), 4),
            "ece_after": round(expected_calibration_error(calibrate(probabilities, temperature), labels), 4),
        }
        self.stdout.write(
            f"temperature {temperature:.4f}: ECE {result['ece_before']:.2%} -> {result['ece_after']:.2%} "
            "(Keras, 15 bins)"
        )
        return result
