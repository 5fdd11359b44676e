"""Load: a crowd of people and their clinicians against the production shape on this machine.

    .venv/bin/python -m bench.load [--duration 300] [--rate 200] [--people 1000] [--check] [--profile] [--keep]
    .venv/bin/python -m bench.load --quick     # CI: 40 people, 10 requests/s for 15 s; no target enforced, no drain wait

gunicorn + two Celery workers (alerts only, prefork 2; the rest, prefork 2) + Celery beat (tests/support/stack.py, production settings over plain
HTTP on loopback) on PostgreSQL (database ``diary_loadbench``, created if missing, emptied before and
after) and Redis (db 11 only, flushed before and after), with a Web Push service on loopback that
verifies and decrypts every push the worker sends. Locust (headless, FastHttpUser) runs on the same
machine as the load generator.

Seeded before the clock starts (bench/loadseed.py): ``--people`` people with 90 days of episodes and
check-ins, the default reminders, unanswered reminder notifications, a Web Push device and a first
insights snapshot (computed by the worker); one clinician per 50 people with active shares and a
signed-in, TOTP-verified web session. Each person's requests follow the fixed mix per person-hour
in bench/loadmix.py (printed), time compressed so the crowd offers ``--rate`` requests/s.

Printed (and written to var/load-report.txt): the machine and versions, the mix and compression,
achieved requests/s (overall and per 30 s), per endpoint count, p50/p95/p99/max and errors, every
Celery queue's depth and the database-held queues (pending outbox intents, pending pushes, insights
refreshes due) sampled every second, how long they took to drain after the run, CPU by process
group, and PASS/FAIL per target: ``--rate`` sustained, p99 < 100 ms for writes and sync, zero
errors, queues drained, and urgent alerts pushed within 2 s (p95) under the load: beside the crowd, a
few people of their own post a ``breathing_difficulty`` episode every ``--urgent-every`` seconds over
HTTP, and each alert's latency is timed from the write's answer to its push decrypted at the loopback
service (as bench/alerts.py does, here with the full mix running). The stack runs docker-compose.yml's
two workers: an alerts-only one and a general one. Baselines measured in the same run, on the idle stack: ``GET /healthz`` and
each endpoint requested one at a time; ratios are loaded p50 / idle p50. A missed target (or
``--profile``) adds a cProfile of the hottest endpoint run in-process against the same database.
``--check`` exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import importlib.metadata
import json
import math
import os
import platform
import random
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from scripts import dev  # noqa: E402
from tests.support.pushservers import WebPushService, ec_public_raw, private_pem  # noqa: E402
from tests.support.stack import PYTHON, Stack  # noqa: E402

# Its own database and Redis db (emptied before and after); LOAD_DATABASE_URL (a *bench* database) and
# LOAD_REDIS_URL name others (the suite's short run of every benchmark does).
DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/diary_loadbench")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/11")
DB_NAME = DATABASE_URL.rsplit("/", 1)[1]
VAPID = ec.generate_private_key(ec.SECP256R1())
STACK_ENV = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production", "SECURE_SSL_REDIRECT": "false", "DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
    "CELERY_BROKER_URL": REDIS_URL, "JWT_ACCESS_MINUTES": "720", "VAPID_PRIVATE_KEY": private_pem(VAPID),
    "VAPID_SUBJECT": "mailto:load@bench.invalid", "PUSH_ALLOW_LOOPBACK_ENDPOINTS": "1", "LOG_LEVEL": "INFO",
    "PYTHONWARNINGS": "ignore:No directory at",
}  # fmt: skip
os.environ.update(STACK_ENV)
os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"  # this process also uses Django's test client
# Production settings want a mail server and a sender; this process sends no mail (the stack's worker
# does, to the loopback SMTP server tests/support/stack.py starts), so a placeholder satisfies them here.
os.environ.setdefault("EMAIL_URL", "smtp://127.0.0.1:25")
os.environ.setdefault("DEFAULT_FROM_EMAIL", "Spasm diary <noreply@load.bench.invalid>")
os.environ["LOG_LEVEL"] = "WARNING"  # this process only: no access log lines from seeding and profiling
warnings.filterwarnings("ignore", "No directory at")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
import redis  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from backend.celery import GENERAL_QUEUES, URGENT_QUEUE  # noqa: E402
from backend.celery import app as celery_app  # noqa: E402
from bench import loadmix as mix  # noqa: E402
from bench import loadseed as seed  # noqa: E402
from bench.common import conninfo, ensure_database  # noqa: E402
from bench.loadprofile import profile  # noqa: E402
from bench.loadreport import report  # noqa: E402
from diary.accounts.models import User  # noqa: E402
from diary.accounts.services import user_register  # noqa: E402
from diary.alerts.models import Alert  # noqa: E402
from diary.notifications.devices import device_register  # noqa: E402
from diary.patterns.models import InsightSnapshot  # noqa: E402
from diary.patterns.tasks import insights_chunk  # noqa: E402

REPORT = ROOT / "var" / "load-report.txt"
QUEUES = [q.name for q in celery_app.conf.task_queues]  # alerts, periodic, celery, batch
URGENT_PEOPLE = 3


# --- the machine ---------------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    mem_kb = int(
        next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    )
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]  # type: ignore[index]
    rv = redis.Redis.from_url(REDIS_URL).info("server")["redis_version"]
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("django", "gunicorn", "celery", "locust"))
    return [
        f"machine: {os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB RAM, Linux {platform.release()}",
        f"versions: Python {platform.python_version()}, PostgreSQL {pg}, Redis {rv}, {versions}",
    ]


# --- sampling: queues every second, CPU by process group ---------------------------------------------------


class Sampler(threading.Thread):
    """Every second: every Celery queue (and unacked) on Redis db 11, the queues the database holds, and
    CPU ticks per process group (from /proc), so a report can say where the machine's time went."""

    def __init__(self, groups: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.groups = groups  # label -> process group id
        self.rows: list[tuple[float, dict[str, int]]] = []
        self.cpu: list[tuple[float, dict[str, float]]] = []
        self.done = threading.Event()
        self._seen: dict[int, tuple[str, int]] = {}
        self._total: tuple[int, int] | None = None

    def run(self) -> None:
        r = redis.Redis.from_url(REDIS_URL)
        with psycopg.connect(conninfo(DB_NAME), autocommit=True) as db:
            while not self.done.is_set():
                t = time.time()
                counts = db.execute(
                    "SELECT (SELECT count(*) FROM diary_outbox_event WHERE processed_at IS NULL),"
                    " (SELECT count(*) FROM reminders_push_delivery WHERE status = 'pending'),"
                    " (SELECT count(*) FROM diary_insights_due)"
                ).fetchone()
                assert counts is not None
                row = {q: int(r.llen(q)) for q in QUEUES}
                row.update(unacked=int(r.hlen("unacked")), outbox=counts[0], pushes=counts[1], insights_due=counts[2])
                self.rows.append((t, row))
                self.cpu.append((t, self._cpu()))
                self.done.wait(max(0.0, 1.0 - (time.time() - t)))

    def latest(self) -> dict[str, int]:
        return self.rows[-1][1] if self.rows else {}

    def _label(self, pid: int, pgid: int, comm: str) -> str:
        for label, group in self.groups.items():
            if pgid == group:
                return label
        if pid == os.getpid():
            return "bench/load.py (sampler, push service)"
        if comm == "postgres":
            with contextlib.suppress(OSError):
                if f" {DB_NAME} ".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return f"PostgreSQL backends of {DB_NAME}"
            return "PostgreSQL (other backends, background)"
        if comm.startswith("redis-server"):
            return "Redis"
        return "other processes (other engineers' work too)"

    def _cpu(self) -> dict[str, float]:
        """CPU ticks per label since the previous sample; ``idle`` and ``total`` from /proc/stat."""
        out: dict[str, float] = defaultdict(float)
        seen: dict[int, tuple[str, int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                raw = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            pid = int(entry.name)
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2 :].split()
            ticks = int(fields[11]) + int(fields[12])
            label = self._seen[pid][0] if pid in self._seen else self._label(pid, int(fields[2]), comm)
            seen[pid] = (label, ticks)
            if self._total is not None:  # a process first seen now started within the last second
                out[label] += ticks - (self._seen[pid][1] if pid in self._seen else 0)
        self._seen = seen
        cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        total, idle = sum(cpu[:8]), cpu[3] + cpu[4]
        if self._total is not None:
            out["total"], out["idle"] = total - self._total[0], idle - self._total[1]
        self._total = (total, idle)
        return out


def wait_drained(sampler: Sampler, timeout: float, ignore: tuple[str, ...] = ()) -> float | None:
    """Seconds until every queue (but ``ignore``) read 0 twice in a row, or None after ``timeout``."""
    started = time.monotonic()
    zeros = 0
    while time.monotonic() - started < timeout:
        time.sleep(1.0)
        latest = {k: v for k, v in sampler.latest().items() if k not in ignore}
        zeros = zeros + 1 if latest and not any(latest.values()) else 0
        if zeros >= 2:
            return time.monotonic() - started
    return None


# --- seeding and the plan ------------------------------------------------------------------------------------


def seed_all(args: argparse.Namespace, push: WebPushService, speed: float) -> dict[str, Any]:
    t0 = time.monotonic()
    people = seed.people_create(args.people)
    rows = seed.history_create(people)
    actions = mix.PERSON_HOUR["notification"] * speed * (args.duration + 60) / 3600
    notes = seed.notifications_seed(people, per_person=max(24, math.ceil(actions * 1.5) + 10))
    doctors = seed.clinicians_create(people, mix.PEOPLE_PER_CLINICIAN)
    seed.devices_create(people, lambda: _subscribe(push))
    ids = [u.pk for u in people]
    for start in range(0, len(ids), 100):  # the nightly fan-out computes everyone's first snapshot
        insights_chunk.delay(ids[start : start + 100])
    sessions = [(seed.clinician_session(d, pw), shares) for d, pw, shares in doctors]
    print(f"seeded {len(people)} people ({rows:,} episodes and check-ins over {seed.HISTORY_DAYS} days, "
          f"{notes:,} unanswered notifications), {len(doctors)} clinicians in {time.monotonic() - t0:.0f} s")  # fmt: skip
    return {"people": people, "sessions": sessions}


def _subscribe(push: WebPushService) -> tuple[str, dict[str, str]]:
    sub = push.subscribe(application_server_key=ec_public_raw(VAPID))
    return sub.endpoint, sub.keys


def write_plan(path: Path, seeded: dict[str, Any], speed: float) -> dict[str, Any]:
    people: list[User] = seeded["people"]
    per_person_actions = sum(mix.PERSON_HOUR.values())
    per_clinician_actions = sum(mix.CLINICIAN_HOUR.values())
    plan = {
        "people_count": len(people),
        "clinicians_count": len(seeded["sessions"]),
        "person_pacing_s": 3600 / (per_person_actions * speed),
        "clinician_pacing_s": 3600 / (per_clinician_actions * speed),
        "people": [seed.person_plan(u, seed=i) for i, u in enumerate(people)],
        "clinicians": [
            {"session": s, "patients": shares, "seed": k} for k, (s, shares) in enumerate(seeded["sessions"])
        ],
    }
    path.write_text(json.dumps(plan))
    return plan


# --- one request at a time: the idle baseline ----------------------------------------------------------------


def drive_http(conn: http.client.HTTPConnection, action: mix.Action, headers: dict[str, str],
               times: dict[str, list[float]]) -> None:  # fmt: skip
    with contextlib.suppress(StopIteration):
        req = next(action)
        while True:
            started = time.perf_counter()
            conn.request(req.method, req.path, body=req.body, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            times[req.name].append((time.perf_counter() - started) * 1000)
            problem = f"HTTP {resp.status}" if resp.status not in req.expect else req.check(body) if req.check else None
            if problem:
                raise RuntimeError(f"baseline {req.name}: {problem}: {body[:200]!r}")
            req = action.send(body)


def idle_baseline(port: int, plan: dict[str, Any], rounds: int = 20) -> tuple[float, dict[str, float]]:
    """p50 of GET /healthz, and of every endpoint requested one at a time by ``rounds`` people."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    health = []
    for i in range(220):
        started = time.perf_counter()
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        if i >= 20:
            health.append((time.perf_counter() - started) * 1000)
        assert resp.status == 200
    times: dict[str, list[float]] = defaultdict(list)
    for me in plan["people"][-rounds:]:
        person = mix.Person.from_plan(me)
        for name, action in mix.PERSON_ACTIONS.items():
            drive_http(conn, action(person), person.headers, times)
            if name == "sync":
                me["cursor"] = person.cursor
    for c in plan["clinicians"]:
        doctor = mix.Clinician(session=c["session"], patients=c["patients"], rng=random.Random(c["seed"]))
        for _ in range(max(1, rounds // len(plan["clinicians"]))):
            drive_http(conn, mix.action_patient_page(doctor), doctor.headers, times)
    conn.close()
    return statistics.median(health), {name: statistics.median(v) for name, v in times.items()}


# --- the run -------------------------------------------------------------------------------------------------


def run_locust(
    stack: Stack, plan_path: Path, plan: dict[str, Any], run_s: float, groups: dict[str, int]
) -> list[tuple[float, str, float, str]]:
    samples_path = stack.logdir / "samples.json"
    users = plan["people_count"] + plan["clinicians_count"]
    cmd = [PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(users),
           "-r", str(max(1, users // 10)), "-t", f"{math.ceil(run_s)}s", "--host", stack.base_url,
           "--stop-timeout", "15", "--only-summary", "--loglevel", "WARNING",
           "--logfile", str(stack.logdir / "locust.log")]  # fmt: skip
    env = {**os.environ, "LOAD_PLAN": str(plan_path), "LOAD_SAMPLES": str(samples_path), "PYTHONPATH": str(ROOT)}
    with (stack.logdir / "locust.out").open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    groups["locust (load generator)"] = proc.pid
    try:
        proc.wait(timeout=run_s + 120)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if not samples_path.exists():
        sys.exit(f"locust wrote no samples; see {stack.logdir / 'locust.log'} and locust.out")
    return [tuple(s) for s in json.loads(samples_path.read_text())]  # type: ignore[misc]


# --- urgent alerts under the load ----------------------------------------------------------------------------


class UrgentProbe(threading.Thread):
    """Beside the crowd: people of their own post a red-flag episode (``breathing_difficulty``) every
    ``every`` seconds over HTTP, from ``start`` to ``end`` (time.time()); each alert's latency runs
    from the write's answer to its push decrypted at the loopback service."""

    def __init__(self, port: int, push: WebPushService, people: list[User], every: float, start: float,
                 end: float) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.port, self.push, self.people, self.every = port, push, people, every
        self.start_at, self.end_at = start, end
        self.written: dict[str, float] = {}  # episode uid -> write answered (perf_counter)
        self.arrived: dict[str, float] = {}  # alert uid -> push decrypted (perf_counter)
        self.errors: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        watcher = threading.Thread(target=self._watch, daemon=True)
        watcher.start()
        tokens = [str(AccessToken.for_user(u)) for u in self.people]
        self.done.wait(max(0.0, self.start_at - time.time()))
        i = 0
        while not self.done.is_set() and time.time() < self.end_at:
            uid = f"urgent-{i}-{secrets.token_hex(4)}"
            started_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)  # alerts read the recent weeks only
            body = json.dumps({"id": uid, "kind": "spasm", "body_location": "chest", "pain": 5, "duration_s": 60,
                               "started_at": started_at.isoformat(), "symptoms": ["breathing_difficulty"]})  # fmt: skip
            headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}", "Content-Type": "application/json"}
            # A connection of its own for each write, as a phone that has been idle opens one: kept
            # between writes 10 s apart, it was closed by a server's keep-alive timeout (gthread's 5 s)
            # and the next write failed on the stale socket (BrokenPipeError), half of them in run M.
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request("POST", "/api/v1/episodes", body=body, headers=headers)
                resp = conn.getresponse()
                answer = resp.read()
                if resp.status == 201:
                    self.written[uid] = time.perf_counter()
                else:
                    self.errors.append(f"HTTP {resp.status}: {answer[:120]!r}")
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                conn.close()
            i += 1
            self.done.wait(self.every)

    def _watch(self) -> None:  # stamp each alert push as soon as the service has decrypted it
        seen = 0
        received = self.push.received
        while not self.done.is_set():
            while seen < len(received):
                alert = received[seen].payload.get("data", {}).get("alert_id")
                if alert:
                    self.arrived.setdefault(str(alert), time.perf_counter())
                seen += 1
            time.sleep(0.005)

    def latencies(self, wait_s: float = 30.0) -> tuple[list[float], int]:
        """Seconds from write to push for each urgent episode, and how many never arrived (after
        waiting up to ``wait_s`` for stragglers)."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and len(self._pairs()) < len(self.written):
            time.sleep(0.1)
        self.done.set()
        pairs = self._pairs()
        return sorted(self.arrived[a] - self.written[e] for a, e in pairs), len(self.written) - len(pairs)

    def _pairs(self) -> list[tuple[str, str]]:
        alerts = Alert.objects.filter(user__in=self.people, episode_uid__in=list(self.written))
        return [(a, e) for a, e in alerts.values_list("uid", "episode_uid") if a in self.arrived and e]


def urgent_people_create(push: WebPushService) -> list[User]:
    """People apart from the crowd (not in the plan), each with a Web Push device on the loopback service."""
    people = []
    for i in range(URGENT_PEOPLE):
        user = user_register(email=f"urgent{i}{seed.DOMAIN}", password=secrets.token_urlsafe(16),
                             timezone="Europe/Berlin", default_reminders=False)  # fmt: skip
        endpoint, keys = _subscribe(push)
        device_register(user=user, data={"platform": "webpush", "token": endpoint, "keys": keys, "label": "phone"})
        people.append(user)
    return people


# --- main ----------------------------------------------------------------------------------------------------


def cleanup() -> None:
    seed.wipe()
    redis.Redis.from_url(REDIS_URL).flushdb()  # db 11 only: the URL names it


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=300.0, help="measured seconds (after the ramp-up)")
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second the crowd offers")
    ap.add_argument("--people", type=int, default=1000)
    ap.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (as docker-compose.yml)")
    ap.add_argument("--gunicorn-args", default="", help="extra gunicorn options (GUNICORN_CMD_ARGS); by default "
                    "backend/gunicorn.conf.py's: gthread workers of 4 threads, keep-alive 5 s")  # fmt: skip
    ap.add_argument(
        "--worker-nice", type=int, default=dev.NICE["worker"],
        help="niceness of the general Celery worker, as scripts/dev.py run and docker-compose.yml's cpu_shares "
        "give it (0: as web)",
    )  # fmt: skip
    ap.add_argument("--drain-timeout", type=float, default=240.0)
    ap.add_argument("--urgent-every", type=float, default=10.0, help="seconds between urgent episodes (0: none)")
    ap.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("--profile", action="store_true", help="profile the hottest endpoint even if every target passes")
    ap.add_argument("--keep", action="store_true", help="leave the seeded data in diary_loadbench")
    ap.add_argument("--quick", action="store_true", help="a short run that only shows the script works (CI)")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.rate, args.people, args.urgent_every = 15.0, 10.0, 40, 3.0
        args.drain_timeout, args.check = 120.0, False
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the stack on a plain kill too

    per_hour = args.people * mix.requests_per_person_hour()
    clinicians = math.ceil(args.people / mix.PEOPLE_PER_CLINICIAN)
    per_hour += clinicians * mix.requests_per_clinician_hour()
    speed = args.rate * 3600 / per_hour
    ensure_database()
    guard = psycopg.connect(conninfo(DB_NAME), autocommit=True)  # held until this process exits
    if not guard.execute("SELECT pg_try_advisory_lock(hashtext('bench/load.py'))").fetchone()[0]:  # type: ignore[index]
        sys.exit(f"another bench/load.py is running on {DB_NAME}")
    cleanup()
    push = WebPushService()
    push.start()
    env = {**STACK_ENV, "GUNICORN_CMD_ARGS": args.gunicorn_args}
    stack = Stack(database_url=DATABASE_URL, redis_url=REDIS_URL, web_workers=args.web_workers, env=env,
                  worker_queues=GENERAL_QUEUES, urgent_queues=[URGENT_QUEUE], logdir=ROOT / "var" / "load" / time.strftime("%Y%m%d-%H%M%S"))  # fmt: skip
    ctx: dict[str, Any] = {"machine": machine(), "speed": speed, "people": args.people, "clinicians": clinicians}
    sampler: Sampler | None = None
    probe: UrgentProbe | None = None
    try:
        stack.start()
        assert stack.web and stack.worker and stack.urgent and stack.beat
        if args.worker_nice:  # background work yields the CPU to requests (pool children share the group)
            dev.lower_priority(stack.worker.popen.pid, args.worker_nice)
        groups = {"gunicorn (web)": stack.web.popen.pid, "Celery worker (general)": stack.worker.popen.pid,
                  "Celery worker (alerts only)": stack.urgent.popen.pid, "Celery beat": stack.beat.popen.pid}  # fmt: skip
        ctx["stack_line"] = (f"stack: gunicorn {args.web_workers} workers {args.gunicorn_args or '(gthread, 4 threads, keep-alive 5 s)'}, Celery "
                             f"workers: alerts only prefork 2, the rest prefork {stack.worker_concurrency} at nice "
                             f"{args.worker_nice}, beat; logs in {stack.logdir.relative_to(ROOT)}")  # fmt: skip
        sampler = Sampler(groups)
        sampler.start()
        seeded = seed_all(args, push, speed)
        urgent_people = urgent_people_create(push) if args.urgent_every > 0 else []
        plan_path = stack.logdir / "plan.json"
        wait_for_snapshots(len(seeded["people"]))
        # --quick does not wait for the insights refreshes (debounced a minute) before the baseline and the run
        ignore = ("insights_due",) if args.quick else ()
        if wait_drained(sampler, args.drain_timeout, ignore) is None:
            sys.exit(f"the seeding's work did not drain: {sampler.latest()}")
        plan = write_plan(plan_path, seeded, speed)
        ctx["baseline"] = idle_baseline(stack.port, plan, rounds=5 if args.quick else 20)
        plan_path.write_text(json.dumps(plan))  # the cursors the baseline's syncs moved
        wait_drained(sampler, args.drain_timeout, ignore)
        ctx["load_before"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        ctx["warmup"] = 10 + plan["person_pacing_s"] + 5  # spawning, then every person's first action
        print(f"running: {args.people} people + {clinicians} clinicians at {speed:.1f}x for "
              f"{ctx['warmup'] + args.duration:.0f} s ...", flush=True)  # fmt: skip
        if urgent_people:  # during the measured window only
            begin = time.time() + ctx["warmup"]
            probe = UrgentProbe(stack.port, push, urgent_people, args.urgent_every, begin, begin + args.duration)
            probe.start()
        samples = run_locust(stack, plan_path, plan, ctx["warmup"] + args.duration + 3, groups)
        if probe is not None:
            latencies, lost = probe.latencies()
            ctx["urgent"] = {"latencies": latencies, "lost": lost, "errors": probe.errors, "every": args.urgent_every}
        ctx["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        first = min(s[0] for s in samples)
        ctx["window"] = (first + ctx["warmup"], first + ctx["warmup"] + args.duration)
        ctx["samples"] = samples
        ctx["drained_s"] = wait_drained(sampler, 5.0 if args.quick else args.drain_timeout)
        sampler.done.set()
        ctx["queues"], ctx["cpu"] = sampler.rows, sampler.cpu
        lines, ok, hottest = report(args, ctx)
        stack.stop()  # the profile runs in this process, on a quieter machine
        if not ok or args.profile:
            lines += ["", *profile(hottest, plan)]
    finally:
        for thread in (sampler, probe):
            if thread is not None:
                thread.done.set()
        stack.stop()
        push.stop()
        if not args.keep:
            cleanup()
    text = "\n".join(lines)
    print(text)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(f"bench/load.py, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n{text}\n")
    print(f"(written to {REPORT.relative_to(ROOT)})")
    return 1 if args.check and not ok else 0


def wait_for_snapshots(people: int, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while InsightSnapshot.objects.values("user_id").distinct().count() < people:
        if time.monotonic() > deadline:
            sys.exit("the first insights snapshots were not computed in time")
        time.sleep(1.0)


if __name__ == "__main__":
    sys.exit(main())
