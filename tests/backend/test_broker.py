"""The worker survives Redis going away while a task runs (backend/broker.py).

A real prefork worker of the app on a private Redis (restarting the shared one would break the rest of
the suite) runs a task that waits for a row lock the test holds; Redis restarts under it. With kombu's
own Redis transport the worker exits ("Unrecoverable error: AttributeError"), so nothing more runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from backend.celery import app as celery_app
from diary.outbox.models import OutboxEvent
from diary.outbox.routes import EPISODE_WRITTEN
from tests.conftest import make_user
from tests.support.services import PrivateRedis, ServiceMissing

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    try:
        redis = PrivateRedis()
    except ServiceMissing as exc:
        pytest.skip(str(exc))
    with redis:
        yield redis


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def _wait(
    what: str, condition: Callable[[], bool], worker: subprocess.Popen[bytes], log: Path, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker.poll() is not None:
            break
        time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    pytest.fail(f"{what} (worker exit status {worker.poll()}); worker log:\n{tail}")


def _send(redis: PrivateRedis, event_id: int) -> None:
    with celery_app.connection_for_write(redis.url) as conn:
        celery_app.send_task("diary.outbox.tasks.outbox_deliver", args=[event_id], connection=conn)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_survives_redis_restarting_while_a_task_runs(private_redis: PrivateRedis, tmp_path: Path) -> None:
    user = make_user()
    busy = OutboxEvent.objects.create(
        user=user, topic=EPISODE_WRITTEN, handler="diary.alerts.handlers.episode_written", payload={"uids": []}
    )
    later = OutboxEvent.objects.create(user=user, topic="test.nothing", payload={})
    log = tmp_path / "worker.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings.test", "DATABASE_URL": _database_url(),
           "REDIS_URL": private_redis.url, "CELERY_BROKER_URL": private_redis.url}  # fmt: skip
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "backend", "worker", "-P", "prefork", "-c", "2", "-l", "INFO"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait("the worker did not start", lambda: " ready." in log.read_text(errors="replace"), worker, log, 90)
        # The task's handler (red-flag evaluation) takes the person's sequence row lock first: hold it, so
        # the task is running, its message unacknowledged, while the worker polls Redis for more.
        with psycopg.connect(_database_url()) as holder:
            holder.execute("SELECT 1 FROM diary_sync_state WHERE user_id = %s FOR UPDATE", [user.pk])
            _send(private_redis, busy.pk)

            def waiting_on_the_lock() -> bool:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"
                    )
                    return bool(cursor.fetchone()[0])

            _wait("the task never reached the row lock", waiting_on_the_lock, worker, log)
            private_redis.restart(down_s=2.0)
            holder.rollback()  # the task finishes now and acknowledges on a connection that is gone
        _wait("the in-flight task never finished", lambda: "succeeded" in log.read_text(errors="replace"), worker, log)
        # A new message after the restart is consumed: the worker reconnected instead of exiting.
        _send(private_redis, later.pk)

        def later_processed() -> bool:
            later.refresh_from_db()
            return later.processed_at is not None

        _wait("the worker did not take new work after Redis came back", later_processed, worker, log, 60)
        assert worker.poll() is None
        busy.refresh_from_db()
        assert busy.processed_at is not None  # the in-flight work itself was done once, not lost
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)  # pool children a crashed main process left behind
