"""The house's import rules: a request flows http -> answering -> llm / index, and nothing points back.

Every import of the project's own modules (module level, inside functions, under TYPE_CHECKING) is read
from the source with ``ast``. A module may import its own layer or the layers below it; no two modules
may reach each other through a chain of imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("citewire", "service", "index", "prompts")

# Top to bottom. Settings and prompt files are leaves anything may read.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("service.cli",),
    ("service.http", "service.mcp"),  # the same API twice: /mcp is mounted in the app, `citewire mcp` loads it
    ("service.evaluation",),
    ("service.jobs",),
    ("service.components",),
    ("service.checking",),
    ("service.answering",),
    ("service.llm",),
    ("index", "service"),  # "service" is the package's __init__: it only sets the offline defaults via index
    ("service.settings", "prompts"),
    ("citewire",),  # the public package (wire models, client, retriever): the server imports it, never back
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Each project module and the project modules it imports (``from a import b`` counts ``a.b`` when
    ``b`` is a module)."""
    files = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in files)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module in files:
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in files)
        graph[name] = deps - {name}
    return graph


def layer_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> int:
    """Index of the layer holding the module (the longest matching prefix wins)."""
    best, best_len = -1, -1
    for i, prefixes in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    if best < 0:
        raise LookupError(f"{module} is in no layer: add it to LAYERS")
    return best


def wrong_way(graph: Mapping[str, set[str]]) -> list[str]:
    """Imports from a lower layer up into a higher one."""
    return sorted(
        f"{module} -> {dep}" for module, deps in graph.items() for dep in deps if layer_of(dep) < layer_of(module)
    )


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            if group:
                found.append(sorted([v, *group]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_imports_point_down_the_flow() -> None:
    assert wrong_way(import_graph(ROOT)) == []


def test_no_import_circles() -> None:
    assert circles(import_graph(ROOT)) == []


def test_every_module_has_a_layer() -> None:
    for module in import_graph(ROOT):
        layer_of(module)


def _tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "source",
    [
        "from service.http.app import create_app\n",
        "def later():\n    import service.http.app\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from service.evaluation import runner\n",
    ],
)
def test_a_wrong_way_import_is_caught(tmp_path: Path, source: str) -> None:
    root = _tree(
        tmp_path,
        {
            "service/__init__.py": "",
            "service/http/__init__.py": "",
            "service/http/app.py": "from service.answering import engine\n",
            "service/evaluation/__init__.py": "",
            "service/evaluation/runner.py": "",
            "service/answering/__init__.py": "",
            "service/answering/engine.py": source,
        },
    )
    problems = wrong_way(import_graph(root, ("service",)))
    assert problems, "the wrong-way import went unnoticed"
    assert all(p.startswith("service.answering.engine -> service.") for p in problems), problems


def test_a_circle_is_caught(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "service/__init__.py": "",
            "service/answering/__init__.py": "",
            "service/answering/context.py": "from service.answering.engine import Passage\n",
            "service/answering/engine.py": "from service.answering import context\n",
        },
    )
    assert circles(import_graph(root, ("service",))) == [["service.answering.context", "service.answering.engine"]]
