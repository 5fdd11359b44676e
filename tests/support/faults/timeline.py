"""The scenario's set-up and its timeline: the people and their devices, then when each fault falls.

The faults follow Celery beat's ticks and the clients' red-flag writes (see ``inject_faults``), so that
each one meets work in flight: a periodic task being published or run, a red flag being evaluated.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.faults.model import BEAT_PERIOD_S, PASSWORD, ZONE, Fault, Person, Run
from tests.support.pushservers import WebPushService, ec_public_raw


def seed(run: Run, service: WebPushService, vapid: ec.EllipticCurvePrivateKey) -> None:
    """Register the people over HTTP, drop their default reminders, give each a Web Push device."""
    base = run.stack.base_url
    with requests.Session() as http:
        for i in range(run.config.people):
            person = Person(i, f"person{i}@faults.invalid")
            account = {"email": person.email, "password": PASSWORD, "timezone": ZONE}
            r = http.post(f"{base}/api/v1/auth/register", json=account, timeout=30)
            if r.status_code == 429:  # the sign-up burst throttle: wait as told and try once more
                time.sleep(float(r.headers.get("Retry-After", "1")))
                r = http.post(f"{base}/api/v1/auth/register", json=account, timeout=30)
            assert r.status_code == 201, f"register: {r.status_code} {r.text[:300]}"
            person.token = r.json()["access"]
            headers = {"Authorization": f"Bearer {person.token}"}
            for rule in http.get(f"{base}/api/v1/reminders", headers=headers, timeout=30).json()["results"]:
                gone = http.delete(f"{base}/api/v1/reminders/{rule['id']}", headers=headers, timeout=30)
                assert gone.status_code == 204, f"delete default reminder: {gone.status_code} {gone.text[:300]}"
            person.subscription = service.subscribe(application_server_key=ec_public_raw(vapid))
            device = {"platform": "webpush", "token": person.subscription.endpoint, "keys": person.subscription.keys}
            r = http.post(f"{base}/api/v1/devices", json=device, headers=headers, timeout=30)
            assert r.status_code == 201, f"device: {r.status_code} {r.text[:300]}"
            run.people.append(person)
    with psycopg.connect(run.pg.url) as conn:
        ids: dict[str, int] = dict(conn.execute("SELECT email, id FROM accounts_user").fetchall())
    for person in run.people:
        person.user_id = ids[person.email]


@contextmanager
def fault(run: Run, name: str, detail: str = "") -> Iterator[Fault]:
    record = Fault(name, run.now(), detail=detail)
    run.faults.append(record)
    run.log(f"{name}: begins")
    yield record
    record.ended = run.now()
    run.log(f"{name}: over after {record.ended - record.started:.1f} s")


def _next_tick(run: Run, period: float, after: float) -> float:
    """The first beat tick of ``period`` seconds at or after ``after`` (monotonic): beat sends every periodic
    task one period after it started, then every period."""
    k = max(1, math.ceil((after - run.beat_started) / period))
    return run.beat_started + k * period


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def _after_red_flag(run: Run, timeout: float) -> None:
    """Return just after the next red-flag episode is accepted (at most ``timeout`` from now): the worker is
    then evaluating it (alert, inbox notification, push) with its message unacknowledged."""
    run.red_flag.clear()
    run.red_flag.wait(timeout=timeout)


def inject_faults(run: Run) -> None:
    """In order, each at the first such moment after the previous one, and each just after a red-flag
    episode was accepted, so that the worker is in the middle of evaluating it:

    - Redis goes down for a few seconds across a 30-second beat tick (beat publishes while the broker
      is gone; the clients' wake-ups cannot be published; the worker loses its broker mid-task);
    - PostgreSQL crashes shortly before a one-minute tick, so the dispatcher, the ladder and the outbox
      and push sweeps meet a dead database, as do the requests and tasks in flight;
    - the worker's process group is SIGKILLed (at 70% of the load at the earliest), and a new worker
      is started.
    """
    d, half = run.config.duration_s, run.config.redis_down_s / 2
    tick = _next_tick(run, 30.0, run.t0 + 0.1 * d + half + 1.0)
    _sleep_until(tick - half - 1.0)
    _after_red_flag(run, 1.0)
    detail = (f"redis-server stopped, {run.config.redis_down_s:g} s down across the beat tick at "
              f"{tick - run.t0:.1f} s, restarted empty")  # fmt: skip
    with fault(run, "Redis down", detail):
        run.redis.restart(down_s=run.config.redis_down_s)
    tick = _next_tick(run, BEAT_PERIOD_S, time.monotonic() + 5.0 + 2.5)
    _sleep_until(tick - 2.5)
    _after_red_flag(run, 1.0)
    detail = (f"crash (pg_ctl -m immediate), {run.config.postgres_down_s:g} s down across the beat tick at "
              f"{tick - run.t0:.1f} s")  # fmt: skip
    with fault(run, "PostgreSQL down", detail):
        run.pg.restart(down_s=run.config.postgres_down_s, mode="immediate")
    _sleep_until(max(time.monotonic() + 5.0, run.t0 + 0.7 * d))
    _after_red_flag(run, 10.0)
    with fault(run, "worker killed", "SIGKILL to the worker's process group, then a new worker"):
        run.worker_alive_at_kill = run.stack.worker is not None and run.stack.worker.alive
        run.stack.kill_worker(signal.SIGKILL)
        run.stack.start_worker()


def watch_pushes(run: Run, service: WebPushService, done: threading.Event) -> None:
    """Stamp each notification's first push as the push service decrypts it."""
    seen = 0
    while not done.is_set():
        with service.lock:
            fresh = service.received[seen:]
        for push in fresh:
            run.arrivals.setdefault(str(push.payload.get("notification_id")), run.now())
        seen += len(fresh)
        time.sleep(0.01)
