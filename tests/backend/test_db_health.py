"""The PostgreSQL health check kept for idle connections only (backend/postgresql/base.py, issue 18).

Django's CONN_HEALTH_CHECKS sends ``SELECT 1`` before the first query of every request; here it is
sent only when the connection has not opened a cursor for IDLE_SECONDS. The tests drive Django's
request cycle by hand (the test client disconnects its connection housekeeping) against a real
server, and kill the connection's backend with pg_terminate_backend to show what each path does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings
from django.db import OperationalError, connections

from backend.postgresql.base import IDLE_SECONDS, DatabaseWrapper

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]
connection = connections["default"]  # the connection object itself, not the thread-local proxy


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The backend pids Django's health check (``is_usable``) ran on, with health checks on."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    monkeypatch.setattr(connection, "health_check_enabled", True)
    seen: list[int] = []
    real = type(connection).is_usable

    def counted(self: object) -> bool:
        seen.append(connection.connection.info.backend_pid)
        return real(connection)

    monkeypatch.setattr(type(connection), "is_usable", counted)
    yield seen
    connection.close()


def new_request() -> None:
    """What Django does for the connection when a request starts (close_old_connections)."""
    setattr(connection, "health_check_done", False)  # noqa: B010 (set by Django, not in its stubs)


def query() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def terminate(pid: int) -> None:
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432, autocommit=True
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_the_engine_is_ours() -> None:
    assert settings.DATABASES["default"]["ENGINE"] in ("backend.postgresql", "django.db.backends.sqlite3")
    if connection.vendor == "postgresql":
        assert type(connection).__module__ == "backend.postgresql.base"


def test_a_connection_in_use_is_not_checked_again(checks: list[int]) -> None:
    pid = query()
    for _ in range(3):
        new_request()
        assert query() == pid
    assert checks == []


def test_an_idle_connection_is_checked_and_replaced_when_dead(checks: list[int]) -> None:
    pid = query()
    assert isinstance(connection, DatabaseWrapper)
    connection.used_at = time.monotonic() - IDLE_SECONDS - 1  # as if idle since
    terminate(pid)
    new_request()
    fresh = query()  # the check finds it dead: Django connects again, the request never sees the error
    assert checks == [pid]
    assert fresh != pid


def test_a_connection_that_dies_in_use_fails_one_request_then_recovers(checks: list[int]) -> None:
    """The trade-off: skipping the check for a busy connection, one request finds it dead (as with Django's
    default, no health checks); the connection is then discarded and the next request connects afresh."""
    pid = query()
    terminate(pid)
    new_request()
    with pytest.raises(OperationalError):
        query()
    assert checks == []  # nothing checked it before the query
    connection.close_if_unusable_or_obsolete()  # the end of that request: errors occurred, found dead, closed
    assert connection.connection is None
    new_request()
    assert query() != pid
