"""Write the Chrome Web Store zip of ``extension/``: ``dist/smile-extension-<version>.zip``.

The zip holds what the extension runs (manifest, pages, scripts, styles, icons, the vendored
LiteRT.js runtime) and nothing of its development (node's package.json, the node tests). The two
models private mode runs (``models/``) are not kept in ``extension/``'s git tree: they are the
server's own files (``inference/weights/``), written into the zip here and into the unpacked
extension by ``--models`` (``make extension-models``). LiteRT.js cannot run a model whose batch
is left open, so the expression model goes with its batch fixed at 1 (``static_batch``: the same
graph and weights; only the tensors' declared batch changes). The manifest's ``key`` is left out:
it pins the id of the unpacked development build, while the Web Store assigns and signs its
own id (set that one in ``SMILE_EXTENSION_IDS``). Entries are sorted and dated 1980-01-01 so
the same sources always give the same bytes.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "extension"
SHIPPED_SUFFIXES = {".json", ".html", ".js", ".css", ".png", ".wasm", ".txt"}
WEIGHTS = ROOT / "inference" / "weights"
# Shipped as models/<name>: (source file, whether its batch must be fixed at 1).
MODELS = {
    "face_detection_short_range.tflite": (WEIGHTS / "face_detection_short_range.tflite", False),
    "emotion_model.tflite": (WEIGHTS / "emotion_model.tflite", True),
}
DEVELOPMENT_ONLY = {"package.json", "package-lock.json"}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def shipped_files(source: Path) -> list[Path]:
    """The files that go in the zip, relative to ``source``, sorted."""
    return sorted(
        path.relative_to(source)
        for path in source.rglob("*")
        if path.is_file()
        and path.suffix in SHIPPED_SUFFIXES
        and path.name not in DEVELOPMENT_ONLY
        and path.relative_to(source).parts[0] != "tests"
    )


def static_batch(content: bytes) -> bytes:
    """The .tflite model with every tensor's open batch (-1) declared as 1; weights and ops untouched."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(content, 0))
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            signature = tensor.shapeSignature
            if signature is not None and len(signature) and signature[0] == -1:
                tensor.shapeSignature = [1, *list(signature)[1:]]
                tensor.shape = [1, *list(tensor.shape)[1:]]
    builder = flatbuffers.Builder(len(content) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def model_files() -> dict[str, bytes]:
    """``models/<name>`` -> the bytes private mode runs."""
    files = {
        f"models/{name}": static_batch(path.read_bytes()) if fix else path.read_bytes()
        for name, (path, fix) in MODELS.items()
    }
    # BlazeFace's licence (Apache-2.0) goes with it; the expression model is the project's own.
    files["models/LICENSE.blazeface.txt"] = (WEIGHTS / "LICENSE.mediapipe.txt").read_bytes()
    return files


def write_models(target: Path) -> list[Path]:
    """Write the models into an unpacked extension (``extension/models/``, ignored by git)."""
    written = []
    for name, data in model_files().items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


def store_manifest(source: Path) -> dict[str, object]:
    manifest: dict[str, object] = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("key", None)
    return manifest


def zip_bytes(source: Path, *, keep_key: bool = False) -> bytes:
    """The zip's bytes, models included. ``keep_key`` keeps the manifest's ``key`` for loading it unpacked.

    Unpacked, the key gives the development id (``hegedbgeijbcncfgmagcecgjpokgacgi``), the one
    the server's ``SMILE_EXTENSION_IDS`` names by default: the site offers this build
    (``accounts.extension_download``), since the extension is not in the Web Store yet.
    """
    manifest: dict[str, object] = (
        json.loads((source / "manifest.json").read_text(encoding="utf-8")) if keep_key else store_manifest(source)
    )
    entries: dict[str, bytes] = {}
    for relative in shipped_files(source):
        if relative == Path("manifest.json"):
            entries[relative.as_posix()] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
        elif relative.parts[0] != "models":
            entries[relative.as_posix()] = (source / relative).read_bytes()
    entries.update(model_files())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(entries.items()):
            entry = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data)
    return buffer.getvalue()


def build(source: Path, out_dir: Path) -> Path:
    manifest = store_manifest(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"smile-extension-{manifest['version']}.zip"
    target.write_bytes(zip_bytes(source))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--models", action="store_true", help="only write the models into the unpacked extension")
    args = parser.parse_args(argv)
    if args.models:
        for path in write_models(args.source):
            print(f"{path} ({path.stat().st_size} bytes)")
        return 0
    target = build(args.source, args.out)
    print(f"{target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
