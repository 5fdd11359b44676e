"""The test and benchmark code depends one way, and nothing edits ``sys.path``.

``tests/support`` holds what both the suite and the benchmarks use; ``bench/`` may import it and
nothing else of ``tests/``, the suite never imports ``bench/``, and ``tests/support`` imports neither
the rest of the suite nor pytest (fixtures live in conftest files and plugins). Every script runs from
the repository root (``python -m bench.sync``, ``python3 scripts/dev.py``), so none needs to put a
directory on ``sys.path``. Read from the source with ``ast``, so function-level imports count too.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _sources(folder: str) -> Iterator[Path]:
    yield from sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every absolute import in the file, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _offending(folder: str, bad: Callable[[str], bool]) -> list[str]:
    """Each import under ``folder`` of a module that ``bad`` refuses, as "path:line imports module"."""
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _sources(folder)
        for line, module in _imports(path)
        if bad(module)
    ]


def test_the_suite_never_imports_the_benchmarks() -> None:
    assert _offending("tests", lambda module: _under(module, "bench")) == []


def test_the_benchmarks_import_only_the_shared_support_package_of_the_suite() -> None:
    def bad(module: str) -> bool:
        return _under(module, "tests") and not _under(module, "tests.support")

    assert _offending("bench", bad) == []


def test_the_support_package_imports_neither_the_rest_of_the_suite_nor_pytest() -> None:
    def bad(module: str) -> bool:
        return (_under(module, "tests") and not _under(module, "tests.support")) or _under(module, "pytest")

    assert _offending("tests/support", bad) == []


def test_nothing_edits_sys_path() -> None:
    edits = []
    for folder in ("bench", "scripts", "tests", "backend", "diary", "reminders"):
        for path in _sources(folder):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr == "path"
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "sys"
                ):
                    edits.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert edits == []
