"""The dependency locks: both hashed, the runtime one free of development tools, the dev one at the same
pins, every pyproject.toml pin locked, every import of the service declared, every dev tool used."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.packaging.files import (
    ROOT,
    declared,
    lock_entries,
    lock_pins,
    norm,
)

DEV_TOOLS = {"pytest", "pytest-django", "hypothesis", "locust", "mypy", "ruff", "bandit", "pip-audit",
             "schemathesis", "django-stubs", "pip-tools", "import-linter", "aiosmtpd", "time-machine"}  # fmt: skip


def test_both_locks_pin_every_package_with_hashes() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        entries = lock_entries(name)  # fails on any line that is not name==version --hash=...
        assert len(entries) > 30, name
        assert all(hashes for _, hashes in entries.values()), [k for k, (_, h) in entries.items() if not h]
        text = (ROOT / name).read_text()
        assert not re.search(r"^\s*-(?:e|-editable|-index-url|-extra-index-url|-find-links|f|i)\b", text, re.M), name
        assert "file://" not in text, f"{name} names a path of this machine"


def test_runtime_lock_is_runtime_only_and_the_dev_lock_adds_to_it_at_the_same_pins() -> None:
    runtime, dev = lock_entries(), lock_entries("requirements-dev.lock")
    assert not (DEV_TOOLS | set(declared("dev"))) & set(runtime), "dev tools in the runtime lock"
    assert set(dev) >= DEV_TOOLS
    for name, (version, hashes) in runtime.items():
        assert name in dev, f"{name} is in the runtime lock but not the dev lock"
        assert dev[name][0] == version, f"{name}: {version} at run time, {dev[name][0]} in development"
        assert set(dev[name][1]) == set(hashes), name


def test_every_pyproject_pin_is_locked_at_its_version() -> None:
    runtime, dev = lock_pins(), lock_pins("requirements-dev.lock")
    for pins, lock, lock_name in ((declared(), runtime, "requirements.lock"),
                                  (declared("dev"), dev, "requirements-dev.lock")):  # fmt: skip
        for name, version in pins.items():
            assert lock.get(name) == version, (
                f"pyproject.toml pins {name}=={version}, {lock_name} has {lock.get(name)}: run python3 scripts/dev.py lock"
            )
    assert {"gunicorn", "celery", "django", "psycopg", "redis", "whitenoise"} <= set(runtime)


def test_every_third_party_module_the_service_imports_is_a_declared_runtime_dependency() -> None:
    """An import of a package that only arrives as someone else's dependency (py_vapid through
    pywebpush) breaks the day that someone drops it; the service's own imports are declared."""
    import ast
    import importlib.metadata

    providers = importlib.metadata.packages_distributions()
    runtime = set(declared())
    missing = {}
    for package in ("backend", "diary", "reminders"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for top in {n.split(".")[0] for n in names}:
                    if top in sys.stdlib_module_names or (ROOT / top).is_dir():
                        continue
                    dists = {norm(d) for d in providers.get(top, [])}
                    if not dists & runtime:
                        missing[top] = f"{path.relative_to(ROOT)} (from {sorted(dists) or 'nowhere'})"
    assert not missing, f"imported but not in pyproject.toml [project] dependencies: {missing}"


# Declared ahead of the code that uses it, on purpose: a real SMTP server on loopback for the mail
# tests of the next issue. Take it out of this set once a test imports it.
RESERVED_DEV_TOOLS = {"aiosmtpd"}


def test_the_declared_dev_tools_are_used() -> None:
    """factory-boy and pytest-xdist sat in [dev] unused; a tool in the list is imported or run somewhere."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    tool_config = pyproject[pyproject.index("[tool.") :]  # the tools' settings, not the dependency lists
    sources = "\n".join(
        [tool_config]
        + [p.read_text(errors="replace") for p in [*ROOT.glob(".ci/*"), *ROOT.glob("Makefile")]]
        + [
            p.read_text(errors="replace")
            for d in ("tests", "bench", "scripts")
            for p in (ROOT / d).rglob("*.py")
            if p != Path(__file__).resolve()  # this file names them all
        ]
    )
    uses = {"pytest-django": "pytest_django|DJANGO_SETTINGS_MODULE", "django-stubs": "mypy_django_plugin",
            "djangorestframework-stubs": "mypy_drf_plugin", "types-requests": "import requests",
            "pip-tools": "piptools", "import-linter": "importlinter|lint-imports", "time-machine": "time_machine",
            "pip-audit": "pip-audit", "aiosmtpd": "aiosmtpd"}  # fmt: skip
    for name in set(declared("dev")) - RESERVED_DEV_TOOLS:
        pattern = uses.get(name, re.escape(name.replace("-", "_")))
        assert re.search(pattern, sources), f"{name} is declared in [dev] and used nowhere"
