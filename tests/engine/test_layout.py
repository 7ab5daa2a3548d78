"""The shape of the house: no import circle between modules, and every source module small enough to read.

Imports are read from each module's top level (imports inside functions or under ``TYPE_CHECKING`` are
deliberate lazy edges and do not count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"batchsieve": ROOT / "engine", "batchsieve.kernels": ROOT / "kernels",
            "batchsieve.models": ROOT / "models"}
MAX_LINES = 400  # the redesign's bound for a source module; word-list data files are exempt
DATA_FOLDERS = ("lexicon",)


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([package, *parts])
            if name.startswith("batchsieve.kernels") and package == "batchsieve":
                continue
            out[name] = path
    return out


def _top_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    base = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                mod = f"{anchor}.{node.module}" if node.module else anchor
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{alias.name}" for alias in node.names]
        for target in targets:
            if target in known and target != name:
                found.add(target)
    return found


def test_no_import_circle():
    modules = _modules()
    graph = {name: _top_level_imports(name, path, set(modules)) for name, path in modules.items()}
    # a package's __init__ importing its own submodules is the re-export, not a circle
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not (modules[name].name == "__init__.py" and d.startswith(name + "."))}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep):], dep] if dep in stack else [node, dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


SOURCES = sorted(p for folder in PACKAGES.values() for p in folder.rglob("*.py")
                 if not any(part in DATA_FOLDERS for part in p.parts))  # word lists are data, not code


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES
