"""docs/security.md names, for each OWASP API Top 10 (2023) item, the tests that guard it. This keeps
the names true: every reference must be a test that exists (``file::Class::test``, or ``::test`` for
another test in the file named just before), and every item must name at least one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"
REF = re.compile(r"`((?:tests/[\w/]+\.py)?(?:::\w+)+|tests/[\w/]+/)`")


def _tests_in(path: Path) -> set[str]:
    """``name`` and ``Class::name`` of every test function in a module."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("test_"):
                    found |= {item.name, f"{node.name}::{item.name}"}
            found.add(node.name)
    return found


def _sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            current = line[3:]
            sections[current] = []
        elif current:
            sections[current].extend(REF.findall(line))
    return sections


def test_every_owasp_item_names_tests_that_exist() -> None:
    sections = _sections()
    items = [name for name in sections if re.match(r"API\d+:", name)]
    assert [name.split(":")[0] for name in items] == [f"API{i}" for i in range(1, 11)]
    missing: list[str] = []
    for name in items:
        refs = sections[name]
        assert refs, f"{name} names no test"
        last_file: Path | None = None
        for ref in refs:
            if ref.endswith("/"):
                assert (ROOT / ref).is_dir() and list((ROOT / ref).glob("test_*.py")), ref
                continue
            file_part, _, rest = ref.partition("::")
            if file_part:
                last_file = ROOT / file_part
                assert last_file.is_file(), ref
            assert last_file is not None, f"{ref}: no file before it"
            if rest and rest not in _tests_in(last_file):
                missing.append(f"{name}: {last_file.relative_to(ROOT)}::{rest}")
    assert missing == []
