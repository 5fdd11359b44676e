"""Imports keep the architecture visible: every project import at the top of its module, and no
import cycle between the application's modules.

import-linter (``[tool.importlinter]`` in pyproject.toml, run by ``scripts/dev.py lint``) checks
that dependencies point one way between layers. It cannot tell an import inside a function from
one at the top, and a function-level import is how a cycle hides; nor does it look for cycles
inside one layer. This test does both, by parsing every module with ``ast`` (nothing is imported).
Imports under ``if TYPE_CHECKING:`` at module level are allowed: they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backend", "diary", "reminders")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if any("." in part for part in parts):  # gunicorn.conf.py: a config file, not a module
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> Iterator[str]:
    """The project modules an import statement names (``from a import b`` names ``a.b`` if that is a module)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = node.module or ""
    if node.level:  # relative: resolve against the importing module's package
        package = module.split(".")
        is_package = MODULES.get(module, Path()).name == "__init__.py"
        package = package if is_package else package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    for alias in node.names:
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def _project(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _scan(module: str, path: Path) -> tuple[set[str], list[str]]:
    """(project modules imported at the top, where a project import sits elsewhere)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top: set[str] = set()
    misplaced: list[str] = []
    allowed: set[int] = set()
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            top.update(n for n in _imported(node, module) if _project(n))
            allowed.add(id(node))
        elif isinstance(node, ast.If) and _is_type_checking(node):
            allowed.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))
    for found in ast.walk(tree):
        if not isinstance(found, ast.Import | ast.ImportFrom) or id(found) in allowed:
            continue
        if any(_project(n) for n in _imported(found, module)):
            misplaced.append(f"{shown}:{found.lineno}: {ast.unparse(found)}")
    return top, misplaced


SCANNED = {module: _scan(module, path) for module, path in MODULES.items()}


def test_the_scan_sees_the_whole_application() -> None:
    assert {"diary.sync.writes", "diary.outbox.routes", "diary.notifications.inbox", "reminders.dispatch"} <= set(
        MODULES
    )
    assert "diary.outbox.models" in SCANNED["diary.outbox.services"][0]


def test_project_imports_are_at_the_top_of_their_module() -> None:
    misplaced = [line for _, (_, lines) in sorted(SCANNED.items()) for line in lines]
    assert not misplaced, "import these at the top of the module (a cycle it hides must be broken):\n" + "\n".join(
        misplaced
    )


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_modules() -> None:
    graph = {m: {i for i in imports if i in MODULES and i != m} for m, (imports, _) in SCANNED.items()}
    assert _cycles(graph) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
    ],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert sorted(_cycles(graph)) == expected


def test_a_function_level_import_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text(
        "from typing import TYPE_CHECKING\nfrom diary.core import fields\nif TYPE_CHECKING:\n"
        "    from diary.accounts.models import User\ndef f():\n    from diary.outbox import services\n"
    )
    top, misplaced = _scan("diary.probe", path)
    assert top == {"diary.core.fields"}
    assert misplaced == ["probe.py:6: from diary.outbox import services"]
