"""Faults under load: the scenario of tests/support/faults, run once, one test per check.

Redis restarts, PostgreSQL crashes and the worker is SIGKILLed while three people write over HTTP to
the production shape (gunicorn, a Celery worker and beat), all on private servers. Each test below
asserts one of the scenario's checks (tests/support/faults/checks.py says what they mean).
"""

from __future__ import annotations

import pytest

from tests.support import faults

pytestmark = [pytest.mark.faults, pytest.mark.slow]


@pytest.fixture(scope="module")
def report() -> faults.Report:
    config = faults.Config(duration_s=faults.MIN_DURATION_S, recovery_s=150.0, verbose=False)
    try:
        result = faults.run(config)
    except faults.ServiceMissing as exc:
        pytest.skip(f"fault tests need PostgreSQL server binaries and redis-server: {exc}")
    print(result.text())  # shown with -s, or in the failure report
    return result


def test_the_scenario_made_every_check(report: faults.Report) -> None:
    assert [c.name for c in report.checks] == list(faults.CHECK_NAMES)


@pytest.mark.parametrize("name", faults.CHECK_NAMES)
def test_check(report: faults.Report, name: str) -> None:
    (check,) = [c for c in report.checks if c.name == name]
    assert check.ok, f"{name}: {check.detail}\n\n{report.text()}"
