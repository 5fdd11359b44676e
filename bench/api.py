"""The fixed cost of an API request and the hot endpoints, through the full HTTP stack, against baselines
measured in the same run (issue 18 items 1-4).

    .venv/bin/python -m bench.api [--check] [--quick] [--rounds 5] [--requests 200] [--profile]

PostgreSQL from DATABASE_URL (default: the diary_bench database, created if missing), Redis from
REDIS_URL (default db 13). One gunicorn gthread worker (1 thread, keep-alive) serves every case; one
persistent keep-alive http.client connection drives them, rounds interleaved in rotating order.

Each case is measured twice: the CPU the web worker spends per request (its threads' time on CPU from
/proc/<pid>/task/*/schedstat, what issue 18 measured) and the client's median latency. The targets are
judged on worker CPU:

- trivial: an authenticated trivial DRF view (JWT, epoch check, throttle, permission, renderer) vs a
  plain Django view through the same middleware (no auth, no database): at most 2x.
- pull: an up-to-date ``GET /api/v1/sync/pull`` (nothing new) vs the trivial DRF request: at most 1.2x.
- create: ``POST /api/v1/episodes`` vs the trivial DRF request: at most 2.5x.
- push1: ``POST /api/v1/sync/push`` of one new episode vs the trivial DRF request: at most 2.5x.
- list: ``GET /api/v1/episodes`` (a page of 50) vs a plain Django view doing the same query and
  rendering the same JSON (bench/views.py): at most 1.5x.

``--quick`` is the short mode for CI (small sizes, few requests, targets printed but never enforced);
``--check`` exits 1 when a target is missed (ignored with ``--quick``).
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import logging
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
PURGE_BROKER = "REDIS_URL" not in os.environ  # only ever purge the broker db this script chose
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/diary_bench")
os.environ.setdefault("REDIS_URL", DEFAULT_REDIS)
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("JWT_ACCESS_MINUTES", "120")  # the tokens outlive the run
os.environ.setdefault("THROTTLE_USER", "1000000/min")  # counted as always, never refused here
os.environ.setdefault("PYTHONWARNINGS", "ignore:No directory at")  # whitenoise: no collectstatic here
warnings.filterwarnings("ignore", "No directory at")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()
logging.getLogger("backend.access").setLevel(logging.WARNING)  # this process's in-process requests: no lines

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from bench.common import ensure_database  # noqa: E402
from bench.server import start_server  # noqa: E402
from diary import vocab  # noqa: E402
from diary.accounts.models import User  # noqa: E402
from diary.accounts.services import user_register  # noqa: E402
from diary.episodes.models import Episode  # noqa: E402
from diary.sync.models import SyncState  # noqa: E402
from diary.sync.registry import WIRE_TABLES  # noqa: E402
from diary.sync.sequence import sequence_claim  # noqa: E402
from tests.support.services import free_port  # noqa: E402

EMAIL_DOMAIN = "@bench.invalid"
READER = f"reader{EMAIL_DOMAIN}"
DRF_LIST, PLAIN_LIST = "/api/v1/episodes", "/bench/plain/episodes"
PLAIN_OK, DRF_OK = "/bench/plain/ok", "/bench/drf/ok"
PULL, PUSH = "/api/v1/sync/pull", "/api/v1/sync/push"
Headers = dict[str, str]
# (case, baseline case, target ratio on worker CPU)
TARGETS = [
    ("trivial", "django", 2.0),
    ("pull", "trivial", 1.2),
    ("create", "trivial", 2.5),
    ("push1", "trivial", 2.5),
    ("list", "plain-list", 1.5),
]
BASELINE = """baselines: 'django' is a plain function view returning JsonResponse({"ok": true}) through the same
  middleware (no auth, no database); 'trivial' is a DRF APIView with the API's defaults answering the same.
  'plain-list' is a plain view (bench/views.py) with the same JWT auth, query and row rendering as the DRF list;
  'plain-create' (no target) calls the same services.episode_create."""


def cleanup() -> None:
    User.objects.filter(email__endswith=EMAIL_DOMAIN).delete()  # cascades to episodes, outbox, sync state


def seed(n: int) -> tuple[User, User]:
    """A reader with ``n`` episodes (1 in 20 more as tombstones) and a writer for the create runs."""
    pw = uuid.uuid4().hex
    reader = user_register(email=READER, password=pw, timezone="Europe/Berlin", default_reminders=False)
    writer = user_register(
        email=f"writer{EMAIL_DOMAIN}", password=pw, timezone="Europe/Berlin", default_reminders=False
    )
    rnd, now, total = random.Random(7), datetime.now(UTC), n + n // 20
    with transaction.atomic():
        seq = sequence_claim(user_id=reader.pk, count=total)
        rows = []
        for i in range(total):
            kind = rnd.choice(vocab.EPISODE_KINDS)
            started = now - timedelta(hours=6 * i, minutes=rnd.randrange(360))
            rows.append(Episode(
                user=reader, uid=uuid.uuid4().hex[:16], seq=seq + i, kind=kind, subtype=rnd.choice(vocab.SUBTYPES[kind]),
                body_location=rnd.choice(vocab.BODY_LOCATIONS), side=rnd.choice(vocab.SIDES), started_at=started,
                tz="Europe/Berlin", duration_s=rnd.randrange(5, 900), pain=rnd.randrange(11),
                symptoms=rnd.sample(vocab.SYMPTOMS, 2), triggers=rnd.sample(vocab.TRIGGERS, 2), activity="rest",
                relief=["stretching"], relief_score=rnd.randrange(11), notes="seeded by bench/api.py",
                created_at=started, updated_at=started, deleted_at=started if i % 21 == 20 else None,
            ))  # fmt: skip
        Episode.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cur:
        cur.execute(f"VACUUM ANALYZE {Episode._meta.db_table}")  # repeatable plans across reruns
    return reader, writer


def episode_fields() -> dict[str, object]:
    return {
        "kind": "cramp", "subtype": "nocturnal", "body_location": "calf", "side": "left", "tz": "Europe/Berlin",
        "duration_s": 90, "pain": 6, "activity": "sleep", "relief_score": 7, "notes": "bench",
    }  # fmt: skip


def create_body() -> bytes:
    return json.dumps({
        "id": uuid.uuid4().hex, **episode_fields(), "started_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "symptoms": ["lingering_pain"], "triggers": ["dehydration"], "relief": ["stretching"],
    }).encode()  # fmt: skip


def push_one_body() -> bytes:
    """One new episode as the app pushes it (every table present, raw record shapes of SYNC.md)."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    record = {
        "id": uuid.uuid4().hex[:16], "_status": "created", "_changed": "", **episode_fields(),
        "started_at": now_ms - 3_600_000, "symptoms": '["lingering_pain"]', "triggers": '["dehydration"]',
        "relief": '["stretching"]', "created_at": now_ms, "updated_at": now_ms,
    }  # fmt: skip
    changes = {t: {"created": [record] if t == "episodes" else [], "updated": [], "deleted": []} for t in WIRE_TABLES}
    return json.dumps(changes).encode()


def worker_cpu_ns(pid: int) -> int:
    """Time the worker's threads have spent on CPU (ns): field 1 of each task's schedstat."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended
    return total


class Http:
    """One keep-alive connection; each call returns the latency of a full request/response."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.connects = 0  # stays 1 when the server keeps the connection alive

    def __call__(self, method: str, path: str, headers: Headers, body: bytes | None, expect: int) -> float:
        self.connects += self.conn.sock is None
        t0 = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        payload = resp.read()
        elapsed = time.perf_counter() - t0
        if resp.status != expect:
            sys.exit(f"{method} {path} answered {resp.status}, expected {expect}: {payload[:300]!r}")
        return elapsed


@dataclass
class Case:
    method: str
    path: str
    headers: Headers
    status: int
    body: Callable[[], bytes] | None = None


@dataclass
class Result:
    latency_ms: float  # median
    cpu_ms: float  # worker CPU per request


def measure(client: Http, worker: int, cases: dict[str, Case], args: argparse.Namespace) -> dict[str, Result]:
    """Per case: median latency and worker CPU per request; rounds interleave the cases in rotating order."""
    names = list(cases)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, int] = dict.fromkeys(cases, 0)

    def one(name: str) -> float:
        c = cases[name]
        return client(c.method, c.path, c.headers, c.body() if c.body else None, c.status)

    _ = [one(name) for name in names for _ in range(args.warmup)]
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            before = worker_cpu_ns(worker)
            samples[name].extend(one(name) for _ in range(args.requests))
            cpu[name] += worker_cpu_ns(worker) - before
    n = args.rounds * args.requests
    return {name: Result(statistics.median(s) * 1000, cpu[name] / n / 1e6) for name, s in samples.items()}


def count_queries(method: str, path: str, auth: Headers, body: bytes | None = None) -> int:
    client = Client()
    with CaptureQueriesContext(connection) as ctx:
        resp = client.generic(method, path, body or b"", content_type="application/json", headers=auth)
    assert resp.status_code in (200, 201), resp.content[:300]
    return len(ctx.captured_queries)


def profile(auth: Headers, n: int = 300) -> None:
    """cProfile of in-process requests (django.test.Client, no HTTP): the trivial DRF view and the list."""
    client = Client(headers=auth)
    for path in (PLAIN_OK, DRF_OK, DRF_LIST, PLAIN_LIST):
        t0 = time.perf_counter()
        _ = [client.get(path) for _ in range(n)]
        print(f"in-process {path}: {(time.perf_counter() - t0) / n * 1000:.3f} ms/request")
    for path in (DRF_OK, DRF_LIST):
        prof = cProfile.Profile()
        prof.runcall(lambda: [client.get(path) for _ in range(n)])  # noqa: B023 (runs at once)
        print(f"\n===== cProfile: {n} in-process GET {path} =====")
        stats = pstats.Stats(prof).strip_dirs()
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(25)


def run(args: argparse.Namespace) -> dict[str, Result]:
    reader, writer = seed(args.episodes)
    cursor = SyncState.objects.get(user_id=reader.pk).seq  # the reader's data does not change during the run
    get_h = {"Authorization": f"Bearer {AccessToken.for_user(reader)}", "Accept": "application/json"}
    post_h = {"Authorization": f"Bearer {AccessToken.for_user(writer)}", "Accept": "application/json"}
    pull_path = f"{PULL}?last_pulled_at={cursor}&schema_version=1&migration=null"
    push_path = f"{PUSH}?last_pulled_at=1&schema_version=1&migration=null"
    db = settings.DATABASES["default"]
    print(f"db {db['NAME']} at {db['HOST']}:{db['PORT']}, cache+broker {settings.REDIS_URL}, DEBUG={settings.DEBUG}")
    print(f"data: {args.episodes} live episodes (+{args.episodes // 20} tombstones) of one user; pages of 50")
    print(BASELINE)
    plan = Episode.objects.filter(user_id=reader.pk, deleted_at__isnull=True).order_by("-started_at", "-id")[:51]
    print(f"list plan: {plan.explain().splitlines()[1].strip()}")
    print("SQL statements per request (in-process django.test.Client, the accounts already kept by this process):")
    count_queries("GET", DRF_OK, get_h)
    count_queries("GET", DRF_OK, post_h)
    counted = {
        "django": count_queries("GET", PLAIN_OK, get_h),
        "trivial": count_queries("GET", DRF_OK, get_h),
        "pull (up to date)": count_queries("GET", pull_path, get_h),
        "list": count_queries("GET", DRF_LIST, get_h),
        "plain-list": count_queries("GET", PLAIN_LIST, get_h),
        "create": count_queries("POST", DRF_LIST, post_h, create_body()),
        "plain-create": count_queries("POST", PLAIN_LIST, post_h, create_body()),
        "push of one": count_queries("POST", push_path, post_h, push_one_body()),
    }
    print("  " + ", ".join(f"{k} {v}" for k, v in counted.items()))
    connection.close()

    post_h["Content-Type"] = "application/json"
    cases = {
        "django": Case("GET", PLAIN_OK, get_h, 200),
        "trivial": Case("GET", DRF_OK, get_h, 200),
        "pull": Case("GET", pull_path, get_h, 200),
        "list": Case("GET", DRF_LIST, get_h, 200),
        "plain-list": Case("GET", PLAIN_LIST, get_h, 200),
        "create": Case("POST", DRF_LIST, post_h, 201, create_body),
        "plain-create": Case("POST", PLAIN_LIST, post_h, 201, create_body),
        "push1": Case("POST", push_path, post_h, 200, push_one_body),
    }
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"bench-api-{port}.log"  # the access log lines, off the terminal
    server, worker = start_server(port, "-k", "gthread", "--threads", "1", "--keep-alive", "30", log=log)
    try:
        client = Http(port)
        results = measure(client, worker, cases, args)
    finally:
        server.terminate()
        server.wait(timeout=10)
    log.unlink(missing_ok=True)
    print(f"gunicorn gthread, 1 worker x 1 thread on :{port}; {args.rounds} rounds x {args.requests} requests per case")
    print(f"  after {args.warmup} warm-up, interleaved; one client connection: {client.connects} TCP connect(s)")
    return results


def report(results: dict[str, Result]) -> bool:
    """Print every case and the targets; True when all targets hold."""
    print(f"{'case':<14}{'worker CPU ms':>14}{'latency ms':>12}")
    for name, r in results.items():
        print(f"{name:<14}{r.cpu_ms:>14.3f}{r.latency_ms:>12.3f}")
    ok = True
    for name, base, target in TARGETS:
        a, b = results[name], results[base]
        ratio = a.cpu_ms / b.cpu_ms
        passed = ratio <= target
        ok &= passed
        print(f"{name} vs {base}: worker CPU {a.cpu_ms:.3f} / {b.cpu_ms:.3f} ms = {ratio:.2f}x "
              f"(latency {a.latency_ms / b.latency_ms:.2f}x) target <= {target}x {'PASS' if passed else 'FAIL'}")  # fmt: skip
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("--quick", action="store_true", help="short mode for CI: small sizes, targets not enforced")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200, help="requests per case per round")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--episodes", type=int, default=2000)
    ap.add_argument("--profile", action="store_true", help="also cProfile in-process DRF list requests")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.requests, args.warmup, args.episodes = 2, 10, 3, 200

    ensure_database()
    cleanup()
    try:
        results = run(args)
        if args.profile:
            profile({"Authorization": f"Bearer {AccessToken.for_user(User.objects.get(email=READER))}"})
    finally:
        cleanup()
        if PURGE_BROKER:
            import redis

            redis.Redis.from_url(DEFAULT_REDIS).delete("celery")  # the wake-up messages the creates published
    ok = report(results)
    if args.quick:
        print("--quick: few requests, figures are not meaningful; targets not enforced")
        return 0
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
