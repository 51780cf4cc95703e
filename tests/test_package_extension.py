"""``make extension``: the Web Store zip holds every file the extension refers to, and no development files."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np

from scripts.package_extension import ROOT, SOURCE, build, static_batch

REFERENCE = re.compile(r"""(?:src|href)="([^":#]+)\"""")
IMPORT = re.compile(r"""from "\./([^"]+)\"""")


def referenced_files(names: set[str], archive: zipfile.ZipFile) -> set[str]:
    """Files named by the manifest, by the pages' src/href attributes and by the scripts' imports."""
    manifest = json.loads(archive.read("manifest.json"))
    found = {
        manifest["background"]["service_worker"],
        manifest["action"]["default_popup"],
        manifest["options_ui"]["page"],
        *manifest["icons"].values(),
        *manifest["action"]["default_icon"].values(),
    }
    for name in (name for name in names if name.endswith((".html", ".js"))):
        text = archive.read(name).decode()
        folder = str(Path(name).parent)
        if name.endswith(".html"):
            found |= {str(Path(folder) / ref) for ref in REFERENCE.findall(text)}
        if name.endswith(".js"):
            found |= {str(Path(folder) / ref) for ref in IMPORT.findall(text)}
    return {str(Path(path)) for path in found}


def test_the_zip_is_complete_without_the_key_and_development_files(tmp_path: Path) -> None:
    target = build(SOURCE, tmp_path)
    manifest_source = json.loads((SOURCE / "manifest.json").read_text())
    assert target.name == f"smile-extension-{manifest_source['version']}.zip"
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        assert archive.testzip() is None
        manifest = json.loads(archive.read("manifest.json"))
        assert "key" not in manifest, "the Web Store assigns its own id"
        assert {name: value for name, value in manifest_source.items() if name != "key"} == manifest
        assert not any(name.startswith("tests/") or name == "package.json" for name in names)
        missing = referenced_files(names, archive) - names
        assert not missing, f"referenced but not in the zip: {sorted(missing)}"
        assert {"background.js", "offscreen.html", "offscreen.js", "lib/protocol.js", "icons/icon128.png"} <= names


def test_the_same_sources_give_the_same_bytes(tmp_path: Path) -> None:
    first = build(SOURCE, tmp_path / "a").read_bytes()
    assert build(SOURCE, tmp_path / "b").read_bytes() == first


def test_private_modes_runtime_and_the_servers_models_ship_under_ten_mib(tmp_path: Path) -> None:
    target = build(SOURCE, tmp_path)
    assert target.stat().st_size < 10 * 1024 * 1024
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        assert {
            "vendor/litert/litert.js",
            "vendor/litert/wasm-utils.js",
            "vendor/litert/litert_wasm_internal.js",
            "vendor/litert/litert_wasm_internal.wasm",
            "models/face_detection_short_range.tflite",
            "models/emotion_model.tflite",
        } <= names
        detector = archive.read("models/face_detection_short_range.tflite")
    # The server's own detector, byte for byte; the expression model only with its batch fixed.
    assert detector == (ROOT / "inference" / "weights" / "face_detection_short_range.tflite").read_bytes()


def test_the_expression_model_with_its_batch_fixed_reads_exactly_as_the_served_one() -> None:
    from ai_edge_litert.interpreter import Interpreter

    served = (ROOT / "inference" / "weights" / "emotion_model.tflite").read_bytes()
    faces = np.random.default_rng(3).integers(0, 256, size=(5, 1, 40, 40, 1)).astype(np.float32)

    def scores(content: bytes) -> np.ndarray:
        interpreter = Interpreter(model_content=content)
        interpreter.allocate_tensors()
        [source], [target] = interpreter.get_input_details(), interpreter.get_output_details()
        rows = []
        for face in faces:
            interpreter.set_tensor(source["index"], face)
            interpreter.invoke()
            rows.append(interpreter.get_tensor(target["index"]).copy())
        return np.concatenate(rows)

    fixed = static_batch(served)
    assert list(Interpreter(model_content=fixed).get_input_details()[0]["shape_signature"]) == [1, 40, 40, 1]
    assert np.array_equal(scores(fixed), scores(served))


def test_the_manifest_allows_webassembly_and_nothing_more() -> None:
    manifest = json.loads((SOURCE / "manifest.json").read_text())
    assert manifest["content_security_policy"] == {
        "extension_pages": "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'"
    }
