"""A Celery worker keeps its PostgreSQL connection from task to task (backend/celery.py), and still gets a
working one after the server restarts.

Celery's Django fixup used to close the connection before and after every task, so each task opened a
new one (and PostgreSQL started a new server process for it). A real prefork worker runs no-op outbox
deliveries here against a private PostgreSQL; the server's own session count says how many connections
were opened, and the worker's log says whether every task ran.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import psycopg
import pytest
import redis
from celery import Celery

from tests.support.services import PrivatePostgres, PrivateRedis, ServiceMissing
from tests.support.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.redis]

DELIVER = "diary.outbox.tasks.outbox_deliver"  # of an outbox row that does not exist: one locking SELECT


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Stack, PrivatePostgres]]:
    try:
        pg, rd = PrivatePostgres(database="diary_worker"), PrivateRedis()
    except ServiceMissing as exc:
        pytest.skip(str(exc))
    with pg, rd:
        s = Stack(database_url=pg.url, redis_url=rd.url, worker_concurrency=2)
        s.migrate()
        s.start(web=False, beat=False)
        try:
            yield s, pg
        finally:
            s.stop()


def sessions(pg: PrivatePostgres) -> int:
    with psycopg.connect(pg.url, autocommit=True) as conn:
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").fetchone()
    assert row is not None
    return int(row[0]) - 1  # not counting this one


def run_tasks(s: Stack, n: int, first_id: int) -> None:
    app = Celery(broker=s.env["CELERY_BROKER_URL"])
    with app.producer_or_acquire() as producer:
        for i in range(n):
            app.send_task(DELIVER, args=[first_id + i], producer=producer)
    broker = redis.Redis.from_url(s.env["CELERY_BROKER_URL"])
    deadline = time.monotonic() + 60
    while broker.llen("celery") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the last ones finish


def outcomes(s: Stack) -> tuple[int, int]:
    """Tasks the worker logged as succeeded and as failed so far."""
    ok = failed = 0
    for line in (s.logdir / "worker.log").read_text().splitlines():
        try:
            message = json.loads(line).get("message", "")
        except ValueError:
            continue
        ok += DELIVER in message and " succeeded in " in message
        failed += DELIVER in message and " raised " in message
    return ok, failed


def test_tasks_share_a_connection_per_process(stack: tuple[Stack, PrivatePostgres]) -> None:
    s, pg = stack
    before, (ok0, _) = sessions(pg), outcomes(s)
    run_tasks(s, 200, 10**12)
    opened = sessions(pg) - before
    assert outcomes(s)[0] - ok0 == 200
    assert opened <= 4, f"{opened} connections for 200 tasks (one per task before the fix)"


def test_after_a_server_restart_the_tasks_run_on_a_new_connection(stack: tuple[Stack, PrivatePostgres]) -> None:
    s, pg = stack
    run_tasks(s, 10, 2 * 10**12)
    pg.restart(mode="fast")  # every connection the worker holds is gone
    time.sleep(6)  # idle past backend.postgresql.base.IDLE_SECONDS: the next task checks it first
    ok0, failed0 = outcomes(s)
    run_tasks(s, 50, 3 * 10**12)
    ok, failed = outcomes(s)
    assert (ok - ok0, failed - failed0) == (50, 0)
