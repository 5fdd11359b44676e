"""Pattern detection speed on PostgreSQL, against reading the same rows in the same run.

    .venv/bin/python -m bench.patterns [--check] [--rounds 7] [--people 50]

PostgreSQL from DATABASE_URL (default: the diary_bench database, created if missing).

1. One person with 5 years of data (5,000 episodes, 1,800 check-ins): ``insights_run`` (read the rows,
   analyse, store the snapshot) vs just reading the same rows as ``analysis_rows`` does, medians over
   ``--rounds``. Targets: under 300 ms, and at most 3x the read.
2. The nightly fan-out: one worker process running ``insights_chunk`` over ``--people`` people with a
   year of data each; printed as people per second per worker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
import warnings
from typing import Any

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/diary_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DEBUG", "0")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
warnings.filterwarnings("ignore", "No directory at")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench.common import ensure_database  # noqa: E402
from diary import vocab  # noqa: E402
from diary.accounts.models import User  # noqa: E402
from diary.accounts.services import user_register  # noqa: E402
from diary.checkins.models import CheckIn  # noqa: E402
from diary.episodes.models import Episode  # noqa: E402
from diary.patterns.models import InsightSnapshot  # noqa: E402
from diary.patterns.selectors import analysis_rows  # noqa: E402
from diary.patterns.services import insights_run  # noqa: E402
from diary.patterns.tasks import insights_chunk  # noqa: E402

DOMAIN = "@bench-patterns.invalid"
TOTAL_LIMIT_MS, RATIO_LIMIT = 300.0, 3.0
ZONE = "Europe/Berlin"


def person(label: str, *, days: int, episodes: int, checkins: int, seed: int) -> User:
    rnd = random.Random(seed)
    user = user_register(email=f"{label}{DOMAIN}", password="a sturdy pass phrase 42", timezone=ZONE,
                         default_reminders=False)  # fmt: skip
    today = dt.datetime.now(dt.UTC).date()
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i in range(episodes):
        started = now - dt.timedelta(minutes=rnd.randrange(days * 24 * 60))
        kind = rnd.choice(vocab.EPISODE_KINDS)
        rows.append(Episode(
            user=user, uid=f"e{i}", seq=2 + i, kind=kind, body_location=rnd.choice(vocab.BODY_LOCATIONS),
            started_at=started, tz=ZONE, duration_s=rnd.randrange(5, 3600), pain=rnd.randrange(11),
            symptoms=[], triggers=rnd.sample(vocab.TRIGGERS, rnd.randrange(3)), relief=rnd.sample(vocab.RELIEF, 1),
            relief_score=rnd.randrange(11), created_at=started, updated_at=started,
        ))  # fmt: skip
    Episode.objects.bulk_create(rows, batch_size=2000)
    days_logged = sorted(rnd.sample(range(days), min(checkins, days)))
    CheckIn.objects.bulk_create(
        [
            CheckIn(
                user=user, uid=(today - dt.timedelta(days=d)).isoformat(), seq=10_000 + j,
                date=today - dt.timedelta(days=d), water_ml=rnd.randrange(500, 3500, 50),
                caffeine_servings=rnd.randrange(6), exercise_intensity=rnd.choice(vocab.EXERCISE_INTENSITIES),
                hot_weather=rnd.random() < 0.2, sleep_h=round(rnd.uniform(4, 9), 1), stress=rnd.randrange(11),
                sitting_h=round(rnd.uniform(0, 12), 1), medications=[], created_at=now, updated_at=now,
            )
            for j, d in enumerate(days_logged)
        ],
        batch_size=2000,
    )  # fmt: skip
    return user


def cleanup() -> None:
    for user in User.objects.filter(email__endswith=DOMAIN):
        user.delete()


def timed(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--people", type=int, default=50)
    args = parser.parse_args()
    ensure_database()
    cleanup()
    try:
        big = person("five-years", days=5 * 365, episodes=5000, checkins=1800, seed=1)
        window = settings.INSIGHTS_WINDOW_DAYS
        since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=window - 1)
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE diary_episode, diary_checkin")
        insights_run(user=big)  # warm-up
        analysis_rows(user_id=big.pk, since=since)
        read = timed(lambda: analysis_rows(user_id=big.pk, since=since), args.rounds)
        full = timed(lambda: insights_run(user=big), args.rounds)
        snapshot = InsightSnapshot.objects.filter(user=big).latest("computed_at")
        people = [person(f"p{i}", days=365, episodes=180, checkins=330, seed=100 + i).pk for i in range(args.people)]
        started = time.perf_counter()
        insights_chunk(people)
        fan = time.perf_counter() - started
    finally:
        cleanup()
    ratio = full / read
    ok_total, ok_ratio = full * 1000 < TOTAL_LIMIT_MS, ratio <= RATIO_LIMIT
    print(f"1. 5 years of data ({snapshot.episodes:,} episodes and {snapshot.checkins:,} check-ins in the "
          f"{window}-day window; 5,000 and 1,800 stored): insights_run {full * 1000:.1f} ms (read + analyse + store), "
          f"read alone {read * 1000:.1f} ms, ratio {ratio:.2f} (target <= {RATIO_LIMIT}) "
          f"{'PASS' if ok_ratio else 'FAIL'}; total target < {TOTAL_LIMIT_MS:.0f} ms {'PASS' if ok_total else 'FAIL'}")  # fmt: skip
    print(f"2. nightly fan-out: {args.people} people with a year of data each in {fan:.2f} s = "
          f"{args.people / fan:.1f} people/s per worker")  # fmt: skip
    return 1 if args.check and not (ok_total and ok_ratio) else 0


if __name__ == "__main__":
    sys.exit(main())
