"""The training and evaluation commands, on small generated data sets in every accepted form."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from inference.emotions import EMOTIONS
from inference.network import FaceScorer, Lighting, build_model
from inference.research.datasets import load_training_data
from inference.research.evaluation import evaluate

# The Keras weights of the served model's network (the served file itself is LiteRT).
SHIPPED_KERAS = Path(settings.SMILE_EMOTION_WEIGHTS).with_name("emotion_cnn.weights.h5")


def random_faces(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 48, 48), dtype=np.uint8)


def write_tree(root: Path, counts: dict[str, int], prefix: str = "img") -> None:
    for index, (folder, count) in enumerate(counts.items()):
        (root / folder).mkdir(parents=True)
        for i, face in enumerate(random_faces(count, seed=index)):
            cv2.imwrite(str(root / folder / f"{prefix}_{i}.png"), face)


def write_csv(path: Path, usages: dict[str, int]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for usage, count in usages.items():
            for i, face in enumerate(random_faces(count)):
                writer.writerow([i % len(EMOTIONS), " ".join(map(str, face.ravel())), usage])


def evaluate_json(*args: str) -> dict:
    out = StringIO()
    call_command("evaluate_emotion_model", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_evaluate_reads_a_folder_tree_with_synonyms_and_lists_skipped_classes(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Anger": 2, "happiness": 3, "SAD": 1, "surprised": 2, "contempt": 2, "other": 1})
    (tmp_path / "happiness" / "notes.txt").write_text("not an image")
    report = evaluate_json("--data", str(tmp_path))
    assert set(report) == {"accuracy", "n", "per_class", "confusion", "skipped", "labels", "ece", "reliability"}
    assert report["labels"] == "fer2013"
    assert report["n"] == 8
    assert report["skipped"] == ["contempt", "other"]
    assert list(report["per_class"]) == list(EMOTIONS)
    assert {e: report["per_class"][e]["n"] for e in EMOTIONS} == {
        "angry": 2,
        "disgust": 0,
        "fear": 0,
        "happy": 3,
        "sad": 1,
        "surprise": 2,
        "neutral": 0,
    }
    confusion = np.array(report["confusion"])
    assert confusion.shape == (7, 7)
    assert confusion.sum() == 8
    assert report["accuracy"] == pytest.approx(np.trace(confusion) / 8)


def test_evaluate_filters_a_csv_by_split(tmp_path: Path) -> None:
    path = tmp_path / "fer2013.csv"
    write_csv(path, {"Training": 5, "PublicTest": 4, "PrivateTest": 3})
    assert evaluate_json("--data", str(path), "--split", "PublicTest")["n"] == 4
    assert evaluate_json("--data", str(path))["n"] == 12


def test_evaluate_reads_an_npz(tmp_path: Path) -> None:
    path = tmp_path / "faces.npz"
    np.savez(path, images=random_faces(6), labels=np.arange(6, dtype=np.uint8))
    assert evaluate_json("--data", str(path))["n"] == 6


def test_evaluate_prints_a_readable_report_without_json(tmp_path: Path) -> None:
    write_tree(tmp_path, {"happy": 2, "contempt": 1})
    out = StringIO()
    call_command("evaluate_emotion_model", "--data", str(tmp_path), stdout=out)
    text = out.getvalue()
    assert text.startswith("accuracy ")
    assert "happy" in text
    assert "skipped folders: contempt" in text


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "data not found"),
        (lambda p: p.mkdir(), "no images under any of the emotion folders"),
        (lambda p: p.write_text("a,b\n1,2\n"), "missing CSV column"),
    ],
)
def test_evaluate_explains_bad_data(tmp_path: Path, setup, message: str) -> None:
    target = tmp_path / ("data.csv" if "CSV" in message else "data")
    setup(target)
    with pytest.raises(CommandError, match=message):
        call_command("evaluate_emotion_model", "--data", str(target), "--json")


def test_evaluate_refuses_a_csv_split_with_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "fer2013.csv"
    write_csv(path, {"Training": 2})
    with pytest.raises(CommandError, match="no rows with Usage 'PublicTest'"):
        call_command("evaluate_emotion_model", "--data", str(path), "--split", "PublicTest")


def test_evaluate_refuses_missing_weights(tmp_path: Path) -> None:
    write_tree(tmp_path / "d", {"happy": 1})
    with pytest.raises(CommandError, match="weights not found"):
        call_command("evaluate_emotion_model", "--data", str(tmp_path / "d"), "--weights", str(tmp_path / "w.h5"))


def test_the_image_folder_release_validates_on_public_test_only(tmp_path: Path) -> None:
    write_tree(tmp_path / "train", {"happy": 3, "sad": 2}, prefix="Training")
    write_tree(tmp_path / "test", {"happy": 2}, prefix="PublicTest")
    write_tree(tmp_path / "test" / "extra", {"sad": 1}, prefix="x")  # nested folders are not classes
    public = tmp_path / "test" / "happy" / "PublicTest_0.png"
    (public.parent / "PrivateTest_9.png").write_bytes(public.read_bytes())
    train, val = load_training_data(tmp_path)
    assert (len(train), len(val)) == (5, 2)


def test_training_runs_end_to_end_and_writes_weights_and_a_model_card(tmp_path: Path) -> None:
    data = tmp_path / "fer2013.csv"
    write_csv(data, {"Training": 40, "PublicTest": 14, "PrivateTest": 3})
    out_dir = tmp_path / "model"
    log = StringIO()
    call_command(
        "train_emotion_model",
        "--data",
        str(data),
        "--out",
        str(out_dir),
        "--epochs",
        "1",
        "--batch-size",
        "16",
        stdout=log,
    )
    assert "training on 40 faces, validating on 14" in log.getvalue()
    assert "epoch 1/1" in log.getvalue()
    card = json.loads((out_dir / "model_card.json").read_text())
    assert card["epochs"] == 1
    assert set(card["candidates"]) == {"best epoch (1)", "average of the last 1 epochs"}
    assert card["shipped"] in card["candidates"]
    assert card["validation"]["accuracy"] == pytest.approx(card["candidates"][card["shipped"]], abs=1e-4)
    assert card["validation"]["n"] == 14
    assert card["training"]["seed"] == 2013
    assert len(card["validation"]["confusion"]) == 7
    assert "Confusion matrix" in (out_dir / "MODEL_CARD.md").read_text()
    weights = out_dir / "emotion_cnn.weights.h5"
    assert weights.stat().st_size < 20 * 1024 * 1024
    assert not (out_dir / "checkpoint").exists()  # a finished run leaves no resume state
    assert evaluate_json("--data", str(data), "--split", "PublicTest", "--weights", str(weights))["n"] == 14


def test_light_augmentation_is_a_training_choice_recorded_in_the_card(tmp_path: Path) -> None:
    data = tmp_path / "fer2013.csv"
    write_csv(data, {"Training": 32, "PublicTest": 8})
    out_dir = tmp_path / "model"
    arguments = ("--data", str(data), "--out", str(out_dir), "--epochs", "1", "--batch-size", "16")
    with pytest.raises(CommandError, match="invalid choice: 'none'"):
        call_command("train_emotion_model", *arguments, "--augmentation", "none")
    call_command("train_emotion_model", *arguments, "--augmentation", "light", stdout=StringIO())
    card = json.loads((out_dir / "model_card.json").read_text())
    assert card["training"]["augmentation"] == "light"
    assert '"augmentation": "light"' in (out_dir / "MODEL_CARD.md").read_text()


def test_training_on_lit_faces_validates_them_lit_and_says_how_to_convert(tmp_path: Path) -> None:
    data = tmp_path / "fer2013.csv"
    write_csv(data, {"Training": 32, "PublicTest": 8})
    out_dir = tmp_path / "model"
    arguments = ("--data", str(data), "--out", str(out_dir), "--epochs", "1", "--batch-size", "16")
    call_command("train_emotion_model", *arguments, "--lighting", "128:50", stdout=StringIO())
    card = json.loads((out_dir / "model_card.json").read_text())
    assert card["training"]["lighting"] == {"mean": 128.0, "min_std": 50.0}
    assert "convert with --lighting 128:50" in card["input"]
    # The shipped weights' validation figure is theirs read on lit faces, as they will be served.
    model = build_model()
    model.load_weights(str(out_dir / "emotion_cnn.weights.h5"))
    faces = load_training_data(data)[1]
    lit = evaluate(FaceScorer(model, lighting=Lighting(mean=128.0, min_std=50.0)), faces)
    assert card["validation"]["accuracy"] == pytest.approx(lit["accuracy"], abs=1e-4)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("bright", "expected MEAN:MIN_STD"),
        ("128:0", "the mean must lie between 0 and 255, the floor above 0"),
        ("300:50", "the mean must lie between 0 and 255"),
    ],
)
def test_training_refuses_malformed_lighting(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(CommandError, match=f"--lighting {value}: {message}"):
        call_command("train_emotion_model", "--data", str(tmp_path), "--out", str(tmp_path / "m"), "--lighting", value)


def test_training_refuses_fewer_images_than_one_batch(tmp_path: Path) -> None:
    data = tmp_path / "fer2013.csv"
    write_csv(data, {"Training": 4, "PublicTest": 2})
    with pytest.raises(CommandError, match="need at least 16 training images"):
        call_command("train_emotion_model", "--data", str(data), "--out", str(tmp_path / "m"), "--batch-size", "16")


def test_fine_tuning_starts_from_the_given_weights(tmp_path: Path) -> None:
    data = tmp_path / "fer2013.csv"
    write_csv(data, {"Training": 32, "PublicTest": 8})
    out_dir = tmp_path / "model"
    shipped = SHIPPED_KERAS
    call_command(
        "train_emotion_model",
        *("--data", str(data), "--out", str(out_dir), "--epochs", "1", "--batch-size", "16"),
        *("--warmup-epochs", "0", "--learning-rate", "1e-9", "--init-weights", str(shipped)),
        stdout=StringIO(),
    )
    card = json.loads((out_dir / "model_card.json").read_text())
    assert card["training"]["init_weights"] == str(shipped)
    # With a vanishing learning rate the convolutions are the shipped ones, not a fresh start.
    tuned, original = build_model(), build_model()
    tuned.load_weights(str(out_dir / "best.weights.h5"))
    original.load_weights(str(shipped))
    convs = [
        [layer.get_weights()[0] for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        for model in (tuned, original)
    ]
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(*convs, strict=True))


def test_fine_tuning_refuses_missing_weights(tmp_path: Path) -> None:
    data = tmp_path / "fer2013.csv"
    write_csv(data, {"Training": 32, "PublicTest": 8})
    with pytest.raises(CommandError, match="--init-weights: no such file"):
        call_command(
            "train_emotion_model",
            *("--data", str(data), "--out", str(tmp_path / "m"), "--init-weights", str(tmp_path / "nope.h5")),
        )


def test_the_shipped_card_tells_how_its_weights_were_made_including_runs_that_lost() -> None:
    shipped = json.loads((SHIPPED_KERAS.parent / "model_card.json").read_text())
    stages = shipped["lineage"]
    assert [stage["stage"] for stage in stages if "**shipped**" in stage["run"]] == ["v3.dl64cl"]
    # The served file (quantised, calibrated) stays within 0.2 points of its Keras network, and v3,
    # chosen for reading real people, keeps the FER+ guard (issue 28: at least 85.5%).
    [served_run] = [stage for stage in stages if stage["stage"] == "v3.dl64cl"]
    assert shipped["validation"]["accuracy"] == pytest.approx(served_run["ferplus"], abs=0.002)
    assert shipped["validation"]["accuracy"] >= 0.855
    assert shipped["lighting"] == {"mean": 128.0, "min_std": 50.0}  # as it was trained (--lighting 128:50)
    assert shipped["training"]["lighting"] == shipped["lighting"]
    page = (SHIPPED_KERAS.parent / "MODEL_CARD.md").read_text()
    assert "## How these weights were made" in page
    assert page.count("| v1.") == 5


def average_models_command(tmp_path: Path, *weights: Path, options: tuple[str, ...] = ()) -> tuple[dict, str]:
    data = tmp_path / "fer2013.csv"
    write_csv(data, {"Training": 40, "PublicTest": 14})
    out = StringIO()
    call_command(
        "average_emotion_models",
        *map(str, weights),
        *("--data", str(data), "--out", str(tmp_path / "soup"), *options),
        stdout=out,
    )
    return json.loads((tmp_path / "soup" / "model_card.json").read_text()), out.getvalue()


def test_averaging_runs_ships_the_best_of_the_average_and_the_runs_with_a_card(tmp_path: Path) -> None:
    shipped = SHIPPED_KERAS
    nudged = build_model()
    nudged.load_weights(str(shipped))
    nudged.set_weights([w * 1.01 for w in nudged.get_weights()])
    other = tmp_path / "other" / "emotion_cnn.weights.h5"
    other.parent.mkdir()
    nudged.save_weights(str(other))  # no model card beside it: its run is unknown
    card, log = average_models_command(tmp_path, shipped, other)
    assert set(card["candidates"]) == {f"run 1 ({shipped})", f"run 2 ({other})", "uniform average of 2 runs"}
    assert card["shipped"] in card["candidates"]
    assert f"shipped {card['shipped']}" in log
    shipped_card = json.loads(shipped.with_name("model_card.json").read_text())
    runs = card["training"]["runs"]
    assert runs[0] == {
        "weights": str(shipped),
        "epochs": shipped_card["epochs"],
        "seconds": shipped_card["training_seconds"],
        "seed": shipped_card["training"]["seed"],
        "init_weights": shipped_card["training"]["init_weights"],
    }
    assert runs[1] == {"weights": str(other)}
    assert card["epochs"] == shipped_card["epochs"]
    assert "Confusion matrix" in (tmp_path / "soup" / "MODEL_CARD.md").read_text()


def test_the_average_of_identical_runs_is_that_run(tmp_path: Path) -> None:
    shipped = SHIPPED_KERAS
    card, _ = average_models_command(tmp_path, shipped, shipped)
    assert len(card["candidates"]) == 3
    soup, original = build_model(), build_model()
    soup.load_weights(str(tmp_path / "soup" / "emotion_cnn.weights.h5"))
    original.load_weights(str(shipped))
    kernels = [
        [
            layer.get_weights()[0]
            for layer in model.layers
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
        ]
        for model in (soup, original)
    ]
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(*kernels, strict=True))


def test_averaging_runs_trained_on_lit_faces_validates_them_lit(tmp_path: Path) -> None:
    card, _ = average_models_command(tmp_path, SHIPPED_KERAS, SHIPPED_KERAS, options=("--lighting", "128:50"))
    assert "convert with --lighting 128:50" in card["input"]
    model = build_model()
    model.load_weights(str(tmp_path / "soup" / "emotion_cnn.weights.h5"))
    lit = evaluate(FaceScorer(model, lighting=Lighting(128.0, 50.0)), load_training_data(tmp_path / "fer2013.csv")[1])
    assert card["validation"]["accuracy"] == pytest.approx(lit["accuracy"], abs=1e-4)
    with pytest.raises(CommandError, match="--lighting 128: expected MEAN:MIN_STD"):
        average_models_command(tmp_path, SHIPPED_KERAS, SHIPPED_KERAS, options=("--lighting", "128"))


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["shipped"], "at least two weight files"),
        (["shipped", "missing"], "no such weight file: .*missing.h5"),
        (["shipped", "text"], "text.h5: not weights of this network"),
    ],
)
def test_averaging_refuses_what_it_cannot_average(tmp_path: Path, files: list[str], message: str) -> None:
    (tmp_path / "text.h5").write_text("not weights")
    paths = {
        "shipped": SHIPPED_KERAS,
        "missing": tmp_path / "missing.h5",
        "text": tmp_path / "text.h5",
    }
    with pytest.raises(CommandError, match=message):
        average_models_command(tmp_path, *(paths[name] for name in files))
