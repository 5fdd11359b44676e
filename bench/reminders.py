"""The reminder dispatcher at scale, on PostgreSQL, each figure against a baseline measured in the same run.

    .venv/bin/python -m bench.reminders [--check] [--rounds 3] [--small-rounds 15]
    .venv/bin/python -m bench.reminders --quick    # CI: 2,000 people, 200 due, one round; no target enforced

PostgreSQL from DATABASE_URL (default: the diary_bench database, created if missing; any other name is
refused), Redis from REDIS_URL (default db 13, purged afterwards: the pushes the pass queues).

1. Throughput: 1,000,000 rules (100,000 people x 10, spread over 8 zones) of which 10,000 are due (one each
   for 10,000 people, every one with a push device). One ``dispatch_due`` pass: inbox rows, per-person
   sequence stamps, pending pushes, next fire times. Printed as notifications per second, next to a floor
   in the same run: one ``INSERT ... SELECT`` creating the same 10,000 notification rows straight from the
   due rules (no sequence, no schedule maths, no pushes). Ratio = floor time / pass time.
2. Cost follows what is due: a pass with 100 due rules over a table of 10,000 rules (the baseline), then
   over the same table grown to 1,000,000 rules. Ratio = pass(1M) / pass(10k); target <= 1.5.

Medians over rounds; between rounds the due rules are made due again and the created rows removed.
``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

PURGE_BROKER = "REDIS_URL" not in os.environ
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/diary_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("PYTHONWARNINGS", "ignore:No directory at")
warnings.filterwarnings("ignore", "No directory at")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from backend.celery import app as celery_app  # noqa: E402
from bench.common import ensure_database  # noqa: E402
from diary.accounts.models import User  # noqa: E402
from reminders.dispatch import dispatch_due  # noqa: E402

DOMAIN = "@bench-reminders.invalid"
PEOPLE, RULES_EACH = 100_000, 10
SMALL_PEOPLE = 1_000  # 10,000 rules
DUE_BIG, DUE_SMALL = 10_000, 100
RATIO_LIMIT = 1.5
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo",
         "Asia/Tokyo", "Europe/London", "Pacific/Auckland")  # fmt: skip


def execute(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cur:
        cur.execute(statement, params)


MINE = f"SELECT id FROM accounts_user WHERE email LIKE '%%{DOMAIN}'"


def cleanup() -> None:
    execute(f"DELETE FROM reminders_push_delivery WHERE device_id IN "
            f"(SELECT id FROM reminders_device WHERE user_id IN ({MINE}))")  # fmt: skip
    for table in ("reminders_notification", "reminders_device", "reminders_rule", "diary_outbox_event",
                  "diary_sync_state"):  # fmt: skip
        execute(f"DELETE FROM {table} WHERE user_id IN ({MINE})")
    execute(f"DELETE FROM accounts_user WHERE email LIKE '%%{DOMAIN}' OR email = %s", [TEMPLATE])


TEMPLATE = f"template{DOMAIN.replace('@', '@template-')}"  # outside MINE: never a person of the pass


def user_columns() -> tuple[str, str]:
    """The user table's columns and, for people ``%s..%s`` (the parameters), a SELECT of their values: a template
    account made by the ORM supplies every column this script does not set, so a column added to the
    model later (a NOT NULL one with a Python default, which PostgreSQL does not know) never breaks the
    raw INSERT below."""
    if not User.objects.filter(email=TEMPLATE).exists():
        User.objects.create(email=TEMPLATE, password="!", timezone="UTC")
    zones = "ARRAY[" + ",".join(f"'{z}'" for z in ZONES) + "]"
    ours = {"email": f"'p' || g || '{DOMAIN}'", "timezone": f"({zones})[1 + g %% {len(ZONES)}]",
            "wake_time": "'07:00'", "sleep_time": "'22:30'", "date_joined": "now()", "last_login": "NULL"}  # fmt: skip
    columns = [str(f.column) for f in User._meta.concrete_fields if f.column != "id"]
    values = [ours.get(c, f"t.{c}") for c in columns]
    select = (f"SELECT {', '.join(values)} FROM accounts_user t, generate_series(%s, %s) AS g "
              f"WHERE t.email = '{TEMPLATE}'")  # fmt: skip
    return ", ".join(columns), select


def add_people(first: int, last: int) -> None:
    """People ``first..last``, each with a sync sequence, a push device and ten rules due later today
    (in the due index, as live rules are), all in one statement."""
    columns, select = user_columns()
    execute(
        f"""WITH people AS (
              INSERT INTO accounts_user ({columns})
              {select}
              RETURNING id
            ), sequences AS (
              INSERT INTO diary_sync_state (user_id, seq, purge_watermark) SELECT id, {RULES_EACH + 1}, 0 FROM people
            ), devices AS (
              INSERT INTO reminders_device (user_id, uid, platform, token, keys, label, active, created_at,
                  last_success_at, deactivated_at, last_error)
              SELECT id, 'd1', 'fcm', 'bench-token-' || id, '{{}}'::jsonb, '', true, now(), NULL, NULL, ''
              FROM people
            )
            INSERT INTO reminders_rule (user_id, uid, seq, deleted_at, server_updated_at, kind, label, schedule,
                interval_min, window_start, window_end, times, weekdays, quiet_start, quiet_end, fire_at, tz_mode,
                adaptive, enabled, next_fire_at, snooze_until)
            SELECT p.id, 'r' || r, 1 + r, NULL, now(),
                   CASE WHEN r %% 2 = 0 THEN 'hydration' ELSE 'stretching' END, NULL,
                   CASE WHEN r %% 2 = 0 THEN 'interval' ELSE 'times' END,
                   CASE WHEN r %% 2 = 0 THEN 60 + 15 * r ELSE NULL END,
                   CASE WHEN r %% 2 = 0 THEN time '08:00' ELSE NULL END,
                   CASE WHEN r %% 2 = 0 THEN time '22:00' ELSE NULL END,
                   CASE WHEN r %% 2 = 0 THEN '[]'::jsonb
                        ELSE jsonb_build_array(lpad((7 + r)::text, 2, '0') || ':30') END,
                   '[]'::jsonb, NULL, NULL, NULL, 'device', r %% 4 = 0, true,
                   now() + interval '1 hour' + (random() * interval '19 hours'), NULL
            FROM people p, generate_series(0, {RULES_EACH - 1}) AS r""",
        [first, last],
    )
    execute("VACUUM ANALYZE accounts_user, diary_sync_state, reminders_rule, reminders_device")


def make_due(count: int, now: datetime) -> None:
    """One rule (r0: water every hour) of each of the first ``count`` people becomes due a moment ago."""
    execute("DELETE FROM reminders_push_delivery WHERE notification_id IN "
            f"(SELECT id FROM reminders_notification WHERE user_id IN ({MINE}))")  # fmt: skip
    execute(f"DELETE FROM reminders_notification WHERE user_id IN ({MINE})")
    execute(
        f"""UPDATE reminders_rule SET next_fire_at = %s - (id %% 50) * interval '1 second', snooze_until = NULL
            WHERE uid = 'r0' AND user_id IN (
                SELECT id FROM accounts_user WHERE email LIKE '%%{DOMAIN}' ORDER BY id LIMIT %s)""",
        [now, count],
    )
    execute("ANALYZE reminders_rule")


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def floor_insert(now: datetime) -> None:
    """The floor: the same inbox rows in one statement, straight from the due rules."""
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO reminders_notification (user_id, uid, seq, deleted_at, server_updated_at, kind,
                    reminder_id, alert_id, title, body, scheduled_for, delivered_at, action, acted_at, snooze_min)
               SELECT user_id, md5(random()::text), 1, NULL, now(), 'reminder', uid, NULL,
                      'Time for a glass of water', 'Water keeps the electrolytes your muscles need in balance.',
                      next_fire_at, NULL, NULL, NULL, NULL
               FROM reminders_rule WHERE next_fire_at <= %s""",
            [now],
        )


def pass_time(due: int, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        now = datetime.now(UTC)
        make_due(due, now)
        seconds, result = timed(lambda now=now: dispatch_due(now=now))  # type: ignore[misc]
        assert result.fired == due, f"expected {due} notifications, the pass made {result.fired}"  # type: ignore[attr-defined]
        times.append(seconds)
    return times


def floor_time(due: int, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        now = datetime.now(UTC)
        make_due(due, now)
        seconds, _ = timed(lambda now=now: floor_insert(now))  # type: ignore[misc]
        times.append(seconds)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the 10,000-due pass")
    parser.add_argument("--small-rounds", type=int, default=15, help="rounds of each 100-due pass")
    parser.add_argument("--quick", action="store_true", help="small sizes, one round: shows the script runs (CI)")
    args = parser.parse_args()
    global PEOPLE, SMALL_PEOPLE, DUE_BIG, DUE_SMALL
    if args.quick:  # the same steps on 1/50 of the rules; figures not meaningful, no target enforced
        PEOPLE, SMALL_PEOPLE, DUE_BIG, DUE_SMALL = 2_000, 200, 200, 20
        args.rounds, args.small_rounds, args.check = 1, 2, False
    ensure_database()
    cleanup()
    try:
        print(f"setting up {SMALL_PEOPLE * RULES_EACH:,} rules ...", flush=True)
        add_people(1, SMALL_PEOPLE)
        pass_time(DUE_SMALL, 2)  # warm-up
        small = statistics.median(pass_time(DUE_SMALL, args.small_rounds))
        print(f"growing to {PEOPLE * RULES_EACH:,} rules ...", flush=True)
        t0 = time.perf_counter()
        add_people(SMALL_PEOPLE + 1, PEOPLE)
        print(f"  (set-up took {time.perf_counter() - t0:.0f} s)", flush=True)
        pass_time(DUE_SMALL, 2)
        big_small_due = statistics.median(pass_time(DUE_SMALL, args.small_rounds))
        rounds_big, rounds_floor = [], []
        for _ in range(args.rounds):  # the pass and its floor alternate
            rounds_big += pass_time(DUE_BIG, 1)
            rounds_floor += floor_time(DUE_BIG, 1)
        big, floor = statistics.median(rounds_big), statistics.median(rounds_floor)
    finally:
        cleanup()
        if PURGE_BROKER:
            celery_app.control.purge()
    ratio = big_small_due / small
    print()
    print(f"1. {DUE_BIG:,} due of {PEOPLE * RULES_EACH:,} rules: one pass {big * 1000:.0f} ms = "
          f"{DUE_BIG / big:,.0f} notifications/s (with per-person stamps, schedule maths and {DUE_BIG:,} pending "
          f"pushes); floor INSERT ... SELECT {floor * 1000:.0f} ms; floor/pass = {floor / big:.2f}")  # fmt: skip
    print(f"2. {DUE_SMALL} due: pass over {SMALL_PEOPLE * RULES_EACH:,} rules {small * 1000:.1f} ms, over "
          f"{PEOPLE * RULES_EACH:,} rules {big_small_due * 1000:.1f} ms: ratio {ratio:.2f} "
          f"(target <= {RATIO_LIMIT}) {'PASS' if ratio <= RATIO_LIMIT else 'FAIL'}")  # fmt: skip
    return 1 if args.check and ratio > RATIO_LIMIT else 0


if __name__ == "__main__":
    sys.exit(main())
