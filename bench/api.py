"""Episode list and create through the full HTTP stack: DRF endpoint vs a plain Django view, same run.

    .venv/bin/python -m bench.api [--check] [--rounds 5] [--requests 200] [--profile]

PostgreSQL from DATABASE_URL (default: the diary_bench database, created if missing), Redis from
REDIS_URL (default db 13). One gunicorn gthread worker (1 thread, keep-alive) serves both sides;
one persistent keep-alive http.client connection drives both, rounds interleaved in rotating order.
The plain views are in bench/views.py. ``--check`` exits 1 if the list ratio exceeds the target.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import os
import pstats
import random
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
PURGE_BROKER = "REDIS_URL" not in os.environ  # only ever purge the broker db this script chose
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/diary_bench")
os.environ.setdefault("REDIS_URL", DEFAULT_REDIS)
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("JWT_ACCESS_MINUTES", "120")  # the tokens outlive the run
os.environ.setdefault("PYTHONWARNINGS", "ignore:No directory at")  # whitenoise: no collectstatic here
warnings.filterwarnings("ignore", "No directory at")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()

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
from diary.sync.sequence import sequence_claim  # noqa: E402
from tests.support.services import free_port  # noqa: E402

EMAIL_DOMAIN = "@bench.invalid"
READER = f"reader{EMAIL_DOMAIN}"
TARGET = 2.0
DRF_LIST, PLAIN_LIST = "/api/v1/episodes", "/bench/plain/episodes"
CREATE_PATHS = {"DRF": DRF_LIST, "plain": PLAIN_LIST, "plain-orm": "/bench/plain/episodes-orm"}
Headers = dict[str, str]
BASELINE = """baseline: plain function views returning JsonResponse (bench/views.py), rows rendered by the same
  episode_to_rest; auth by the same JWT Bearer header (JWTAuthentication().authenticate on a DRF Request).
  create 'plain' calls the same services.episode_create (validation, sequence, row lock, insert, outbox,
  Redis publish); 'plain-orm' is only a sequence claim + Episode.objects.create."""


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


def create_body() -> bytes:
    return json.dumps({
        "id": uuid.uuid4().hex, "kind": "cramp", "subtype": "nocturnal", "body_location": "calf", "side": "left",
        "started_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "tz": "Europe/Berlin",
        "duration_s": 90, "pain": 6, "symptoms": ["lingering_pain"], "triggers": ["dehydration"],
        "activity": "sleep", "relief": ["stretching"], "relief_score": 7, "notes": "bench",
    }).encode()  # fmt: skip


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


def measure(cases: dict[str, Callable[[], float]], args: argparse.Namespace) -> dict[str, float]:
    """Median latency (ms) per case; rounds interleave the cases in rotating order."""
    names = list(cases)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    _ = [cases[name]() for name in names for _ in range(args.warmup)]
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].extend(cases[name]() for _ in range(args.requests))
    return {name: statistics.median(s) * 1000 for name, s in samples.items()}


def count_queries(method: str, path: str, auth: Headers, body: bytes | None = None) -> int:
    client = Client()
    with CaptureQueriesContext(connection) as ctx:
        resp = client.generic(method, path, body or b"", content_type="application/json", headers=auth)
    assert resp.status_code in (200, 201), resp.content[:300]
    return len(ctx.captured_queries)


def profile(auth: Headers, n: int = 300) -> None:
    """cProfile of in-process DRF list requests (django.test.Client, no HTTP), plus in-process timings."""
    client = Client(headers=auth)
    for path in (DRF_LIST, PLAIN_LIST):
        t0 = time.perf_counter()
        _ = [client.get(path) for _ in range(n)]
        print(f"in-process {path}: {(time.perf_counter() - t0) / n * 1000:.2f} ms/request")
    prof = cProfile.Profile()
    prof.runcall(lambda: [client.get(DRF_LIST) for _ in range(n)])
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)


def verdict(name: str, drf: float, plain: float, target: float | None, base: str = "plain") -> str:
    ratio = drf / plain
    tail = f"(target <= {target}) {'PASS' if ratio <= target else 'FAIL'}" if target else "(no target)"
    return f"{name}: DRF {drf:.2f} ms vs {base} {plain:.2f} ms -> ratio {ratio:.2f} {tail}"


def run(args: argparse.Namespace) -> tuple[dict[str, float], dict[str, float]]:
    reader, writer = seed(args.episodes)
    get_h = {"Authorization": f"Bearer {AccessToken.for_user(reader)}", "Accept": "application/json"}
    post_h = {"Authorization": f"Bearer {AccessToken.for_user(writer)}", "Accept": "application/json"}
    db = settings.DATABASES["default"]
    print(f"db {db['NAME']} at {db['HOST']}:{db['PORT']}, cache+broker {settings.REDIS_URL}, DEBUG={settings.DEBUG}")
    print(f"data: {args.episodes} live episodes (+{args.episodes // 20} tombstones) of one user; pages of 50")
    print(BASELINE)
    plan = Episode.objects.filter(user_id=reader.pk, deleted_at__isnull=True).order_by("-started_at", "-id")[:51]
    print(f"list plan: {plan.explain().splitlines()[1].strip()}")
    print("SQL queries per request (in-process; CONN_HEALTH_CHECKS adds a SELECT 1 per request to each side):")
    print(f"  list:   DRF {count_queries('GET', DRF_LIST, get_h)}, plain {count_queries('GET', PLAIN_LIST, get_h)}")
    creates = {k: count_queries("POST", p, post_h, create_body()) for k, p in CREATE_PATHS.items()}
    print("  create: " + ", ".join(f"{k} {v}" for k, v in creates.items()))
    connection.close()

    post_h["Content-Type"] = "application/json"
    port = free_port()
    server, _ = start_server(port, "-k", "gthread", "--threads", "1", "--keep-alive", "30")
    try:
        client = Http(port)

        def case(method: str, path: str, headers: Headers, status: int) -> Callable[[], float]:
            return lambda: client(method, path, headers, create_body() if method == "POST" else None, status)

        lists = measure({"DRF": case("GET", DRF_LIST, get_h, 200), "plain": case("GET", PLAIN_LIST, get_h, 200)}, args)
        made = measure({k: case("POST", p, post_h, 201) for k, p in CREATE_PATHS.items()}, args)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"gunicorn gthread, 1 worker x 1 thread on :{port}; {args.rounds} rounds x {args.requests} requests per case")
    print(f"  after {args.warmup} warm-up, interleaved; one client connection: {client.connects} TCP connect(s)")
    return lists, made


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help=f"exit 1 if the list ratio is above {TARGET}")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200, help="requests per case per round")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--episodes", type=int, default=2000)
    ap.add_argument("--profile", action="store_true", help="also cProfile in-process DRF list requests")
    args = ap.parse_args()

    ensure_database()
    cleanup()
    try:
        lists, made = run(args)
        if args.profile:
            profile({"Authorization": f"Bearer {AccessToken.for_user(User.objects.get(email=READER))}"})
    finally:
        cleanup()
        if PURGE_BROKER:
            import redis

            redis.Redis.from_url(DEFAULT_REDIS).delete("celery")  # the wake-up messages the creates published
    print(verdict("create", made["DRF"], made["plain-orm"], None, base="plain-orm"))
    print(verdict("create", made["DRF"], made["plain"], None))
    print(verdict("list", lists["DRF"], lists["plain"], TARGET))
    return 1 if args.check and lists["DRF"] / lists["plain"] > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
