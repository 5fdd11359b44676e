"""The scenario from start to report: private servers, the stack, the load with its faults, the wait, the checks.

The app runs with ``backend.settings.production`` except for two knobs: lost wake-ups are swept after
SWEEP_AFTER_S instead of 60 s (``OUTBOX_SWEEP_AFTER_SECONDS``) and a push claimed by the killed worker
comes back after LEASE_S instead of 5 minutes (``PUSH_LEASE_SECONDS``), so that recovery fits the run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.faults.checks import Outcome, statuses, verify
from tests.support.faults.client import Client
from tests.support.faults.model import (
    LEASE_S,
    MIN_DURATION_S,
    REQUEST_TIMEOUT_S,
    SWEEP_AFTER_S,
    Config,
    Report,
    Run,
)
from tests.support.faults.state import DbState, await_recovery, db_state, pushed
from tests.support.faults.timeline import inject_faults, seed, watch_pushes
from tests.support.pushservers import WebPushService, private_pem
from tests.support.services import PrivatePostgres, PrivateRedis
from tests.support.stack import Stack


def run(config: Config) -> Report:
    """The whole scenario on private servers; raises ServiceMissing when PostgreSQL or Redis is not installed."""
    if config.duration_s < MIN_DURATION_S:
        raise ValueError(f"the faults need at least {MIN_DURATION_S:g} s of load, not {config.duration_s:g}")
    began = time.monotonic()
    with ExitStack() as resources:
        scenario, service = _start(config, resources)
        clients, injection_error = _load(scenario)
        scenario.log(f"load over: {len(scenario.attempts)} requests; waiting for the work to drain")
        drained, waited, why = await_recovery(scenario, service)
        state = db_state(scenario)
        crashed = [f"{c.name}: {c.exception!r}" for c in clients if c.exception is not None]
        checks = verify(Outcome(scenario, state, pushed(service, scenario), crashed, injection_error))
        lines = [*_summary(scenario, drained, waited, why), _swept(state)]
        logdir = scenario.stack.logdir
        _dump(scenario, logdir / "requests.jsonl")
        report = Report(config, lines, checks, time.monotonic() - began)
        if not report.ok:
            report.lines += _log_tails(logdir)
        scenario.stack.stop()
        return report
    raise AssertionError("unreachable")  # pragma: no cover (mypy: ExitStack may swallow exceptions)


def _start(config: Config, resources: ExitStack) -> tuple[Run, WebPushService]:
    """Private PostgreSQL and Redis, the loopback push service, the stack on them, the people seeded."""
    vapid = ec.generate_private_key(ec.SECP256R1())
    pg = resources.enter_context(PrivatePostgres(database="diary_faults"))
    redis = resources.enter_context(PrivateRedis())
    logdir = config.logdir or Path(resources.enter_context(_tempdir("diary-faults-logs-")))
    service = WebPushService()
    service.start()
    resources.callback(service.stop)
    env = {
        "VAPID_PRIVATE_KEY": private_pem(vapid), "VAPID_SUBJECT": "mailto:faults@example.com",
        "PUSH_ALLOW_LOOPBACK_ENDPOINTS": "1", "OUTBOX_SWEEP_AFTER_SECONDS": str(SWEEP_AFTER_S),
        "DJANGO_SETTINGS_MODULE": "backend.settings.production", "PUSH_LEASE_SECONDS": str(LEASE_S),
        "JWT_ACCESS_MINUTES": "120",  # mail: the stack's loopback SMTP server
    }  # fmt: skip
    app = resources.enter_context(
        Stack(database_url=pg.url, redis_url=redis.url, web_workers=3, worker_concurrency=2, env=env, logdir=logdir)
    )
    app.migrate()
    app.start()
    scenario = Run(config, app, pg, redis)
    watching = threading.Event()
    threading.Thread(target=watch_pushes, args=(scenario, service, watching), daemon=True).start()
    resources.callback(watching.set)
    scenario.beat_started = time.monotonic()  # app.start() returns once beat has started
    scenario.log(f"stack up at {app.base_url}; PostgreSQL :{pg.port}, Redis :{redis.port}; logs in {logdir}")
    seed(scenario, service, vapid)
    return scenario, service


def _load(scenario: Run) -> tuple[list[Client], str]:
    """The clients write while the faults fall; returns once every client stopped, and why injection failed."""
    config = scenario.config
    scenario.t0 = time.monotonic()  # the load starts now
    scenario.load_end = scenario.t0 + config.duration_s
    scenario.give_up = scenario.load_end + config.recovery_s
    clients = [Client(scenario, p) for p in scenario.people]
    for c in clients:
        c.start()
    injection_error = ""
    try:
        inject_faults(scenario)
    except Exception as exc:  # reported as a failed check, after the load
        injection_error = repr(exc)
        scenario.log(f"fault injection failed: {exc!r}")
    for c in clients:
        c.join(timeout=max(1.0, scenario.give_up - time.monotonic()) + REQUEST_TIMEOUT_S)
    return clients, injection_error


@contextmanager
def _tempdir(prefix: str) -> Iterator[str]:
    path = tempfile.mkdtemp(prefix=prefix)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _summary(run: Run, drained: bool, waited: float, why: str) -> list[str]:
    c = run.config
    lines = [
        f"Faults under load: {len(run.people)} people, {c.duration_s:g} s of load, private PostgreSQL :{run.pg.port} "
        f"and Redis :{run.redis.port}, app at {run.stack.base_url} (gunicorn x{run.stack.web_workers}, "
        f"worker x{run.stack.worker_concurrency}, beat)",
        "timeline (seconds from the start of the load):",
    ]
    for f in run.faults:
        end = f"{f.ended:.1f}" if f.ended is not None else "?"
        lines.append(f"  {f.started:6.1f} - {end:>6}  {f.name}: {f.detail}")
    writes = [a for a in run.attempts if a.write]
    by_op = Counter(a.op for a in run.attempts)
    lines.append(f"requests: {len(run.attempts)} ({len(writes)} writes; "
                 + ", ".join(f"{op} {n}" for op, n in sorted(by_op.items())) + f"): {statuses(run.attempts)}")  # fmt: skip
    retried = sum(1 for a in run.attempts if a.status is None or a.status >= 500)
    lines.append(f"answers that made the client retry: {retried}")
    state = "drained" if drained else f"NOT drained ({why})"
    lines.append(f"recovery: {state} {waited:.0f} s after the load")
    return lines


def _swept(state: DbState) -> str:
    return (f"work the faults interrupted, recovered by the sweepers: {state.outbox_late} outbox intents processed "
            f"more than {SWEEP_AFTER_S} s after their write, {state.pushes_reclaimed} pushes claimed more than once, "
            f"{state.alert_pushes_late} alert pushes sent more than {SWEEP_AFTER_S} s after their alert")  # fmt: skip


def _dump(run: Run, path: Path) -> None:
    """Every request, one JSON object a line (kept with ``--logs``)."""
    with path.open("w") as out:
        for a in run.attempts:
            row = {k: v for k, v in vars(a).items() if k != "payload"}
            out.write(json.dumps(row) + "\n")


def _log_tails(logdir: Path, lines: int = 25) -> list[str]:
    out = []
    for name in ("web.log", "worker.log", "beat.log"):
        path = logdir / name
        if path.exists():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out += [f"--- last lines of {path} ---", *tail]
    return out
