"""Sync push and first pull, server-side, each against a PostgreSQL floor measured in the same run on the same data.

    .venv/bin/python -m bench.sync [--check] [--quick] [--rounds 5] [--warmup 1] [--profile]

PostgreSQL from DATABASE_URL (default: the diary_bench database, created if missing; any other name is
refused), Redis from REDIS_URL (default db 13).

- push: ``POST /api/v1/sync/push`` of 10,000 new episodes (a fresh person per round, pre-serialised body)
  vs COPY of the same 10,000 rows into a logged table ``LIKE diary_episode INCLUDING ALL`` plus the same
  foreign key (same columns, indexes, constraints), committed. Ratio = COPY time / push time.
- pull: first ``GET /api/v1/sync/pull`` (last_pulled_at=null, no limit) of 10,000 episodes + 1,800
  check-ins vs one SQL query building the same answer with json_agg/json_build_object, fetched as text.
  Ratio = json_agg time / pull time.
- push memory: the same server takes one push of 50,000 new episodes over HTTP (SYNC_MAX_RECORDS, the
  largest push there is); peak RSS growth of the worker during it, and what it keeps after.
- memory: the real server (gunicorn, 1 sync worker) answers the paged first pull (limit=1000, looping while
  ``has_more``, as the app does) of 18,200 episodes + 1,800 check-ins over HTTP; peak RSS growth of the worker
  from after one warm-up page: VmHWM (reset through /proc/<pid>/clear_refs) and VmRSS sampled every 5 ms. The
  same for one unpaged answer is printed for information.

Server-side time = the Django request handling only: the views are called in-process through
``django.test.Client`` with the JWT Bearer header (middleware, auth, view, JSON), no client or network.
Medians over ``--rounds``; floor and measured runs alternate order every round. ``--check`` exits 1 on a FAIL.
``--quick`` is the short mode for CI: small sizes, one round, targets printed but never enforced.
The floors are in bench/syncfloors.py, the server and its memory readings in bench/server.py.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import random
import statistics
import string
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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
logging.getLogger("backend.access").setLevel(logging.WARNING)  # this process's in-process requests: no lines

import orjson  # noqa: E402
import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from bench.common import conninfo, ensure_database  # noqa: E402
from bench.server import http_get, http_post, peak_growth, start_server, status_kb  # noqa: E402
from bench.syncfloors import (  # noqa: E402
    COPY_TABLE,
    Record,
    copy_floor,
    copy_rows,
    copy_table_create,
    json_agg_floor,
    json_agg_sql,
    same_answer,
)
from diary import vocab  # noqa: E402
from diary.accounts.models import User  # noqa: E402
from diary.accounts.services import user_register  # noqa: E402
from diary.checkins.models import CheckIn  # noqa: E402
from diary.core import fields as f  # noqa: E402
from diary.episodes.models import Episode  # noqa: E402
from diary.sync.registry import WIRE_TABLES  # noqa: E402
from tests.support.services import free_port  # noqa: E402

EMAIL_DOMAIN = "@bench-sync.invalid"  # not "@bench.invalid": bench/api.py cleans those up
PUSH_PATH, PULL_PATH = "/api/v1/sync/push", "/api/v1/sync/pull"
PUSH_EPISODES = 10_000
PULL_EPISODES, PULL_CHECKINS = 10_000, 1_800
MEM_EPISODES, MEM_CHECKINS, PAGE = 18_200, 1_800, 1_000
PUSH_MEM_EPISODES = 50_000
PUSH_TARGET, PULL_TARGET, RSS_LIMIT_MB, PUSH_RSS_LIMIT_MB = 0.35, 1.0, 200.0, 60.0
HOUR_MS = 3_600_000
ALNUM = string.ascii_letters + string.digits
ZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
NOTES = (None, "", "woke me up", "after a long run; stretched and drank water, eased in ten minutes " * 3)
Headers = dict[str, str]


# --- set-up -------------------------------------------------------------------------------------------------


def cleanup() -> None:
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")  # its foreign key would block deleting the users
    User.objects.filter(email__endswith=EMAIL_DOMAIN).delete()  # cascades to rows, outbox, sync state


def vacuum() -> None:
    with connection.cursor() as cur:
        for model in (Episode, CheckIn):
            cur.execute(f"VACUUM ANALYZE {model._meta.db_table}")  # repeatable plans and free space


def new_user(label: str) -> tuple[User, Headers]:
    user = user_register(email=f"{label}-{uuid.uuid4().hex[:8]}{EMAIL_DOMAIN}", password=uuid.uuid4().hex,
                         timezone="Europe/Berlin", default_reminders=False)  # fmt: skip
    return user, {"Authorization": f"Bearer {AccessToken.for_user(user)}", "Accept": "application/json"}


# --- data: raw records as the app pushes them (SYNC.md "Tables") -------------------------------------------------


def new_ids(rnd: random.Random, n: int) -> list[str]:
    ids: dict[str, None] = {}
    while len(ids) < n:
        ids["".join(rnd.choices(ALNUM, k=16))] = None  # WatermelonDB's default: 16 alphanumerics
    return list(ids)


def codes(rnd: random.Random, choices: tuple[str, ...], most: int, custom: str | None = None) -> str:
    picked = rnd.sample(choices, rnd.randrange(most + 1))
    if custom and rnd.random() < 0.1:
        picked.append(custom)
    return orjson.dumps(picked).decode()


def raw_episodes(n: int, seed: int) -> list[Record]:
    rnd = random.Random(seed)
    now = f.datetime_to_ms(datetime.now(UTC)) - 60_000
    out = []
    for i, uid in enumerate(new_ids(rnd, n)):
        kind = rnd.choice(vocab.EPISODE_KINDS)
        started = now - i * 4 * HOUR_MS - rnd.randrange(HOUR_MS)
        duration = rnd.randrange(5, 1800) if i % 50 else None  # 1 in 50 still ongoing
        logged = started + (duration or 0) * 1000 + rnd.randrange(60_000)
        out.append({
            "id": uid, "_status": "created", "_changed": "", "kind": kind,
            "subtype": rnd.choice(vocab.SUBTYPES[kind]) if i % 7 else None,
            "body_location": rnd.choice(vocab.BODY_LOCATIONS), "side": rnd.choice(vocab.SIDES), "started_at": started,
            "tz": ZONES[i % len(ZONES)], "duration_s": duration, "pain": rnd.randrange(11),
            "symptoms": codes(rnd, vocab.SYMPTOMS, 2), "triggers": codes(rnd, vocab.TRIGGERS, 3, "custom:long drive"),
            "activity": rnd.choice(vocab.ACTIVITIES), "relief": codes(rnd, vocab.RELIEF, 2),
            "relief_score": rnd.randrange(11) if i % 3 else None, "notes": NOTES[i % len(NOTES)],
            "created_at": logged, "updated_at": logged,
        })  # fmt: skip
    return out


def raw_checkins(n: int, seed: int) -> list[Record]:
    rnd = random.Random(seed)
    today = datetime.now(UTC).date()
    out = []
    for i in range(n):
        day = today - timedelta(days=i + 1)
        logged = f.datetime_to_ms(datetime(day.year, day.month, day.day, 20, tzinfo=UTC))
        out.append({
            "id": day.isoformat(), "_status": "created", "_changed": "", "date": day.isoformat(),
            "water_ml": rnd.randrange(500, 4000, 50), "caffeine_servings": rnd.randrange(6),
            "alcohol_units": rnd.choice((None, 0.0, 1.5, 2.0, 3.5)), "exercise_min": rnd.randrange(0, 120, 5),
            "exercise_intensity": rnd.choice(vocab.EXERCISE_INTENSITIES), "hot_weather": rnd.random() < 0.2,
            "sleep_h": round(rnd.uniform(4, 10), 1), "stress": rnd.randrange(11),
            "sitting_h": round(rnd.uniform(0, 12), 1), "stretched": rnd.random() < 0.5,
            "medications": codes(rnd, vocab.MEDICATIONS, 2, "custom:vitamin d"),
            "menstruating": rnd.choice((None, False, True)), "fluid_changes": rnd.random() < 0.1,
            "notes": NOTES[i % len(NOTES)], "created_at": logged, "updated_at": logged,
        })  # fmt: skip
    return out


def push_body(episodes: list[Record], checkins: list[Record]) -> bytes:
    """The changes object as the app hands it to pushChanges: every table, all sections."""
    tables = {"episodes": episodes, "checkins": checkins}
    return orjson.dumps({t: {"created": tables.get(t, []), "updated": [], "deleted": []} for t in WIRE_TABLES})


# --- the measured side: in-process requests --------------------------------------------------------------------


def push(client: Client, auth: Headers, body: bytes) -> float:
    t0 = time.perf_counter()
    resp = client.generic("POST", f"{PUSH_PATH}?last_pulled_at=1", body, content_type="application/json",
                          headers=auth)  # fmt: skip
    elapsed = time.perf_counter() - t0
    answer = orjson.loads(resp.content) if resp.status_code == 200 else None
    if answer is None or answer["experimentalRejectedIds"]:
        sys.exit(f"push answered {resp.status_code}: {resp.content[:500]!r}")
    return elapsed


PULL_QUERY = {"last_pulled_at": "null", "schema_version": "1", "migration": "null"}


def pull(client: Client, auth: Headers) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    resp = client.get(PULL_PATH, PULL_QUERY, headers=auth)
    elapsed = time.perf_counter() - t0
    if resp.status_code != 200:
        sys.exit(f"pull answered {resp.status_code}: {resp.content[:500]!r}")
    return elapsed, resp.content


# --- rounds ----------------------------------------------------------------------------------------------------


def alternate(r: int, first: Callable[[], None], second: Callable[[], None]) -> None:
    for step in (first, second) if r % 2 == 0 else (second, first):
        step()


def bench_push(args: argparse.Namespace, pg: psycopg.Connection[Any]) -> tuple[list[float], list[float]]:
    episodes = raw_episodes(PUSH_EPISODES, seed=11)
    body = push_body(episodes, [])
    print(f"push: {PUSH_EPISODES} new episodes, body {len(body) / 1e6:.1f} MB; a fresh person per round")
    copy_table_create(pg)
    client = Client()
    pushes: list[float] = []
    copies: list[float] = []
    for r in range(args.warmup + args.rounds):
        user, auth = new_user(f"push{r}")
        columns, rows = copy_rows(episodes, user.pk, first_seq=2)  # a new person's push claims 2..10001
        keep = r >= args.warmup

        def measured(user: User = user, auth: Headers = auth, keep: bool = keep) -> None:
            elapsed = push(client, auth, body)
            n = Episode.objects.filter(user=user).count()
            assert n == PUSH_EPISODES, n
            if keep:
                pushes.append(elapsed)

        def floor(columns: list[str] = columns, rows: list[tuple[Any, ...]] = rows, keep: bool = keep) -> None:
            elapsed = copy_floor(pg, columns, rows)
            if keep:
                copies.append(elapsed)

        alternate(r, floor, measured)
        pg.execute(f"TRUNCATE {COPY_TABLE}")
        user.delete()  # the episode table stays the same size from round to round
        vacuum()
    return pushes, copies


def bench_pull(args: argparse.Namespace, pg: psycopg.Connection[Any]) -> tuple[list[float], list[float], Headers]:
    user, auth = new_user("pull")
    client = Client()
    push(client, auth, push_body(raw_episodes(PULL_EPISODES, seed=21), raw_checkins(PULL_CHECKINS, seed=22)))
    vacuum()
    query = json_agg_sql()
    _, pulled = pull(client, auth)
    _, floor_text = json_agg_floor(pg, query, user.pk)
    problem = same_answer(pulled, floor_text)
    if problem:
        sys.exit(f"the json_agg floor does not build the pull's answer: {problem}")
    answer = orjson.loads(pulled)["changes"]
    got = (len(answer["episodes"]["created"]), len(answer["checkins"]["created"]))
    assert got == (PULL_EPISODES, PULL_CHECKINS), got
    print(f"pull: first pull of {PULL_EPISODES} episodes + {PULL_CHECKINS} check-ins, answer {len(pulled) / 1e6:.1f} MB"
          f" (json_agg text {len(floor_text) / 1e6:.1f} MB, same records)")  # fmt: skip
    pulls: list[float] = []
    aggs: list[float] = []
    for r in range(args.warmup + args.rounds):
        keep = r >= args.warmup

        def measured(keep: bool = keep) -> None:
            elapsed, _ = pull(client, auth)
            if keep:
                pulls.append(elapsed)

        def floor(keep: bool = keep) -> None:
            elapsed, _ = json_agg_floor(pg, query, user.pk)
            if keep:
                aggs.append(elapsed)

        alternate(r, floor, measured)
    return pulls, aggs, auth


def count_queries(action: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        action()
    return len(ctx.captured_queries)


# --- memory: the real server -----------------------------------------------------------------------------------


def bench_memory() -> tuple[float, float, float, float, int, tuple[float, float, float, float]]:
    _, auth = new_user("mem")
    body = push_body(raw_episodes(MEM_EPISODES, seed=31), raw_checkins(MEM_CHECKINS, seed=32))
    push(Client(), auth, body)
    vacuum()
    connection.close()
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"bench-sync-{port}.log"  # the access log lines, off the terminal
    server, worker = start_server(port, "-k", "sync", "--timeout", "300", log=log)
    total = MEM_EPISODES + MEM_CHECKINS
    seen: set[tuple[str, str]] = set()
    pages = 0

    def paged_pull() -> None:
        nonlocal pages
        last: int | None = None
        while True:
            query = {**PULL_QUERY, "last_pulled_at": "null" if last is None else str(last), "limit": str(PAGE)}
            answer = http_get(port, f"{PULL_PATH}?{urlencode(query)}", auth)
            pages += 1
            for name, sections in answer["changes"].items():
                for rec in sections["created"] + sections["updated"]:
                    key = (name, rec["id"])
                    if key in seen:
                        sys.exit(f"paged pull returned {key} twice")
                    seen.add(key)
                assert not sections["deleted"], sections["deleted"]
            last = answer["timestamp"]
            if not answer.get("has_more"):
                return
            if pages > 10 * total // PAGE:
                sys.exit("the paged pull does not end")

    try:
        http_get(port, f"{PULL_PATH}?{urlencode({**PULL_QUERY, 'limit': '1'})}", auth)  # warm the worker up
        t0 = time.perf_counter()
        before, peak, growth = peak_growth(worker, paged_pull)
        elapsed = time.perf_counter() - t0
        _, _, unpaged = peak_growth(worker, lambda: http_get(port, f"{PULL_PATH}?{urlencode(PULL_QUERY)}", auth))
        pushed = push_memory(port, worker)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.unlink(missing_ok=True)
    if len(seen) != total:
        sys.exit(f"the paged pull returned {len(seen)} distinct records, expected {total}")
    print(f"memory: gunicorn 1 sync worker (pid {worker}); paged first pull of {MEM_EPISODES} episodes + "
          f"{MEM_CHECKINS} check-ins, limit {PAGE}: {pages} pages, {len(seen)} distinct ids, {elapsed:.2f} s over HTTP")  # fmt: skip
    return before, peak, growth, unpaged, len(seen), pushed


def push_memory(port: int, worker: int) -> tuple[float, float, float, float]:
    """(RSS before, peak, growth, kept after) in MB of one push of PUSH_MEM_EPISODES over HTTP."""
    _, auth = new_user("pushmem")
    path = f"{PUSH_PATH}?last_pulled_at=1"
    http_post(port, path, push_body(raw_episodes(20, seed=41), []), auth)  # warm the push path up
    body = push_body(raw_episodes(PUSH_MEM_EPISODES, seed=42), [])
    t0 = time.perf_counter()
    before, peak, growth = peak_growth(worker, lambda: http_post(port, path, body, auth))
    elapsed = time.perf_counter() - t0
    kept = status_kb(worker, "VmRSS") / 1024 - before
    print(
        f"push memory: one push of {PUSH_MEM_EPISODES} episodes, body {len(body) / 1e6:.1f} MB, {elapsed:.2f} s over HTTP"
    )
    return before, peak, growth, kept


# --- profile, report -------------------------------------------------------------------------------------------


def profile(pull_auth: Headers) -> None:
    """cProfile of one in-process push (fresh person) and one first pull of the pull benchmark's person."""
    client = Client()
    user, auth = new_user("profile")
    body = push_body(raw_episodes(PUSH_EPISODES, seed=11), [])
    cases = (("push", lambda: push(client, auth, body)), ("first pull", lambda: pull(client, pull_auth)))
    for title, action in cases:
        prof = cProfile.Profile()
        prof.runcall(action)
        print(f"\n===== cProfile: in-process {title} =====")
        stats = pstats.Stats(prof).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
    user.delete()


def ms(samples: list[float]) -> str:
    return " ".join(f"{s * 1000:.0f}" for s in samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if any target fails")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="unrecorded rounds first")
    ap.add_argument("--profile", action="store_true", help="also cProfile one in-process push and pull")
    ap.add_argument("--quick", action="store_true", help="short mode for CI: small sizes, targets not enforced")
    args = ap.parse_args()
    if args.quick:
        global PUSH_EPISODES, PULL_EPISODES, PULL_CHECKINS, MEM_EPISODES, MEM_CHECKINS, PAGE, PUSH_MEM_EPISODES
        PUSH_EPISODES, PULL_EPISODES, PULL_CHECKINS, MEM_EPISODES, MEM_CHECKINS, PAGE = 500, 500, 100, 900, 100, 200
        PUSH_MEM_EPISODES = 2_000
        args.rounds, args.warmup = 1, 0

    ensure_database()
    cleanup()
    db = settings.DATABASES["default"]
    print(f"db {db['NAME']} at {db['HOST']}:{db['PORT']}, cache+broker {settings.REDIS_URL}, DEBUG={settings.DEBUG}")
    print(f"in-process django.test.Client requests (server-side time); medians of {args.rounds} rounds "
          f"after {args.warmup} warm-up, floor and measured run alternating order")  # fmt: skip
    pg = psycopg.connect(conninfo(db["NAME"]), autocommit=True)
    try:
        pushes, copies = bench_push(args, pg)
        push_user, push_auth = new_user("count")
        push_queries = count_queries(lambda: push(Client(), push_auth, push_body(raw_episodes(PUSH_EPISODES, 11), [])))
        push_user.delete()
        pulls, aggs, pull_auth = bench_pull(args, pg)
        if args.profile:
            profile(pull_auth)
        pull_queries = count_queries(lambda: pull(Client(), pull_auth))
        before, peak, growth, unpaged, _, pushed = bench_memory()
    finally:
        pg.close()
        cleanup()
        if PURGE_BROKER:
            import redis

            redis.Redis.from_url(DEFAULT_REDIS).delete("celery")  # the wake-up messages the pushes published
    push_t, copy_t, pull_t, agg_t = (statistics.median(s) for s in (pushes, copies, pulls, aggs))
    push_ratio, pull_ratio = copy_t / push_t, agg_t / pull_t
    print(f"samples (ms): push {ms(pushes)} | COPY {ms(copies)} | pull {ms(pulls)} | json_agg {ms(aggs)}")
    print(f"SQL statements per request: push {push_queries}, first pull {pull_queries}")
    checks = [
        (f"push: {push_t * 1000:.0f} ms ({PUSH_EPISODES / push_t:,.0f} rows/s) vs COPY {copy_t * 1000:.0f} ms "
         f"({PUSH_EPISODES / copy_t:,.0f} rows/s) -> {push_ratio:.2f} of the COPY rate", push_ratio >= PUSH_TARGET,
         f">= {PUSH_TARGET}"),
        (f"pull: {pull_t * 1000:.0f} ms vs json_agg {agg_t * 1000:.0f} ms -> {pull_ratio:.2f} of the json_agg rate",
         pull_ratio >= PULL_TARGET, f">= {PULL_TARGET}"),
        (f"memory: worker RSS {before:.0f} MB -> peak {peak:.0f} MB, growth {growth:.1f} MB during the paged pull "
         f"(unpaged single answer: {unpaged:.1f} MB, no target)", growth < RSS_LIMIT_MB, f"< {RSS_LIMIT_MB:.0f} MB"),
        (f"push memory: worker RSS {pushed[0]:.0f} MB -> peak {pushed[1]:.0f} MB, growth {pushed[2]:.1f} MB during "
         f"a push of {PUSH_MEM_EPISODES} records, {pushed[3]:.1f} MB kept after", pushed[2] < PUSH_RSS_LIMIT_MB,
         f"< {PUSH_RSS_LIMIT_MB:.0f} MB"),
    ]  # fmt: skip
    for text, ok, target in checks:
        print(f"{text} (target {target}) {'PASS' if ok else 'FAIL'}")
    if args.quick:
        print("--quick: small sizes, figures are not meaningful; targets not enforced")
        return 0
    return 1 if args.check and not all(ok for _, ok, _ in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
