"""Faults under load: restart Redis, restart PostgreSQL and SIGKILL the worker while people write.

    .venv/bin/python bench/faults.py [--duration 90] [--people 3] [--recovery 150] [--logs DIR]

Everything runs on private servers this script starts (tests/support/services.py): a PostgreSQL
cluster and a redis-server on free ports, so the shared services at 5432 and 6379 are never touched.
The app runs in its production shape (tests/support/stack.py: gunicorn, a prefork Celery worker, Celery beat)
with Web Push pointed at a loopback push service that verifies VAPID and decrypts every push
(tests/support/pushservers.py).

The load: one client thread per person over real HTTP, like the offline app: episodes written with
client-generated ids (POST; a client that got no answer or a 5xx retries with the idempotent PUT),
red-flag episodes (``breathing_difficulty``), daily check-ins (PUT), sync pulls and pushes, and
``once`` reminders (timers a little ahead) falling due during the run. While it runs, in order, each
just after a red-flag episode was accepted (so the worker is busy with it): Redis is restarted, down
a few seconds across a beat tick; PostgreSQL crashes (``pg_ctl -m immediate``) and restarts, down a
few seconds across the one-minute tick of the dispatcher and the sweepers; the worker's process group
is SIGKILLed and a new worker started. Every response is recorded.

The app runs with ``backend.settings.production`` except for two knobs:
lost wake-ups are swept after 15 s instead of 60 (``OUTBOX_SWEEP_AFTER_SECONDS``) and a push claimed
by the killed worker comes back after 30 s instead of 5 minutes (``PUSH_LEASE_SECONDS``), so that
recovery fits the run.

After the load it waits (bounded) for the work to drain, then checks and prints a report:

- every write was accepted in the end and every accepted write is stored exactly once, with its content;
- no write failed while Redis was down;
- while PostgreSQL was down the API answered 503 with Retry-After, never 500, never no answer;
- no 500 anywhere, no failure outside the database outage;
- the outbox and the push outbox drained, no push failed for good;
- every reminder that fell due has exactly one inbox notification, every red-flag episode its alert,
  every alert exactly one inbox notification;
- each of those notifications reached its person's push endpoint at least once (deduplicated by the
  notification id every push carries);
- the worker lived through the Redis and PostgreSQL outages and kept working: between the faults,
  red-flag pushes arrived promptly.

Exit status 1 when a check fails. ``run(Config(...))`` is the same scenario for tests/faults.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import requests  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from tests.support.pushservers import Subscription, WebPushService, ec_public_raw, private_pem  # noqa: E402
from tests.support.services import PrivatePostgres, PrivateRedis, ServiceMissing  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

__all__ = ["Config", "Report", "ServiceMissing", "main", "run"]

PASSWORD = "a sturdy pass phrase 42"
ZONE = "Europe/Berlin"
REQUEST_TIMEOUT_S = 15.0  # longer than this without an answer counts as a hang
RETRY_AFTER_CAP_S = 1.0  # clients retry sooner than Retry-After asks, to probe the outage
AFTER_FAULT_GRACE_S = 3.0  # a fault's window runs this long past the restart (reconnects)
BEAT_PERIOD_S = 60.0  # outbox-sweep, reminders-dispatch and reminders-push-sweep run every minute
SWEEP_AFTER_S = 15  # OUTBOX_SWEEP_AFTER_SECONDS for the run: lost wake-ups are re-sent after this
# PUSH_LEASE_SECONDS for the run (production default: 300): a push that a killed worker had
# claimed is sent again when its lease runs out, which must happen within the run.
LEASE_S = 30
MIN_DURATION_S = 75.0  # the faults follow beat's ticks: Redis across the first 30-s one, PostgreSQL the first minute
CHECK_NAMES = (
    "faults injected",
    "every write accepted in the end",
    "accepted writes stored exactly once",
    "no write failed while Redis was down",
    "database down: 503, never 500",
    "no 500, no other failure",
    "work drained",
    "due reminders: one notification each",
    "red flags: one alert and one notification each",
    "notifications reached the push endpoint",
    "worker kept working between the faults",
)
# Away from the faults a red-flag push arrives within this long of its write (normally well under a second); a
# worker that died or stopped consuming after an outage makes it wait for the next fault's new worker instead.
PROMPT_PUSH_S = 20.0


@dataclass(frozen=True)
class Config:
    duration_s: float = 90.0  # the load (at least MIN_DURATION_S); see inject_faults for when the faults fall
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


# --- the run ------------------------------------------------------------------------------------------------


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


class Client(threading.Thread):
    """One person's app: writes in a fixed rotation, each retried until the server accepts it."""

    # One cycle of operations; the red flag and the reminder come once per cycle.
    ROTATION = (
        "episode",
        "checkin",
        "episode",
        "sync",
        "red_flag",
        "episode",
        "checkin",
        "reminder",
        "episode",
        "sync",
    )

    def __init__(self, run: Run, person: Person) -> None:
        super().__init__(name=f"client-{person.index}", daemon=True)
        self.run_, self.person = run, person
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {person.token}"
        self.counter = 0
        self.water_ml = 0
        self.last_pulled_at: int | None = None
        self.exception: BaseException | None = None

    # -- HTTP --

    def request(self, op: str, method: str, path: str, *, body: Any = None, write: bool) -> Attempt:
        """One request, recorded; ``Attempt.payload`` holds the parsed JSON answer."""
        started = self.run_.now()
        try:
            resp = self.session.request(method, self.run_.stack.base_url + path, json=body, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException as exc:
            attempt = Attempt(self.person.index, op, method, path, started, self.run_.now(), None, write,
                              error=f"{type(exc).__name__}: {exc}"[:300])  # fmt: skip
        else:
            try:
                payload = resp.json() if resp.content else {}
            except ValueError:
                payload = None
            attempt = Attempt(self.person.index, op, method, path, started, self.run_.now(), resp.status_code, write,
                              resp.headers.get("Retry-After"), "" if resp.ok else resp.text[:300], payload)  # fmt: skip
        self.run_.record(attempt)
        return attempt

    def until_accepted(self, op: str, first: tuple[str, str, Any], retry: tuple[str, str, Any], *, write: bool) -> Any:
        """Send ``first``; after no answer or a 5xx, ``retry`` (idempotent) until a 2xx. Returns the 2xx body,
        or None when the server refused it (4xx) or the run gave up."""
        method, path, body = first
        while True:
            attempt = self.request(op, method, path, body=body, write=write)
            status = attempt.status
            if status is not None and 200 <= status < 300:
                payload, attempt.payload = attempt.payload, None  # keep no answer bodies in the record
                return payload if payload is not None else {}
            if status is not None and status < 500:
                return None  # refused: a bug in the app or in this client; recorded, not retried
            if time.monotonic() >= self.run_.give_up:
                return None
            method, path, body = retry
            wait = 0.5
            if status == 503 and attempt.retry_after and attempt.retry_after.isdigit():
                wait = min(float(attempt.retry_after), RETRY_AFTER_CAP_S)
            time.sleep(wait)

    # -- operations --

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.person.index}-{self.counter}"

    def episode_content(self, *, red_flag: bool) -> dict[str, Any]:
        n = self.counter
        started = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5 + n % 50)
        content: dict[str, Any] = {
            "kind": ("spasm", "cramp", "twitch")[n % 3],
            "body_location": ("calf", "foot", "hamstring", "neck")[n % 4],
            "started_at": started.isoformat().replace("+00:00", "Z"),
            "tz": ZONE,
            "duration_s": 30 + (n * 7) % 600,
            "pain": 1 + n % 6,
            "symptoms": [],
            "notes": f"person {self.person.index} entry {n}",
        }
        if red_flag:
            content.update(kind="spasm", body_location="chest", symptoms=["breathing_difficulty"])
        return content

    def episode(self, *, red_flag: bool = False) -> None:
        uid = self.next_id("e")
        content = self.episode_content(red_flag=red_flag)
        write = self.run_.add_write(Write("episode", self.person.index, uid, content))
        answer = self.until_accepted(
            "episode", ("POST", "/api/v1/episodes/", {"id": uid, **content}), ("PUT", f"/api/v1/episodes/{uid}", content),
            write=True,
        )  # fmt: skip
        if answer is not None:
            write.accepted, write.answer, write.accepted_at = True, answer, self.run_.now()
            if red_flag:
                self.run_.red_flag.set()

    def checkin(self) -> None:
        self.water_ml += 250
        day = dt.datetime.now(ZoneInfo(ZONE)).date().isoformat()
        content = {"water_ml": self.water_ml, "stress": self.water_ml // 250 % 11, "notes": f"check-in {self.counter}"}
        self.counter += 1
        write = self.run_.add_write(Write("checkin", self.person.index, day, content))
        request = ("PUT", f"/api/v1/checkins/{day}", content)
        answer = self.until_accepted("checkin", request, request, write=True)
        if answer is not None:
            write.accepted, write.answer, write.accepted_at = True, answer, self.run_.now()

    def reminder(self) -> None:
        """A timer a little ahead (at most a minute), only while it will still fall due during the load."""
        lead = min(60.0, 0.4 * self.run_.config.duration_s)
        if time.monotonic() + lead > self.run_.load_end - 2:
            self.episode()
            return
        uid = self.next_id("r")
        fire_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=lead)
        content = {"kind": "therapy", "label": f"ice pack off ({uid})", "schedule": "once",
                   "fire_at": fire_at.isoformat().replace("+00:00", "Z")}  # fmt: skip
        write = self.run_.add_write(Write("reminder", self.person.index, uid, content))
        request = ("PUT", f"/api/v1/reminders/{uid}", content)
        answer = self.until_accepted("reminder", request, request, write=True)
        if answer is not None:
            write.accepted, write.answer, write.accepted_at = True, answer, self.run_.now()

    def sync(self) -> None:
        """What WatermelonDB's synchronize() does: pull, then push the local changes (two new episodes)."""
        last = "null" if self.last_pulled_at is None else str(self.last_pulled_at)
        pull = ("GET", f"/api/v1/sync/pull?last_pulled_at={last}&schema_version=1&migration=null", None)
        answer = self.until_accepted("sync_pull", pull, pull, write=False)
        if answer is None:
            return
        self.last_pulled_at = int(answer["timestamp"])
        records, writes = [], []
        for red_flag in (False, self.counter % 4 == 0):
            uid = self.next_id("s")
            content = self.episode_content(red_flag=red_flag)
            writes.append(self.run_.add_write(Write("episode", self.person.index, uid, content, via="sync")))
            records.append(raw_episode(uid, content))
        push = ("POST", f"/api/v1/sync/push?last_pulled_at={self.last_pulled_at}",
                {"episodes": {"created": records, "updated": [], "deleted": []}})  # fmt: skip
        answer = self.until_accepted("sync_push", push, push, write=True)
        if answer is None:
            return
        rejected = set(answer.get("experimentalRejectedIds", {}).get("episodes", []))
        for w in writes:
            if w.key not in rejected:
                w.accepted, w.answer, w.accepted_at = True, {"rejected": answer.get("rejected", {})}, self.run_.now()

    def run(self) -> None:
        try:
            i = 0
            while time.monotonic() < self.run_.load_end:
                op = self.ROTATION[i % len(self.ROTATION)]
                i += 1
                if op in ("episode", "red_flag"):
                    self.episode(red_flag=op == "red_flag")
                elif op == "checkin":
                    self.checkin()
                elif op == "reminder":
                    self.reminder()
                else:
                    self.sync()
                time.sleep(self.run_.config.pause_s)
        except BaseException as exc:  # reported as a failed check, never swallowed
            self.exception = exc
        finally:
            self.session.close()


def ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def raw_episode(uid: str, content: dict[str, Any]) -> dict[str, Any]:
    """The WatermelonDB raw record of an episode (SYNC.md): times in ms, arrays JSON-encoded."""
    now = int(time.time() * 1000)
    return {
        "id": uid, "kind": content["kind"], "subtype": None, "body_location": content["body_location"], "side": None,
        "started_at": ms(content["started_at"]), "tz": content["tz"], "duration_s": content["duration_s"],
        "pain": content["pain"], "symptoms": json.dumps(content["symptoms"]), "triggers": "[]", "activity": None,
        "relief": "[]", "relief_score": None, "notes": content["notes"], "created_at": now, "updated_at": now,
    }  # fmt: skip


# --- set-up ---------------------------------------------------------------------------------------------------


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


# --- recovery and verification -----------------------------------------------------------------------------


@dataclass
class DbState:
    outbox_pending: int
    outbox_next_s: float | None  # seconds until the last pending intent may be swept again
    outbox_failed_tries: int  # handler runs that raised
    pushes_pending: int
    pushes_next_s: float | None
    pushes_failed: int
    pushes_leased: int  # claimed by a worker that may have died mid-send (the lease runs LEASE_S)
    outbox_late: int  # intents processed only after their wake-up was lost (re-sent by the sweeper)
    pushes_reclaimed: int  # pushes claimed more than once (a lost send, or a lease that ran out)
    alert_pushes_late: int  # alert pushes sent well after the alert (their wake-up or worker was lost)
    episodes: dict[tuple[int, str], list[dict[str, Any]]]
    checkins: dict[tuple[int, str], list[dict[str, Any]]]
    reminders: dict[tuple[int, str], list[dict[str, Any]]]
    reminder_notifications: dict[tuple[int, str], list[dict[str, Any]]]  # by (user, reminder uid)
    alerts: list[dict[str, Any]]
    alert_notifications: dict[tuple[int, str], list[str]]  # (user, alert uid) -> notification uids
    notifications: list[dict[str, Any]]  # every live inbox row of the people


def _rows(conn: psycopg.Connection[Any], sql: str, *params: Any) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _by(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[int, str], list[dict[str, Any]]]:
    out: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[(row[keys[0]], row[keys[1]])].append(row)
    return out


def db_state(run: Run) -> DbState:
    users = [p.user_id for p in run.people]
    with psycopg.connect(run.pg.url, connect_timeout=5) as conn:
        outbox = _rows(conn, """SELECT count(*) FILTER (WHERE processed_at IS NULL) AS pending,
                                       EXTRACT(EPOCH FROM max(available_at) FILTER (WHERE processed_at IS NULL) - now())
                                           AS next_s,
                                       count(*) FILTER (WHERE last_error <> '') AS failed,
                                       count(*) FILTER (WHERE processed_at - created_at > make_interval(secs => %s))
                                           AS late
                                FROM diary_outbox_event""", SWEEP_AFTER_S)[0]  # fmt: skip
        pushes = _rows(conn, """SELECT count(*) FILTER (WHERE d.status = 'pending') AS pending,
                                       EXTRACT(EPOCH FROM max(d.next_attempt_at) FILTER (WHERE d.status = 'pending') - now())
                                           AS next_s,
                                       count(*) FILTER (WHERE d.status = 'failed') AS failed,
                                       count(*) FILTER (WHERE d.status = 'pending' AND d.attempts > 0 AND d.last_error = '')
                                           AS leased,
                                       count(*) FILTER (WHERE d.attempts > 1) AS reclaimed,
                                       count(*) FILTER (WHERE n.kind = 'alert'
                                                        AND d.sent_at - n.scheduled_for > make_interval(secs => %s))
                                           AS late_alerts
                                FROM reminders_push_delivery d
                                JOIN reminders_notification n ON n.id = d.notification_id""", SWEEP_AFTER_S)[0]  # fmt: skip
        episodes = _rows(conn, """SELECT user_id, uid, kind, body_location, started_at, tz, duration_s, pain, symptoms,
                                         notes, deleted_at FROM diary_episode WHERE user_id = ANY(%s)""", users)  # fmt: skip
        checkins = _rows(conn, """SELECT user_id, uid, water_ml, stress, notes, deleted_at FROM diary_checkin
                                  WHERE user_id = ANY(%s)""", users)  # fmt: skip
        reminders = _rows(conn, """SELECT user_id, uid, kind, label, schedule, fire_at, next_fire_at, deleted_at
                                   FROM reminders_rule WHERE user_id = ANY(%s)""", users)  # fmt: skip
        notes = _rows(conn, """SELECT user_id, uid, kind, reminder_id, alert_id, scheduled_for
                               FROM reminders_notification WHERE user_id = ANY(%s) AND deleted_at IS NULL""", users)  # fmt: skip
        alerts = _rows(conn, """SELECT user_id, uid, rule, severity, episode_id, status FROM diary_alert
                                WHERE user_id = ANY(%s)""", users)  # fmt: skip
    alert_notes: dict[tuple[int, str], list[str]] = defaultdict(list)
    for n in notes:
        if n["kind"] == "alert" and n["alert_id"]:
            alert_notes[(n["user_id"], n["alert_id"])].append(n["uid"])
    return DbState(
        outbox_pending=outbox["pending"], outbox_next_s=_float(outbox["next_s"]), outbox_failed_tries=outbox["failed"],
        pushes_pending=pushes["pending"], pushes_next_s=_float(pushes["next_s"]), pushes_failed=pushes["failed"],
        pushes_leased=pushes["leased"], outbox_late=outbox["late"], pushes_reclaimed=pushes["reclaimed"],
        alert_pushes_late=pushes["late_alerts"], episodes=_by(episodes, "user_id", "uid"), checkins=_by(checkins, "user_id", "uid"),
        reminders=_by(reminders, "user_id", "uid"),
        reminder_notifications=_by([n for n in notes if n["kind"] == "reminder"], "user_id", "reminder_id"),
        alerts=alerts, alert_notifications=alert_notes, notifications=notes,
    )  # fmt: skip


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def due_reminders(run: Run) -> list[tuple[Person, Write, dt.datetime]]:
    """Accepted timers that the server scheduled (next_fire_at in the accepted answer) and whose time has come."""
    now = dt.datetime.now(dt.UTC)
    people = {p.index: p for p in run.people}
    out = []
    for w in run.writes:
        if w.kind != "reminder" or not w.accepted or not w.answer.get("next_fire_at"):
            continue
        fire_at = dt.datetime.fromisoformat(w.content["fire_at"].replace("Z", "+00:00"))
        if fire_at <= now:
            out.append((people[w.person], w, fire_at))
    return out


def red_flag_episodes(run: Run) -> list[tuple[Person, Write]]:
    people = {p.index: p for p in run.people}
    return [(people[w.person], w) for w in run.writes
            if w.kind == "episode" and w.accepted and "breathing_difficulty" in w.content["symptoms"]]  # fmt: skip


def expected_notifications(state: DbState) -> dict[str, tuple[int, str]]:
    """Notification uid -> (user, kind): every inbox row of the people (due reminders, alerts, and the
    suggestions the server makes on its own), each of which must reach the person's push endpoint."""
    return {n["uid"]: (n["user_id"], n["kind"]) for n in state.notifications}


def _watch_pushes(run: Run, service: WebPushService, done: threading.Event) -> None:
    """Stamp each notification's first push as the push service decrypts it."""
    seen = 0
    while not done.is_set():
        with service.lock:
            fresh = service.received[seen:]
        for push in fresh:
            run.arrivals.setdefault(str(push.payload.get("notification_id")), run.now())
        seen += len(fresh)
        time.sleep(0.01)


def pushed(service: WebPushService, run: Run) -> Counter[tuple[int, str]]:
    """(user id, notification id) -> how many pushes arrived at that person's subscription."""
    by_sub = {p.subscription.id: p.user_id for p in run.people if p.subscription is not None}
    with service.lock:
        received = list(service.received)
    return Counter((by_sub.get(r.subscription_id, -1), str(r.payload.get("notification_id"))) for r in received)


def settled(run: Run, state: DbState, service: WebPushService) -> bool:
    if state.outbox_pending or state.pushes_pending:
        return False
    if any(not state.reminder_notifications.get((p.user_id, w.key)) for p, w, _ in due_reminders(run)):
        return False
    alerted = {(a["user_id"], a["episode_id"]) for a in state.alerts if a["rule"] == "breathing_difficulty"}
    if any((p.user_id, w.key) not in alerted for p, w in red_flag_episodes(run)):
        return False
    arrived = pushed(service, run)
    return all(arrived[(user, uid)] for uid, (user, _) in expected_notifications(state).items())


def await_recovery(run: Run, service: WebPushService) -> tuple[bool, float, str]:
    """Poll until the work has drained (see ``settled``) or the time is up. The bound is ``recovery_s`` after
    the load, pushed out (to at most LEASE_S + two beat periods) while pending work cannot be swept before it:
    a push a killed worker had claimed comes back only when its lease runs out."""
    start = time.monotonic()
    hard = start + max(run.config.recovery_s, LEASE_S + 2 * BEAT_PERIOD_S)
    deadline = start + run.config.recovery_s
    why = ""
    while True:
        try:
            state = db_state(run)
        except psycopg.Error as exc:
            state, why = None, f"database: {exc}"
        if state is not None:
            if settled(run, state, service):
                return True, time.monotonic() - start, ""
            waits = [s for s in (state.outbox_next_s, state.pushes_next_s) if s is not None]
            if waits:
                deadline = min(hard, max(deadline, time.monotonic() + max(waits) + BEAT_PERIOD_S + 20))
            why = (f"outbox pending {state.outbox_pending}, pushes pending {state.pushes_pending} "
                   f"(leased {state.pushes_leased})")  # fmt: skip
        if time.monotonic() >= deadline:
            return False, time.monotonic() - start, why
        time.sleep(2.0)


def _overlaps(a: Attempt, start: float, end: float) -> bool:
    return a.started <= end and a.ended >= start


def _statuses(attempts: list[Attempt]) -> str:
    counts = Counter("no answer" if a.status is None else str(a.status) for a in attempts)
    return ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) or "none"


def _window(run: Run, name: str) -> tuple[float, float] | None:
    for f in run.faults:
        if f.name == name and f.ended is not None:
            return f.started, f.ended + AFTER_FAULT_GRACE_S
    return None


def _same_instant(stored: dt.datetime | None, sent: str) -> bool:
    return stored is not None and stored == dt.datetime.fromisoformat(sent.replace("Z", "+00:00"))


def _episode_problems(w: Write, row: dict[str, Any]) -> list[str]:
    c = w.content
    problems = []
    for name in ("kind", "body_location", "tz", "duration_s", "pain", "notes"):
        if row[name] != c[name]:
            problems.append(f"{name} {row[name]!r} != {c[name]!r}")
    if list(row["symptoms"] or []) != c["symptoms"]:
        problems.append(f"symptoms {row['symptoms']!r} != {c['symptoms']!r}")
    if not _same_instant(row["started_at"], c["started_at"]):
        problems.append(f"started_at {row['started_at']} != {c['started_at']}")
    if row["deleted_at"] is not None:
        problems.append("deleted")
    return problems


def verify(run: Run, state: DbState, service: WebPushService, clients: list[Client]) -> list[Check]:
    checks: list[Check] = []
    people = {p.index: p for p in run.people}
    writes = list(run.writes)

    # 1. the faults happened
    names = [f.name for f in run.faults if f.ended is not None]
    want = ["Redis down", "PostgreSQL down", "worker killed"]
    checks.append(Check(CHECK_NAMES[0], names == want, ", ".join(names) or "none"))

    # 2. every write accepted in the end
    lost = [w for w in writes if not w.accepted]
    crashed = [c.name for c in clients if c.exception is not None]
    detail = f"{len(writes) - len(lost)} of {len(writes)} accepted"
    if lost:
        detail += "; not accepted: " + ", ".join(f"{w.kind} {w.key} (person {w.person})" for w in lost[:10])
    if crashed:
        detail += "; client errors: " + "; ".join(f"{c.name}: {c.exception!r}" for c in clients if c.exception)
    checks.append(Check(CHECK_NAMES[1], bool(writes) and not lost and not crashed, detail))

    # 3. stored exactly once with the content
    problems: list[str] = []
    accepted = [w for w in writes if w.accepted]
    episodes = [w for w in accepted if w.kind == "episode"]
    for w in episodes:
        rows = state.episodes.get((people[w.person].user_id, w.key), [])
        if len(rows) != 1:
            problems.append(f"episode {w.key}: {len(rows)} rows")
        elif bad := _episode_problems(w, rows[0]):
            problems.append(f"episode {w.key}: {'; '.join(bad)}")
    attempted = {(people[w.person].user_id, w.key) for w in writes if w.kind == "episode"}
    strays = [key for key in state.episodes if key not in attempted]
    problems += [f"episode {uid} stored but never written" for _, uid in strays]
    last_checkin: dict[tuple[int, str], Write] = {}
    for w in accepted:
        if w.kind == "checkin":
            last_checkin[(people[w.person].user_id, w.key)] = w  # each person writes in order: the last one wins
    for key, w in last_checkin.items():
        rows = state.checkins.get(key, [])
        if len(rows) != 1:
            problems.append(f"check-in {w.key} of person {w.person}: {len(rows)} rows")
        elif (rows[0]["water_ml"], rows[0]["stress"], rows[0]["notes"]) != (
            w.content["water_ml"], w.content["stress"], w.content["notes"]
        ):  # fmt: skip
            problems.append(f"check-in {w.key} of person {w.person}: {rows[0]} is not the last write {w.content}")
    reminders = [w for w in accepted if w.kind == "reminder"]
    for w in reminders:
        rows = state.reminders.get((people[w.person].user_id, w.key), [])
        if len(rows) != 1:
            problems.append(f"reminder {w.key}: {len(rows)} rows")
        elif rows[0]["label"] != w.content["label"] or not _same_instant(rows[0]["fire_at"], w.content["fire_at"]):
            problems.append(f"reminder {w.key}: stored {rows[0]['label']!r} at {rows[0]['fire_at']}")
    via_sync = sum(1 for w in episodes if w.via == "sync")
    detail = (f"{len(episodes)} episodes ({len(episodes) - via_sync} REST, {via_sync} sync push), "
              f"{len(last_checkin)} check-in days after {sum(w.kind == 'checkin' for w in accepted)} writes, "
              f"{len(reminders)} reminders")  # fmt: skip
    if problems:
        detail += "; " + "; ".join(problems[:10]) + (f" (+{len(problems) - 10} more)" if len(problems) > 10 else "")
    checks.append(Check(CHECK_NAMES[2], bool(episodes) and not problems, detail))

    # 4. Redis down: every write answered 2xx
    window = _window(run, "Redis down")
    during = [a for a in run.attempts if a.write and window and _overlaps(a, *window)]
    failed = [a for a in during if a.status is None or not 200 <= a.status < 300]
    detail = (f"{len(during)} write requests during {window[0]:.1f}-{window[1]:.1f} s: {_statuses(during)}, "
              f"slowest {max((a.ended - a.started for a in during), default=0):.1f} s"
              if window else "no Redis outage")  # fmt: skip
    if failed:
        detail += "; failed: " + "; ".join(f"{a.method} {a.path} -> {a.status} {a.error[:80]}" for a in failed[:5])
    checks.append(Check(CHECK_NAMES[3], bool(window) and bool(during) and not failed, detail))

    # 5. PostgreSQL down: 503 with Retry-After, never 500, never no answer
    window = _window(run, "PostgreSQL down")
    during = [a for a in run.attempts if window and _overlaps(a, *window)]
    wrong = [a for a in during
           if a.status is None or (a.status >= 300 and not (a.status == 503 and a.retry_after))]  # fmt: skip
    unavailable = sum(a.status == 503 for a in during)
    detail = (f"{len(during)} requests during {window[0]:.1f}-{window[1]:.1f} s: {_statuses(during)}"
              if window else "no database outage")  # fmt: skip
    if wrong:
        detail += "; wrong: " + "; ".join(f"{a.method} {a.path} -> {a.status} {a.error[:80]}" for a in wrong[:5])
    checks.append(Check(CHECK_NAMES[4], bool(window) and unavailable > 0 and not wrong, detail))

    # 6. no 500 anywhere, no failure outside the database outage
    outside = [a for a in run.attempts if not (window and _overlaps(a, *window))]
    errors = [a for a in run.attempts if a.status == 500]
    errors += [a for a in outside if a.status is None or a.status >= 300]
    detail = f"{len(run.attempts)} requests in all: {_statuses(run.attempts)}"
    if errors:
        detail += "; failures: " + "; ".join(
            f"{a.started:.1f}s {a.method} {a.path} -> {a.status} {a.error[:100]}" for a in errors[:6]
        )
    checks.append(Check(CHECK_NAMES[5], not wrong, detail))

    # 7. drained
    ok = not (state.outbox_pending or state.pushes_pending or state.pushes_failed)
    detail = (f"outbox {state.outbox_pending} pending ({state.outbox_failed_tries} handler runs failed and were "
              f"retried); pushes {state.pushes_pending} pending, {state.pushes_failed} failed")  # fmt: skip
    checks.append(Check(CHECK_NAMES[6], ok, detail))

    # 8. due reminders
    due = due_reminders(run)
    problems = []
    for person, w, fire_at in due:
        rows = state.reminder_notifications.get((person.user_id, w.key), [])
        if len(rows) != 1 or rows[0]["scheduled_for"] != fire_at:
            problems.append(f"{w.key}: {len(rows)} notifications {[str(r['scheduled_for']) for r in rows]}")
    late = [w for w in reminders if not w.answer.get("next_fire_at")]
    detail = f"{len(due)} timers fell due, {len(due) - len(problems)} with exactly one notification"
    if late:
        detail += f" ({len(late)} accepted only after their time, not expected to fire)"
    if problems:
        detail += "; " + "; ".join(problems[:8])
    checks.append(Check(CHECK_NAMES[7], bool(due) and not problems, detail))

    # 9. red flags: an alert per episode, a notification per alert
    problems = []
    flagged = red_flag_episodes(run)
    alerts_by_episode = Counter(
        (a["user_id"], a["episode_id"]) for a in state.alerts if a["rule"] == "breathing_difficulty"
    )
    for person, w in flagged:
        if alerts_by_episode[(person.user_id, w.key)] != 1:
            problems.append(f"episode {w.key}: {alerts_by_episode[(person.user_id, w.key)]} alerts")
    for a in state.alerts:
        n = len(state.alert_notifications.get((a["user_id"], a["uid"]), []))
        if n != 1:
            problems.append(f"alert {a['uid']} ({a['rule']}, episode {a['episode_id']}): {n} notifications")
    rules = Counter(a["rule"] for a in state.alerts)
    detail = (f"{len(flagged)} red-flag episodes; {len(state.alerts)} alerts "
              f"({', '.join(f'{k} {v}' for k, v in sorted(rules.items()))})")  # fmt: skip
    if problems:
        detail += "; " + "; ".join(problems[:8])
    checks.append(Check(CHECK_NAMES[8], bool(flagged) and not problems, detail))

    # 10. pushes: each notification at least once at its person's endpoint
    expected = expected_notifications(state)
    arrived = pushed(service, run)
    missing = [uid for uid, (user, _) in expected.items() if not arrived[(user, uid)]]
    twice = sum(1 for uid, (user, _) in expected.items() if arrived[(user, uid)] > 1)
    stray = [key for key in arrived if expected.get(key[1], (None,))[0] != key[0]]
    kinds = Counter(kind for _, kind in expected.values())
    detail = (f"{len(expected) - len(missing)} of {len(expected)} notifications pushed "
              f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}; {sum(arrived.values())} pushes received; "
              f"{twice} notifications pushed more than once, which the app shows once by id)")  # fmt: skip
    if missing:
        detail += "; never pushed: " + ", ".join(missing[:8])
    if stray:
        detail += f"; {len(stray)} pushes of no notification of that person: {stray[:5]}"
    due_or_alert = {uid for uid, (_, kind) in expected.items() if kind in ("reminder", "alert")}
    checks.append(Check(CHECK_NAMES[9], bool(due_or_alert) and not missing and not stray, detail))

    # 11. the worker kept working: alive when it was to be killed; away from the faults, red-flag pushes prompt
    near = [(f.started - 2.0, (f.ended or f.started) + 5.0) for f in run.faults]
    alert_of = {(a["user_id"], a["episode_id"]): a["uid"] for a in state.alerts if a["rule"] == "breathing_difficulty"}
    delays: list[float] = []
    slow: list[str] = []
    for person, w in flagged:
        if w.accepted_at is None or any(lo <= w.accepted_at <= hi for lo, hi in near):
            continue
        notes = state.alert_notifications.get((person.user_id, alert_of.get((person.user_id, w.key), "")), [])
        arrived_at = min((run.arrivals[n] for n in notes if n in run.arrivals), default=None)
        delay = None if arrived_at is None else arrived_at - w.accepted_at
        if delay is None or delay > PROMPT_PUSH_S:
            slow.append(f"{w.key} at {w.accepted_at:.1f} s: " + ("never" if delay is None else f"{delay:.1f} s"))
        else:
            delays.append(delay)
    delays.sort()
    alive = run.worker_alive_at_kill
    detail = (f"worker {'alive' if alive else 'NOT alive'} when it was to be killed; {len(delays)} of "
              f"{len(delays) + len(slow)} red-flag writes away from the faults pushed within {PROMPT_PUSH_S:g} s")  # fmt: skip
    if delays:
        detail += f" (median {delays[len(delays) // 2] * 1000:.0f} ms, slowest {delays[-1] * 1000:.0f} ms)"
    if slow:
        detail += "; late: " + "; ".join(slow[:6])
    checks.append(Check(CHECK_NAMES[10], bool(alive) and bool(delays) and not slow, detail))
    return checks


# --- entry points -------------------------------------------------------------------------------------------


def run(config: Config) -> Report:
    """The whole scenario on private servers; raises ServiceMissing when PostgreSQL or Redis is not installed."""
    if config.duration_s < MIN_DURATION_S:
        raise ValueError(f"the faults need at least {MIN_DURATION_S:g} s of load, not {config.duration_s:g}")
    began = time.monotonic()
    vapid = ec.generate_private_key(ec.SECP256R1())
    with ExitStack() as stack_of:
        pg = stack_of.enter_context(PrivatePostgres(database="diary_faults"))
        redis = stack_of.enter_context(PrivateRedis())
        logdir = config.logdir or Path(stack_of.enter_context(_tempdir("diary-faults-logs-")))
        service = WebPushService()
        service.start()
        stack_of.callback(service.stop)
        watching = threading.Event()
        env = {
            "VAPID_PRIVATE_KEY": private_pem(vapid), "VAPID_SUBJECT": "mailto:faults@example.com",
            "PUSH_ALLOW_LOOPBACK_ENDPOINTS": "1", "OUTBOX_SWEEP_AFTER_SECONDS": str(SWEEP_AFTER_S),
            "DJANGO_SETTINGS_MODULE": "backend.settings.production", "PUSH_LEASE_SECONDS": str(LEASE_S),
            "JWT_ACCESS_MINUTES": "120", "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }  # fmt: skip
        app = stack_of.enter_context(
            Stack(database_url=pg.url, redis_url=redis.url, web_workers=3, worker_concurrency=2, env=env, logdir=logdir)
        )
        app.migrate()
        app.start()
        scenario = Run(config, app, pg, redis)
        watcher = threading.Thread(target=_watch_pushes, args=(scenario, service, watching), daemon=True)
        watcher.start()
        stack_of.callback(watching.set)
        scenario.beat_started = time.monotonic()  # app.start() returns once beat has started
        scenario.log(f"stack up at {app.base_url}; PostgreSQL :{pg.port}, Redis :{redis.port}; logs in {logdir}")
        seed(scenario, service, vapid)
        scenario.t0 = time.monotonic()  # the load starts now
        scenario.load_end = scenario.t0 + config.duration_s
        scenario.give_up = scenario.load_end + config.recovery_s
        clients = [Client(scenario, p) for p in scenario.people]
        for c in clients:
            c.start()
        injector_error: list[BaseException] = []

        def injector() -> None:
            try:
                inject_faults(scenario)
            except BaseException as exc:
                injector_error.append(exc)
                scenario.log(f"fault injection failed: {exc!r}")

        chaos = threading.Thread(target=injector, name="faults", daemon=True)
        chaos.start()
        chaos.join()
        for c in clients:
            c.join(timeout=max(1.0, scenario.give_up - time.monotonic()) + REQUEST_TIMEOUT_S)
        scenario.log(f"load over: {len(scenario.attempts)} requests; waiting for the work to drain")
        drained, waited, why = await_recovery(scenario, service)
        state = db_state(scenario)
        checks = verify(scenario, state, service, clients)
        if injector_error:
            checks[0] = Check(CHECK_NAMES[0], False, f"{checks[0].detail}; injection failed: {injector_error[0]!r}")
        lines = [*_summary(scenario, drained, waited, why), _swept(state)]
        _dump(scenario, logdir / "requests.jsonl")
        report = Report(config, lines, checks, time.monotonic() - began)
        if not report.ok:
            report.lines += _log_tails(logdir)
        app.stop()
        return report
    raise AssertionError("unreachable")  # pragma: no cover (mypy: ExitStack may swallow exceptions)


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
                 + ", ".join(f"{op} {n}" for op, n in sorted(by_op.items())) + f"): {_statuses(run.attempts)}")  # fmt: skip
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


def main(argv: list[str] | None = None, *, runner: Callable[[Config], Report] = run) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=Config.duration_s, help="seconds of load (default 90)")
    parser.add_argument("--people", type=int, default=Config.people, help="client threads, one person each")
    parser.add_argument("--recovery", type=float, default=Config.recovery_s, help="longest wait for the work to drain")
    parser.add_argument("--logs", type=Path, default=None, help="keep the app's logs in this directory")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    config = Config(duration_s=args.duration, people=args.people, recovery_s=args.recovery, logdir=args.logs,
                    verbose=not args.quiet)  # fmt: skip
    try:
        report = runner(config)
    except (ServiceMissing, ValueError) as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
