"""The fault scenario's checks on hand-made records: each judges what it says it judges.

No servers here: the checks are functions of what a run recorded (tests/support/faults/checks.py).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from tests.support.faults.checks import Outcome, database_outage, no_errors
from tests.support.faults.model import Attempt, Config, Fault, Run
from tests.support.faults.state import DbState


def _outcome(*attempts: Attempt) -> Outcome:
    run = Run(Config(), cast(Any, None), cast(Any, None), cast(Any, None))
    run.faults = [Fault("PostgreSQL down", 10.0, 15.0)]  # its window: 10-18 s (with the reconnect grace)
    run.attempts = list(attempts)
    state = DbState(0, None, 0, 0, None, 0, 0, 0, 0, 0, {}, {}, {}, {}, [], {}, [])
    return Outcome(run, state, Counter(), [])


def _get(at: float, status: int | None, retry_after: str | None = None) -> Attempt:
    return Attempt(0, "sync_pull", "GET", "/api/v1/sync/pull", at, at + 0.1, status, False, retry_after)


def test_a_500_outside_the_database_outage_fails_no_errors_though_the_outage_was_handled() -> None:
    outcome = _outcome(_get(1.0, 200), _get(12.0, 503, "1"), _get(30.0, 500))
    assert database_outage(outcome)[0]  # the outage itself: 503 with Retry-After only
    ok, detail = no_errors(outcome)
    assert not ok and "30.0s GET /api/v1/sync/pull -> 500" in detail


def test_no_answer_outside_the_outage_fails_no_errors_and_inside_it_fails_the_outage_check() -> None:
    assert not no_errors(_outcome(_get(30.0, None)))[0]
    inside = _outcome(_get(12.0, 503, "1"), _get(13.0, None))
    assert no_errors(inside)[0]  # the outage check judges what happens inside the window
    assert not database_outage(inside)[0]


def test_503s_inside_the_outage_and_2xx_elsewhere_pass_both() -> None:
    outcome = _outcome(_get(1.0, 200), _get(12.0, 503, "1"), _get(20.0, 201))
    assert no_errors(outcome) == (True, "3 requests in all: 200 x1, 201 x1, 503 x1")
    assert database_outage(outcome)[0]
