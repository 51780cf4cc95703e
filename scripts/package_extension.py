"""Write the Chrome Web Store zip of ``extension/``: ``dist/smile-extension-<version>.zip``.

The zip holds what the extension runs (manifest, pages, scripts, styles, icons) and nothing
of its development (node's package.json, the node tests). The manifest's ``key`` is left out:
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
SHIPPED_SUFFIXES = {".json", ".html", ".js", ".css", ".png"}
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


def store_manifest(source: Path) -> dict[str, object]:
    manifest: dict[str, object] = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("key", None)
    return manifest


def zip_bytes(source: Path, *, keep_key: bool = False) -> bytes:
    """The zip's bytes. ``keep_key`` keeps the manifest's ``key`` for loading it unpacked.

    Unpacked, the key gives the development id (``hegedbgeijbcncfgmagcecgjpokgacgi``), the one
    the server's ``SMILE_EXTENSION_IDS`` names by default: the site offers this build
    (``accounts.extension_download``), since the extension is not in the Web Store yet.
    """
    manifest: dict[str, object] = (
        json.loads((source / "manifest.json").read_text(encoding="utf-8")) if keep_key else store_manifest(source)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative in shipped_files(source):
            if relative == Path("manifest.json"):
                data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
            else:
                data = (source / relative).read_bytes()
            entry = zipfile.ZipInfo(relative.as_posix(), date_time=FIXED_DATE)
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
    args = parser.parse_args(argv)
    target = build(args.source, args.out)
    print(f"{target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
