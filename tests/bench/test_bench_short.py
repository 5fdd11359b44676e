"""Benchmarks that cannot rot (issue 18 item 9): every ``bench/*.py`` entry point runs here in a short mode.

Each is started as the README says (``python -m bench.X``), with small sizes and no target enforced,
so a script that no longer runs (a raw INSERT missing a new column, a fixed date the rules have
left behind, a settings module loaded too early) fails the suite; its figures mean nothing here. The
scripts run one after another on a PostgreSQL database of this suite's own (``<suite database>_bench``,
dropped at the end) and on the suite's Redis database (flushed after each).

Two entry points are only started (``--help``: their imports and arguments), because the suite runs
what they wrap already: ``bench.faults`` is the scenario of tests/faults (run there at its minimum
length), ``bench.embedded_soak`` the soak of tests/smoke/test_embedded_soak.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from psycopg import sql
from psycopg.conninfo import make_conninfo

pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
# Entry point -> the arguments of its short mode.
SHORT: dict[str, list[str]] = {
    "alerts": ["--episodes", "6", "--rate", "3"],
    "api": ["--quick"],
    "clinician": ["--rounds", "1"],
    "embedded_soak": ["--help"],
    "faults": ["--help"],
    "load": ["--quick"],
    "patterns": ["--rounds", "1", "--people", "3"],
    "patterns_quality": ["--cohorts", "4"],
    "reminders": ["--quick"],
    "sync": ["--quick"],
}
TIMEOUT_S = 600


def entry_points() -> list[str]:
    return sorted(p.stem for p in BENCH.glob("*.py") if 'if __name__ == "__main__":' in p.read_text())


def test_every_entry_point_has_a_short_mode() -> None:
    assert entry_points() == sorted(SHORT), "a bench/*.py entry point without a short mode here (or one removed)"


@pytest.fixture(scope="module")
def bench_env() -> Iterator[dict[str, str]]:
    """The suite's PostgreSQL server with a database of the benchmarks' own, and the suite's Redis db."""
    db = settings.DATABASES["default"]
    name = f"{db['NAME']}_bench"
    user, password = db["USER"] or "", db["PASSWORD"] or ""
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    secret = ":" + urllib.parse.quote(password, safe="") if password else ""
    url = f"postgres://{urllib.parse.quote(user, safe='')}{secret}@{host}:{port}/{name}"
    admin = make_conninfo(dbname="postgres", host=host, port=str(port), user=user or None, password=password or None)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    load_name = f"{db['NAME']}_loadbench"
    drop_load = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(load_name))
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL"}}
    env.update(DATABASE_URL=url, REDIS_URL=settings.REDIS_URL, PYTHONUNBUFFERED="1",
               LOAD_DATABASE_URL=url.rsplit("/", 1)[0] + f"/{load_name}", LOAD_REDIS_URL=settings.REDIS_URL)  # fmt: skip
    try:
        yield env
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(drop)
            conn.execute(drop_load)
        redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.mark.parametrize("name", sorted(SHORT))
def test_the_entry_point_runs_in_its_short_mode(name: str, bench_env: dict[str, str]) -> None:
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", f"bench.{name}", *SHORT[name]], cwd=ROOT, env=bench_env,
                              capture_output=True, text=True, timeout=TIMEOUT_S, check=False)  # fmt: skip
    finally:
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    took = time.monotonic() - started
    output = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, f"python -m bench.{name} {' '.join(SHORT[name])} exited {done.returncode}:\n{output}"
    assert "Traceback" not in done.stderr, output
    print(f"bench.{name}: {took:.0f} s")
