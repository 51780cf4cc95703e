"""The site and the extension share one stylesheet of colours, type and components (theme.css)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_THEME = ROOT / "static" / "css" / "theme.css"
EXTENSION_THEME = ROOT / "extension" / "theme.css"
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def test_the_extension_carries_the_sites_theme_unchanged() -> None:
    # The extension has no build step, so it keeps a copy; edit static/css/theme.css and copy it.
    assert EXTENSION_THEME.read_bytes() == SITE_THEME.read_bytes(), (
        "extension/theme.css differs from static/css/theme.css: cp static/css/theme.css extension/theme.css"
    )


def test_every_expression_has_one_colour_and_no_other_stylesheet_redefines_it() -> None:
    theme = SITE_THEME.read_text()
    for emotion in EMOTIONS:
        assert re.search(rf"--emotion-{emotion}: #[0-9a-f]{{6}};", theme), emotion
    others = [*ROOT.glob("static/css/*.css"), ROOT / "extension" / "ui.css", *ROOT.glob("static/js/*.js")]
    for path in others:
        if path == SITE_THEME:
            continue
        assert not re.search(r"--emotion-\w+\s*:", path.read_text()), f"{path} redefines an expression colour"
