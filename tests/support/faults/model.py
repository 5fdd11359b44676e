"""The scenario's parameters and its records: what the clients did, which faults fell when, what was checked.

``Run`` is the shared state of one scenario: the clients (client.py) append attempts and writes, the
timeline (timeline.py) appends faults, and the checks (checks.py) read it all afterwards.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.pushservers import Subscription
from tests.support.services import PrivatePostgres, PrivateRedis
from tests.support.stack import Stack

PASSWORD = "a sturdy pass phrase 42"
ZONE = "Europe/Berlin"
REQUEST_TIMEOUT_S = 15.0  # longer than this without an answer counts as a hang
RETRY_AFTER_CAP_S = 1.0  # clients retry sooner than Retry-After asks, to probe the outage
BEAT_PERIOD_S = 60.0  # outbox-sweep, reminders-dispatch and reminders-push-sweep run every minute
SWEEP_AFTER_S = 15  # OUTBOX_SWEEP_AFTER_SECONDS for the run: lost wake-ups are re-sent after this
# PUSH_LEASE_SECONDS for the run (production default: 300): a push that a killed worker had
# claimed is sent again when its lease runs out, which must happen within the run.
LEASE_S = 30
MIN_DURATION_S = 75.0  # the faults follow beat's ticks: Redis across the first 30-s one, PostgreSQL the first minute


@dataclass(frozen=True)
class Config:
    duration_s: float = 90.0  # the load (at least MIN_DURATION_S); see timeline.inject_faults for when the faults fall
    people: int = 3  # one client thread each
    recovery_s: float = 150.0  # after the load, wait at most this long for the work to drain
    redis_down_s: float = 4.0
    postgres_down_s: float = 5.0
    pause_s: float = 0.25  # between one client's operations
    logdir: Path | None = None  # keep the app's logs here (default: a temporary directory, removed)
    verbose: bool = True  # progress lines on stderr


# --- what happened ------------------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One HTTP request and its answer; times in seconds since the load started."""

    person: int
    op: str  # episode | checkin | reminder | sync_push | sync_pull
    method: str
    path: str
    started: float
    ended: float
    status: int | None  # None: no answer (connection refused or reset, timeout)
    write: bool
    retry_after: str | None = None
    error: str = ""
    payload: Any = field(default=None, repr=False)


@dataclass
class Write:
    """One change the app made; retried until accepted. ``content`` is what was sent (REST form)."""

    kind: str  # episode | checkin | reminder
    person: int
    key: str  # episode or reminder id, check-in date
    content: dict[str, Any]
    via: str = "rest"  # rest | sync
    accepted: bool = False
    answer: dict[str, Any] = field(default_factory=dict)
    accepted_at: float | None = None  # seconds since the load started


@dataclass
class Fault:
    name: str
    started: float
    ended: float | None = None  # when the service was back (or the new worker ready)
    detail: str = ""


@dataclass
class Person:
    index: int
    email: str
    token: str = ""
    user_id: int = 0
    subscription: Subscription | None = None


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    config: Config
    lines: list[str]
    checks: list[Check]
    seconds: float

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def text(self) -> str:
        out = list(self.lines)
        out.append("checks:")
        out += [f"  {'PASS' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in self.checks]
        out.append(f"RESULT: {'PASS' if self.ok else 'FAIL'} ({self.seconds:.0f} s in all)")
        return "\n".join(out)


class Run:
    """Shared state of one scenario: the stack, the people, every attempt and write, the fault windows."""

    def __init__(self, config: Config, stack: Stack, pg: PrivatePostgres, redis: PrivateRedis) -> None:
        self.config, self.stack, self.pg, self.redis = config, stack, pg, redis
        self.people: list[Person] = []
        self.attempts: list[Attempt] = []
        self.writes: list[Write] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.red_flag = threading.Event()  # set when a red-flag episode was accepted: the faults wait for it
        self.beat_started = time.monotonic()  # set when beat has started: its ticks time the faults
        self.worker_alive_at_kill: bool | None = None  # did the first worker live through Redis and PostgreSQL?
        self.arrivals: dict[str, float] = {}  # notification id -> when its first push arrived
        self.t0 = time.monotonic()
        self.load_end = self.t0 + config.duration_s
        self.give_up = self.load_end + config.recovery_s  # a client stops retrying a write here

    def now(self) -> float:
        return time.monotonic() - self.t0

    def log(self, message: str) -> None:
        if self.config.verbose:
            print(f"[faults {self.now():6.1f}s] {message}", file=sys.stderr, flush=True)

    def record(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)

    def add_write(self, write: Write) -> Write:
        with self.lock:
            self.writes.append(write)
        return write
