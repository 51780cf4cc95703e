"""The extension the site offers for download: ``extension/`` zipped for Load unpacked, built on demand.

The extension is not in the Chrome Web Store yet, so the site serves the same zip ``make
extension`` builds, with the manifest's ``key`` kept: loaded unpacked, it gets the development
id that ``SMILE_EXTENSION_IDS`` names by default. The zip is built from ``extension/`` on the
first request and kept in the process's memory (about 60 KB) until a source file changes, so it
works the same under ``make run`` and in the production image, which ships ``extension/``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from scripts.package_extension import SOURCE, shipped_files, zip_bytes


@dataclass(frozen=True)
class ExtensionZip:
    version: str
    filename: str
    data: bytes


_lock = threading.Lock()
_cached: tuple[tuple[float, int], ExtensionZip] | None = None


def _sources_stamp(source: Path) -> tuple[float, int]:
    files = shipped_files(source)
    return max((source / path).stat().st_mtime for path in files), len(files)


def extension_zip(source: Path = SOURCE) -> ExtensionZip:
    """The unpacked extension's zip, rebuilt only when a shipped file changed."""
    global _cached
    stamp = _sources_stamp(source)
    with _lock:
        if _cached is None or _cached[0] != stamp:
            version = str(json.loads((source / "manifest.json").read_text(encoding="utf-8"))["version"])
            built = ExtensionZip(
                version=version,
                filename=f"smile-extension-{version}-unpacked.zip",
                data=zip_bytes(source, keep_key=True),
            )
            _cached = (stamp, built)
        return _cached[1]
