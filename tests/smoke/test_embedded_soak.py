"""The embedded default survives steady use, and the run command restarts a child that dies.

The short version of ``python -m bench.embedded_soak`` (tests/support/soak.py): ``scripts/dev.py run``
for real under four parallel clients writing episodes, check-ins and sync pushes, with reminders due
every minute and empty message files dropped into the broker's queue (before the atomic transport,
one such file stopped the worker for good: "Unrecoverable error: JSONDecodeError"); the same run on
PostgreSQL, counting its connections; and a worker killed under the run command.
"""

from __future__ import annotations

import os
import signal
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.support.soak import Soak, soak

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _linux() -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("follows the process tree through /proc (Linux)")


def test_four_clients_for_a_minute_crash_nothing_lose_nothing_and_get_every_reminder() -> None:
    result = soak(seconds=50, clients=4, log=lambda _: None)
    assert result.failures == []
    assert set(result.requests) == {"episode", "checkin", "pull", "push"}
    assert min(result.requests.values()) >= 20, result.requests  # each kind really ran, for each client
    assert all(s in (200, 201) for s in result.statuses), result.statuses
    assert result.written["episodes"] > 0 and result.written["checkins"] > 0
    assert result.reminders_due >= 4 and result.reminders_found == result.reminders_due  # one per person at least
    assert result.bad_messages[0] >= 2 and result.bad_messages[1] == result.bad_messages[0]
    assert not result.restarts


@pytest.fixture
def soak_database() -> Iterator[str]:
    """A PostgreSQL database of its own on the suite's server, for the dev run to migrate and use."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs the suite's PostgreSQL server")
    name = f"{db['NAME']}_devrun"
    user, password, host, port = db["USER"] or "", db["PASSWORD"] or "", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    admin = make_conninfo(dbname="postgres", host=host, port=str(port), user=user or None, password=password or None)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        secret = ":" + urllib.parse.quote(password, safe="") if password else ""
        yield f"postgres://{urllib.parse.quote(user, safe='')}{secret}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(drop)


def test_the_dev_server_on_postgresql_keeps_its_connections_few(soak_database: str) -> None:
    # With persistent connections (CONN_MAX_AGE=60) runserver's thread per request kept one each:
    # four clients opened 95 and got "too many clients" 500s. dev.py run closes them after each request.
    result = soak(seconds=30, clients=4, database_url=soak_database, reminders=False, log=lambda _: None)
    assert result.failures == []
    assert result.max_db_connections is not None
    assert 1 <= result.max_db_connections <= 12, result.max_db_connections  # 4 requests, workers (3 + 2), beat, slack


def test_a_worker_that_dies_is_restarted_and_consumes_again() -> None:
    runner = Soak(seconds=0, clients=0, interval=1, database_url=None, log=lambda _: None)
    try:
        runner.start()
        assert runner.run is not None
        # The general worker (dev.py run's "worker"; the alerts worker beside it consumes only alerts).
        (worker,) = [
            pid for pid in _children(runner.run.pid) if " worker " in _cmdline(pid) and "worker@" in _cmdline(pid)
        ]
        os.killpg(worker, signal.SIGKILL)  # the worker and its pool, as the OOM killer or a crash would

        _wait(lambda: "[dev] worker restarted" in runner.log_text(), "the restart", runner)
        log = runner.log_text()
        assert f"[dev] worker exited with code -{int(signal.SIGKILL)}" in log, runner.tail()
        _wait(lambda: log.count(" ready.") < runner.log_text().count(" ready."), "the new worker", runner)

        # The new worker consumes: a bad message dropped now is taken and set aside.
        queue, bad = runner.var / "broker" / "queue", runner.var / "broker" / "bad"
        (queue / f"{0:020d}_after-restart.celery.msg").write_bytes(b"")
        _wait(lambda: (bad / f"{0:020d}_after-restart.celery.msg").exists(), "the bad message set aside", runner)
        survivors = _children(runner.run.pid)
        assert len(survivors) == 4, {pid: _cmdline(pid) for pid in survivors}  # web, both workers, beat; nothing else
    finally:
        runner.stop()
    assert runner.result.failures == [], runner.tail()
    assert "exited with code" not in runner.log_text().split("[dev] worker restarted", 1)[1], runner.tail()


def _wait(check: Callable[[], bool], what: str, runner: Soak, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}{runner.tail()}")
        time.sleep(0.25)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
