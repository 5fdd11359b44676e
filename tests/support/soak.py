"""The embedded default under steady use: ``scripts/dev.py run`` (SQLite, the filesystem broker, web,
a real Celery worker and beat) with parallel clients writing for minutes while reminders fall due.

    result = soak(seconds=300, clients=4)   # bench/embedded_soak.py prints it; tests/smoke asserts it
    result.failures                         # empty when everything held

It starts exactly what a newcomer starts (the run command, on a free port, in a fresh var dir, with
none of the variables that would point it at PostgreSQL or Redis unless ``database_url`` says so),
uses it only over HTTP, and checks from the outside:

- no child of the run command died (the run command logs each restart) and none logged an
  unrecoverable error;
- no answer was a 5xx (or any other failure);
- every write (REST episodes and check-ins, sync pushes of both) is stored exactly once, with its
  values, as a full sync pull of each person shows;
- every reminder that fell due is in the person's inbox: each person has three ``times`` rules firing
  at every third minute with offsets 0, 1 and 2, so one reminder is due every minute, and each rule
  has two minutes of slack before the dispatcher's one-catch-up rule would (rightly) skip a time;
- empty message files dropped into the broker's queue folder every 20 s (what kombu's in-place
  writes let a worker read) are set aside while the worker goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
NOT_EMBEDDED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
RULES = 3  # reminder rules per person, each firing every RULES minutes at its own offset
BAD_MESSAGE_EVERY_S = 20.0
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to loopback


@dataclass
class Result:
    seconds: float
    clients: int
    requests: Counter[str] = field(default_factory=Counter)  # per kind of request
    latencies: dict[str, list[float]] = field(default_factory=dict)  # seconds, per kind
    statuses: Counter[int] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)  # per child: web, worker, beat
    written: Counter[str] = field(default_factory=Counter)  # rows written, per table
    reminders_due: int = 0
    reminders_found: int = 0
    bad_messages: tuple[int, int] = (0, 0)  # dropped into the queue, found set aside
    max_db_connections: int | None = None  # PostgreSQL only
    failures: list[str] = field(default_factory=list)

    def percentile(self, kind: str | None, q: float) -> float:
        values = sorted(v for k, vs in self.latencies.items() if kind in (None, k) for v in vs)
        return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


class Person:
    """One client: its own account, token, rules, and a record of everything it wrote."""

    def __init__(self, n: int, token: str) -> None:
        self.n, self.token = n, token
        self.rules: dict[str, list[dt.datetime]] = {}  # rule id -> the times it fires
        self.episodes: dict[str, int] = {}  # id -> pain
        self.checkins: dict[str, int] = {}  # date -> water_ml
        self.days = 0
        self.pulled: int | None = None

    def next_day(self) -> str:
        self.days += 1
        return (dt.date.today() - dt.timedelta(days=self.days)).isoformat()


class Soak:
    def __init__(
        self,
        *,
        seconds: float,
        clients: int,
        interval: float,
        database_url: str | None,
        log: Callable[[str], None],
        reminders: bool = True,
    ) -> None:
        self.result = Result(seconds=seconds, clients=clients)
        self.interval, self.reminders = interval, reminders
        self.database_url, self.say = database_url, log
        self.var = Path(tempfile.mkdtemp(prefix="diary-soak-"))
        self.port = _free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.lock = threading.Lock()
        self.run: subprocess.Popen[bytes] | None = None
        self.seen: set[int] = set()  # every process the run command started, for the clean-up

    # --- the service ---------------------------------------------------------------------------

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in NOT_EMBEDDED}
        env.update(DIARY_VAR_DIR=str(self.var), PYTHONUNBUFFERED="1")
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        with (self.var / "run.log").open("ab") as out:
            self.run = subprocess.Popen(
                [sys.executable, "scripts/dev.py", "run", "--port", str(self.port), "--no-demo"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        end = time.monotonic() + 180
        while not re.search(r"worker@\S+ ready\.", self.log_text()) or self._status("/healthz") != 200:
            if self.run.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"the run command did not come up{self.tail()}")
            time.sleep(0.5)
        self.say(f"run command up on {self.base} (var dir {self.var})")

    def stop(self) -> None:
        if self.run is None:
            return
        self.seen |= _descendants(self.run.pid)
        if self.run.poll() is None:
            os.killpg(self.run.pid, signal.SIGINT)  # Ctrl-C
            try:
                code = self.run.wait(timeout=40)
            except subprocess.TimeoutExpired:
                code = None
            if code != 0:
                self.result.failures.append(f"the run command did not stop cleanly on Ctrl-C (exit {code})")
        for pid in self.seen:  # only after a failure is anything left
            if _alive(pid):
                self.result.failures.append(f"process {pid} outlived the run command")
                os.kill(pid, signal.SIGKILL)
        if self.run.poll() is None:
            self.run.kill()

    def log_text(self) -> str:
        return (self.var / "run.log").read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n--- run log (tail) ---\n" + "\n".join(self.log_text().splitlines()[-lines:])

    # --- HTTP ------------------------------------------------------------------------------------

    def http(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with _http.open(request, timeout=60) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def _status(self, path: str) -> int | None:
        try:
            return self.http("GET", path)[0]
        except OSError:
            return None

    def timed(self, kind: str, method: str, path: str, body: Any, token: str, ok: tuple[int, ...]) -> Any:
        began = time.perf_counter()
        status, answer = self.http(method, path, body, token)
        took = time.perf_counter() - began
        with self.lock:
            self.result.requests[kind] += 1
            self.result.statuses[status] += 1
            self.result.latencies.setdefault(kind, []).append(took)
            if status not in ok:
                self.result.failures.append(f"{kind}: {method} {path} answered {status}: {str(answer)[:300]}")
        return answer if status in ok else None

    # --- the people and their reminders ----------------------------------------------------------

    def person(self, n: int) -> Person:
        email = f"soak{n}-{self.port}@example.com"
        body = {"email": email, "password": "a soak test pass phrase", "timezone": "UTC"}
        status, answer = self.http("POST", "/api/v1/auth/register", body)
        if status != 201:
            raise RuntimeError(f"register answered {status}: {answer}")
        person = Person(n, answer["access"])
        # The first minute at least 20 s away (a rule saved just before its time is not a fair test).
        first = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=80)).replace(second=0, microsecond=0)
        minutes = int(self.result.seconds // 60) + 4
        for offset in range(RULES if self.reminders else 0):
            times = [first + dt.timedelta(minutes=m) for m in range(offset, minutes, RULES)][:48]
            rule = {
                "kind": "custom", "label": f"soak {offset}", "schedule": "times",
                "times": [t.strftime("%H:%M") for t in times], "tz_mode": "home",
            }  # fmt: skip
            status, answer = self.http("POST", "/api/v1/reminders", rule, person.token)
            if status != 201:
                raise RuntimeError(f"creating a reminder answered {status}: {answer}")
            person.rules[answer["id"]] = times
        return person

    # --- the clients -----------------------------------------------------------------------------

    def client(self, person: Person, until: float) -> None:
        """One operation every ``interval`` seconds (or back to back when the server is slower): well
        inside the per-person throttle (1,200 requests a minute), as an app would be."""
        rng = random.Random(person.n)
        step = 0
        due = time.monotonic()
        while (now := time.monotonic()) < until:
            if now < due:
                time.sleep(due - now)
            due = max(due + self.interval, time.monotonic() - self.interval)
            kind = ("episode", "checkin", "push")[step % 3]
            step += 1
            if kind == "episode":
                uid = f"e{person.n}x{step}"
                pain = rng.randint(1, 8)
                ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=rng.randint(5, 60 * 24 * 20))
                body = {"kind": "cramp", "body_location": "calf", "started_at": ago.isoformat(), "pain": pain}
                if self.timed("episode", "PUT", f"/api/v1/episodes/{uid}", body, person.token, (201,)) is not None:
                    person.episodes[uid] = pain
            elif kind == "checkin":
                day, water = person.next_day(), rng.randint(0, 40) * 100
                body = {"water_ml": water, "sleep_h": 7, "stress": rng.randint(0, 10)}
                if self.timed("checkin", "PUT", f"/api/v1/checkins/{day}", body, person.token, (201,)) is not None:
                    person.checkins[day] = water
            else:
                self.push(person, rng, step)

    def push(self, person: Person, rng: random.Random, step: int) -> None:
        """What the app does: pull since its cursor, then push its offline changes."""
        last = "null" if person.pulled is None else person.pulled
        query = f"/api/v1/sync/pull?last_pulled_at={last}&schema_version=1&migration=null"
        answer = self.timed("pull", "GET", query, None, person.token, (200,))
        if answer is None:
            return
        person.pulled = answer["timestamp"]
        now_ms = int(time.time() * 1000)
        episodes = {f"p{person.n}x{step}x{i}": rng.randint(1, 8) for i in range(2)}
        day, water = person.next_day(), rng.randint(0, 40) * 100
        changes = {
            "episodes": {"created": [_raw_episode(uid, pain, now_ms) for uid, pain in episodes.items()]},
            "checkins": {"created": [{"id": day, "date": day, "water_ml": water, "medications": "[]"}]},
        }
        changes = {t: {"created": [], "updated": [], "deleted": [], **c} for t, c in changes.items()}
        path = f"/api/v1/sync/push?last_pulled_at={person.pulled}"
        answer = self.timed("push", "POST", path, changes, person.token, (200,))
        if answer is not None:
            if any(answer.get("experimentalRejectedIds", {}).values()):
                with self.lock:
                    self.result.failures.append(f"push rejected records: {answer}")
                return
            person.episodes.update(episodes)
            person.checkins[day] = water

    # --- background: bad messages, database connections ------------------------------------------

    def background(self, stop: threading.Event) -> None:
        queue = self.var / "broker" / "queue"
        dropped = 0
        next_drop = time.monotonic() + BAD_MESSAGE_EVERY_S / 2
        while not stop.wait(1.0):
            if self.run is not None:
                self.seen |= _descendants(self.run.pid)
            if time.monotonic() >= next_drop:
                (queue / f"{0:020d}_soak-empty-{dropped}.celery.msg").write_bytes(b"")
                dropped += 1
                next_drop += BAD_MESSAGE_EVERY_S
            if self.database_url:
                count = _pg_connections(self.database_url)
                with self.lock:
                    self.result.max_db_connections = max(self.result.max_db_connections or 0, count)
        self.result.bad_messages = (dropped, self.result.bad_messages[1])

    # --- the checks ------------------------------------------------------------------------------

    def verify(self, people: list[Person], ended: dt.datetime) -> None:
        res = self.result
        for p in people:
            res.written["episodes"] += len(p.episodes)
            res.written["checkins"] += len(p.checkins)
        # Due: every time up to the end of the load, and at least each person's first (a short run).
        horizon = max([ended, *(min(t for ts in p.rules.values() for t in ts) for p in people if p.rules)])
        due = {(p.n, rid, t) for p in people for rid, times in p.rules.items() for t in times if t <= horizon}
        res.reminders_due = len(due)
        # The dispatcher runs once a minute: give the last due times a beat tick and a worker turn.
        deadline = time.monotonic() + 150
        while True:
            found = {(p.n, rid, t) for p in people for rid, t in self._fired(p)}
            if due <= found or time.monotonic() > deadline:
                break
            time.sleep(5)
        res.reminders_found = len(due & found)
        if due - found:
            res.failures.append(f"{len(due - found)} due reminders missing from the inbox: {sorted(due - found)[:5]}")
        for p in people:
            self._check_rows(p)
        bad = self.var / "broker" / "bad"
        set_aside = len(list(bad.glob("*_soak-empty-*.msg"))) if bad.is_dir() else 0
        res.bad_messages = (res.bad_messages[0], set_aside)
        if set_aside != res.bad_messages[0]:
            res.failures.append(f"bad messages dropped {res.bad_messages[0]}, set aside {set_aside}")
        log = self.log_text()
        for name in re.findall(r"\[dev\] (\w+) exited with code", log):
            res.restarts[name] += 1
        if res.restarts:
            res.failures.append(f"children died and were restarted: {dict(res.restarts)}")
        if "Unrecoverable error" in log:
            res.failures.append("the worker logged an unrecoverable error")
        if fives := sum(n for s, n in res.statuses.items() if s >= 500):
            res.failures.append(f"{fives} answers were 5xx")

    def _pull_all(self, p: Person) -> dict[str, Any]:
        status, answer = self.http("GET", "/api/v1/sync/pull?last_pulled_at=null&schema_version=1", token=p.token)
        if status != 200:
            raise RuntimeError(f"the final pull answered {status}: {answer}")
        return answer["changes"]

    def _fired(self, p: Person) -> list[tuple[str, dt.datetime]]:
        rows = self._pull_all(p)["notifications"]["created"]
        return [
            (n["reminder_id"], dt.datetime.fromtimestamp(n["scheduled_for"] / 1000, dt.UTC))
            for n in rows
            if n["reminder_id"] in p.rules
        ]

    def _check_rows(self, p: Person) -> None:
        changes = self._pull_all(p)
        episodes = Counter(e["id"] for e in changes["episodes"]["created"])
        checkins = Counter(c["id"] for c in changes["checkins"]["created"])
        problems = [f"episode {u} stored {episodes[u]} times" for u in p.episodes if episodes[u] != 1]
        problems += [f"check-in {d} stored {checkins[d]} times" for d in p.checkins if checkins[d] != 1]
        problems += [f"episode {u} was never written" for u in set(episodes) - set(p.episodes)]
        problems += [f"check-in {d} was never written" for d in set(checkins) - set(p.checkins)]
        problems += [
            f"episode {e['id']} has pain {e['pain']}, written {p.episodes[e['id']]}"
            for e in changes["episodes"]["created"]
            if e["id"] in p.episodes and e["pain"] != p.episodes[e["id"]]
        ]
        problems += [
            f"check-in {c['id']} has water {c['water_ml']}, written {p.checkins[c['id']]}"
            for c in changes["checkins"]["created"]
            if c["id"] in p.checkins and c["water_ml"] != p.checkins[c["id"]]
        ]
        if problems:
            self.result.failures.append(f"person {p.n}: {len(problems)} write problems: {problems[:5]}")


def soak(
    *,
    seconds: float = 300,
    clients: int = 4,
    interval: float = 0.2,
    database_url: str | None = None,
    reminders: bool = True,
    log: Callable[[str], None] = print,
) -> Result:
    """Run the whole soak; the result's ``failures`` list every check that did not hold. Without
    ``reminders`` nobody has reminder rules, and nothing waits for the dispatcher."""
    runner = Soak(
        seconds=seconds, clients=clients, interval=interval, database_url=database_url, log=log, reminders=reminders
    )
    try:
        runner.start()
        people = [runner.person(n) for n in range(clients)]
        log(f"{clients} clients writing for {seconds:.0f} s; {RULES} reminder rules each, one due every minute")
        stop = threading.Event()
        watcher = threading.Thread(target=runner.background, args=(stop,), daemon=True)
        watcher.start()
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=runner.client, args=(p, until)) for p in people]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ended = dt.datetime.now(dt.UTC)
        stop.set()
        watcher.join()
        log("load over; waiting for the last due reminders and checking every write")
        runner.verify(people, ended)
    except Exception as exc:
        runner.result.failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        runner.stop()
    if runner.result.failures:
        log(runner.tail())
    return runner.result


def _raw_episode(uid: str, pain: int, now_ms: int) -> dict[str, Any]:
    started = now_ms - random.randint(5, 60 * 24 * 20) * 60_000
    return {
        "id": uid, "kind": "spasm", "subtype": None, "body_location": "calf", "side": "left", "started_at": started,
        "tz": "UTC", "duration_s": 30, "pain": pain, "symptoms": "[]", "triggers": "[]", "activity": None,
        "relief": "[]", "relief_score": None, "notes": "", "created_at": now_ms, "updated_at": now_ms,
    }  # fmt: skip


def _pg_connections(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found.add(child)
                todo.append(child)
    return found
