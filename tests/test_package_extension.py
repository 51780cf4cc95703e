"""``make extension``: the Web Store zip holds every file the extension refers to, and no development files."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from scripts.package_extension import SOURCE, build

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
