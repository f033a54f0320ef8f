"""The shape of the code, checked: dependencies point one way (ui → ingest → assistant, and between the
core's rooms), no module imports another's private names, no import circle, faces go through the front
door, and a module over ~400 lines says why in its docstring."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "ingest", "ui")
LONG = 420  # "~400 lines"
LONG_REASON = "Why this module is long:"


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path, *, top_level_only: bool) -> list[tuple[str, list[str]]]:
    """(module imported, names imported from it) for each import statement of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # `if TYPE_CHECKING:` blocks never run
        nodes = [n for n in nodes if not (isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))]
    found: list[tuple[str, list[str]]] = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
    return found


def _ours(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def test_the_tree_is_what_the_checks_walk() -> None:
    assert {"assistant.engine", "ingest.pipeline", "ui.cli", "ui.cli.common"} <= set(MODULES)


def test_dependencies_point_one_way() -> None:
    allowed = {"assistant": {"assistant"}, "ingest": {"assistant", "ingest"}, "ui": {"assistant", "ingest", "ui"}}
    wrong = [
        f"{mod} imports {target}"
        for mod, path in MODULES.items()
        for target, _ in _imports(path, top_level_only=False)
        if _ours(target) and target.split(".")[0] not in allowed[mod.split(".")[0]]
    ]
    assert wrong == []


def test_no_private_name_imported_across_modules() -> None:
    wrong = [
        f"{mod}: from {target} import {name}"
        for mod, path in MODULES.items()
        for target, names in _imports(path, top_level_only=False)
        if _ours(target) and target != mod
        for name in names
        if name.startswith("_")
    ]
    assert wrong == []


def _resolve(target: str, names: list[str]) -> list[str]:
    """The modules of ours an import statement loads: `from a.b import c` is a.b, or a.b.c when c is one."""
    out = [target] if target in MODULES else []
    out += [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
    return out


def test_no_import_circle() -> None:
    graph = {
        mod: {dep for target, names in _imports(path, top_level_only=True) if _ours(target)
              for dep in _resolve(target, names) if dep != mod}
        for mod, path in MODULES.items()
    }
    # A package's __init__ is loaded before its submodules, so a submodule importing its parent is fine.
    for mod, deps in graph.items():
        graph[mod] = {d for d in deps if not mod.startswith(d + ".")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(trail[trail.index(dep):] + [dep] if dep in trail else [node, dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])
    assert cycles == []


@pytest.mark.slow
def test_every_module_imports_on_its_own() -> None:
    """One fresh interpreter per module: what only works after another import would fail here."""
    skip = {"ui.app", "ui.cli.__main__"} | {m for m in MODULES if m.startswith("ui.views")}  # Streamlit scripts

    def fails(mod: str) -> str:
        done = subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True, text=True, cwd=ROOT)
        return f"{mod}: {done.stderr.strip().splitlines()[-1]}" if done.returncode != 0 else ""

    # The interpreters are independent: two at a time (the machine's cores) halve the wait.
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        failed = [f for f in pool.map(fails, sorted(set(MODULES) - skip)) if f]
    assert failed == []


def test_long_modules_say_why() -> None:
    long = []
    for mod, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG and LONG_REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            long.append(f"{mod}: {text.count(chr(10))} lines")
    assert long == []


# The core's rooms and what each may use besides the shared top-level modules. The order is the
# direction: a room reads only rooms listed for it, so a change lands where its concern lives.
ROOMS: dict[str, set[str]] = {
    "index": set(),  # embedders, BM25, tokens: the bottom
    "library": {"index"},  # records → chunks → the two stores
    "retrieval": {"index", "library"},  # search, answerability, retrieval metrics
    "llm": set(),  # the model transport, knows nothing of papers
    "answers": {"index", "library", "retrieval", "llm"},  # cited answers and the verification core
    "reports": {"index", "library", "retrieval", "llm", "answers"},  # compare, summarize, exports
    "field": {"index", "library", "reports"},  # graph, related, the map (the map names the summary's themes)
}
SHARED = {"models", "settings", "errors", "text", "spans"}  # import no room: every room may read them
FRONT = "engine"  # the front door: may read everything
TOP_LEVEL_MAX = 8
# What the faces (ui/) may import from the core: the front door, its value types, settings, errors,
# and two pure helpers (the Markdown escaper and the export writers).
FACE_ALLOWED = {"assistant.engine", "assistant.models", "assistant.settings", "assistant.errors",
                "assistant.text", "assistant.reports.exports"}


def _room(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_core_is_in_rooms() -> None:
    top = sorted(p.stem for p in (ROOT / "assistant").glob("*.py") if p.stem != "__init__")
    packages = sorted(p.name for p in (ROOT / "assistant").iterdir() if (p / "__init__.py").exists())
    assert len(top) <= TOP_LEVEL_MAX, top
    assert set(top) == SHARED | {FRONT}, top
    assert packages == sorted(ROOMS), packages  # a new package is placed in ROOMS on purpose


def test_rooms_point_one_way() -> None:
    wrong = []
    for mod, path in MODULES.items():
        if not mod.startswith("assistant."):
            continue
        room = _room(mod)
        for target, names in _imports(path, top_level_only=False):
            for dep in _resolve(target, names) or [target]:
                if not dep.startswith("assistant."):
                    continue
                used = _room(dep)
                if used == room or room == FRONT:
                    continue
                if room in SHARED:
                    if used not in SHARED:
                        wrong.append(f"{mod} (shared) imports {dep}")
                elif used not in SHARED and used not in ROOMS.get(room, set()):
                    wrong.append(f"{mod} ({room}) imports {dep}")
    assert wrong == []


def _face_imports() -> dict[str, set[str]]:
    """Each core module the faces import, with the ui modules that import it."""
    used: dict[str, set[str]] = {}
    for mod, path in MODULES.items():
        if not mod.startswith("ui."):
            continue
        for target, names in _imports(path, top_level_only=False):
            if target == "assistant":
                for name in names:
                    used.setdefault(f"assistant.{name}", set()).add(mod)
            elif target.startswith("assistant."):
                used.setdefault(target, set()).add(mod)
    return used


def test_faces_use_the_front_door_only() -> None:
    """The CLI, the pages, the API and MCP reach the core through assistant.engine and its value types
    (models), never around it: at most six core modules, the allowed ones."""
    used = _face_imports()
    assert len(used) <= 6, sorted(used)
    assert {m: sorted(by) for m, by in used.items() if m not in FACE_ALLOWED} == {}


def test_no_face_casts_to_the_engine() -> None:
    """Local and client mode share one typed door: nothing in ui/ pretends a RemoteEngine is an Engine."""
    casts = [f"{mod}" for mod, path in MODULES.items()
             if mod.startswith("ui.") and "cast(Engine" in path.read_text(encoding="utf-8")]
    assert casts == []


def test_cli_entry_points_list_the_same_commands() -> None:
    papers = Path(sys.executable).parent / "papers"
    by_module = subprocess.run([sys.executable, "-m", "ui.cli", "--help"], capture_output=True, text=True, cwd=ROOT)
    by_script = subprocess.run([str(papers), "--help"], capture_output=True, text=True, cwd=ROOT)
    assert by_module.returncode == by_script.returncode == 0, (by_module.stderr, by_script.stderr)

    def commands(help_text: str) -> list[str]:
        lines = help_text.split("Commands:", 1)[1].splitlines()
        return [ln.split()[0] for ln in lines if ln.startswith("  ") and ln.strip()]

    listed = commands(by_module.stdout)
    assert listed == commands(by_script.stdout)
    expected = {"ingest", "list", "remove", "stats", "reindex", "export", "import", "search", "ask", "chat",
                "eval", "compare", "summarize"}
    assert expected <= set(listed) and len(listed) >= 13, listed
