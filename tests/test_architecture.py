"""The layout's promises, read from the imports so they stay true: each app says only what it owns.

- ``inference`` is a library: frames in, results out. It knows no Channels, no moods, no accounts.
- ``accounts`` announces what happens to devices; it names no stream handler or group.
- ``common`` imports no app; ``smile_site`` is wiring.
- View modules are imported by URL maps only, and ``/api/`` has one map (``smile_site.api_urls``).
- No import loop between the project's modules (imports inside functions count too).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "common", "inference", "moods", "smile_site")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


def imported_names(path: Path, name: str) -> Iterator[str]:
    """Every module name an ``import`` or ``from ... import`` in the module ``name`` names, at any depth."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            # ``from moods.stream import messages`` imports the module moods.stream.messages.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def imports_of(modules: dict[str, Path], name: str) -> set[str]:
    """The project modules ``name`` imports."""
    found = set()
    for imported in imported_names(modules[name], name):
        if imported in modules and imported != name:
            found.add(imported)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return project_modules()


def test_inference_knows_no_channels_moods_or_accounts(modules: dict[str, Path]) -> None:
    offenders = {
        (name, imported)
        for name, path in modules.items()
        if top(name) == "inference"
        for imported in imported_names(path, name)
        if top(imported) in {"channels", "moods", "accounts", "celery"}
    }
    assert not offenders


def test_accounts_names_no_stream_handler_or_group(modules: dict[str, Path]) -> None:
    from moods.stream import messages

    # The handler types, the group names' f-strings, and the channel layer itself.
    stream_words = [
        *(f'"{kind}"' for kind in messages.CHANNEL_TYPES),
        'f"device-{',
        'f"user-{',
        "group_send",
        "channel_layer",
    ]
    for name, path in modules.items():
        if top(name) != "accounts":
            continue
        assert not {imported for imported in imported_names(path, name) if top(imported) in {"channels", "moods"}}, name
        text = path.read_text()
        assert not [word for word in stream_words if word in text], name


def test_common_imports_no_app(modules: dict[str, Path]) -> None:
    for name, path in modules.items():
        if top(name) == "common":
            assert not {top(imported) for imported in imported_names(path, name)} & {
                "accounts",
                "moods",
                "inference",
            }, name


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph = {name: imports_of(modules, name) for name in modules}
    # A module importing its own package (``from moods.stream import messages`` in
    # moods.stream.consumer) leans on the package's __init__, which is no loop.
    return {
        name: {imported for imported in edges if not name.startswith(imported + ".")} for name, edges in graph.items()
    }


def find_loop(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop (its modules, the first repeated at the end), or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in done:
            return None
        if name in visiting:
            return [*visiting[visiting.index(name) :], name]
        visiting.append(name)
        for imported in sorted(graph[name]):
            loop = visit(imported)
            if loop:
                return loop
        visiting.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        loop = visit(name)
        if loop:
            return loop
    return None


def test_there_is_no_import_loop(modules: dict[str, Path]) -> None:
    loop = find_loop(import_graph(modules))
    assert loop is None, " -> ".join(loop or [])


def test_the_loop_detector_finds_a_loop(tmp_path: Path) -> None:
    """The check above can fail: the old MoodEvent.save <-> rollup pair is a loop it reports."""
    modules = {"moods.models": tmp_path / "models.py", "moods.rollup": tmp_path / "rollup.py"}
    modules["moods.models"].write_text("def save():\n    from moods import rollup\n")
    modules["moods.rollup"].write_text("from moods.models import MoodEvent\n")
    assert find_loop(import_graph(modules)) == ["moods.models", "moods.rollup", "moods.models"]


def test_the_encouragement_rule_is_read_only_inside_its_package(modules: dict[str, Path]) -> None:
    """The threshold's path, settings form to nudge decision, stays in ``moods.encouragement``."""
    outside = {
        name
        for name, path in modules.items()
        if not name.startswith("moods.encouragement")
        for imported in imported_names(path, name)
        if imported.startswith("moods.encouragement.rule")
    }
    assert not outside


def is_view_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last in {"views", "api"} or last.endswith("_views")


def test_view_modules_are_imported_only_by_url_maps(modules: dict[str, Path]) -> None:
    """Views are leaves: shared plumbing (the API's ``common.api``) lives outside them, and ``/api/`` has one map."""
    offenders = {
        (name, imported)
        for name in modules
        if not name.rsplit(".", 1)[-1].endswith("urls")
        for imported in imports_of(modules, name)
        if is_view_module(imported) and imported != "common.api"
    }
    assert not offenders
    api_maps = {name for name in modules if name.endswith("urls") and 'path("api/' in modules[name].read_text()}
    assert api_maps == {"smile_site.urls"}, "every /api/ endpoint is in smile_site.api_urls, included once"


def test_only_notify_speaks_to_a_users_streams(modules: dict[str, Path]) -> None:
    """One way to tell a user's open streams: ``moods.stream.notify`` (revocation, baseline, nudges, settings)."""
    speakers = {name for name, path in modules.items() if "group_send" in path.read_text()}
    assert speakers == {"moods.stream.notify"}


def serving_modules(modules: dict[str, Path]) -> set[str]:
    """What serves a live frame: ``inference`` and its modules, less research and the commands."""
    return {
        name
        for name in modules
        if top(name) == "inference" and not name.startswith(("inference.research", "inference.management"))
    }


def test_serving_imports_no_training_or_research_code(modules: dict[str, Path]) -> None:
    """A web process or worker that scores frames loads no data sets, trainers or calibration fitting."""
    offenders = {
        (name, imported)
        for name in serving_modules(modules)
        for imported in imported_names(modules[name], name)
        if imported == "inference.research" or imported.startswith("inference.research.")
    }
    assert not offenders, sorted(offenders)


def test_the_serving_rule_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    """The rule reads imports at any depth: a lazy import of research code counts."""
    path = tmp_path / "classifier.py"
    path.write_text("def load():\n    from inference.research.evaluation import load_scorer\n")
    assert "inference.research.evaluation" in set(imported_names(path, "inference.classifier"))
