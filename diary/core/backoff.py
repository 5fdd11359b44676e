"""Exponential back-off for work retried by a sweeper (outbox handlers, push deliveries).

One formula, so every retried job waits the same way: ``base`` after the first failure, doubling
with each further failure, never more than ``cap``. A server that names its own wait (HTTP
``Retry-After``) is obeyed when it asks for longer, still within ``cap``. No jitter: the sweepers
already spread work by claiming rows in batches, and a fixed schedule keeps retries predictable.
"""

from __future__ import annotations

import datetime as dt

BASE = dt.timedelta(seconds=30)
CAP = dt.timedelta(hours=1)


def backoff_delay(
    failures: int,
    *,
    base: dt.timedelta = BASE,
    cap: dt.timedelta = CAP,
    at_least: dt.timedelta | None = None,
) -> dt.timedelta:
    """How long to wait before the next try after ``failures`` consecutive failures (1 or more).

    ``base * 2 ** (failures - 1)``, capped at ``cap``; ``at_least`` (a server's ``Retry-After``)
    lengthens the wait, capped too, and never shortens it.
    """
    if failures < 1:
        raise ValueError("backoff_delay needs at least one failure")
    # Compare in float seconds before building the timedelta: base * 2 ** n soon passes what a
    # timedelta can hold (OverflowError) for a job that has failed for a long time.
    doublings = min(failures - 1, 64)
    delay = cap if base.total_seconds() * 2**doublings >= cap.total_seconds() else base * 2**doublings
    if at_least is not None:
        delay = max(delay, min(cap, at_least))
    return delay
