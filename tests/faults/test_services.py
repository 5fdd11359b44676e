"""The private servers the fault tests restart: same port after a restart, nothing left behind."""

from __future__ import annotations

import os
import socket

import psycopg
import pytest
import redis

from tests.support.services import PrivatePostgres, PrivateRedis, ServiceMissing

pytestmark = pytest.mark.faults


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_private_postgres_restarts_on_its_port_keeps_its_data_and_cleans_up() -> None:
    try:
        pg = PrivatePostgres(database="faults_check")
    except ServiceMissing as exc:
        pytest.skip(str(exc))
    with pg:
        assert pg.port != 5432 and pg.url.endswith(f":{pg.port}/faults_check")
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (v int)")
            conn.execute("INSERT INTO t VALUES (42)")
        pg.stop(mode="immediate")  # a crash
        assert not _listening(pg.port)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pg.url, connect_timeout=2)
        pg.start()
        with psycopg.connect(pg.url) as conn:
            assert conn.execute("SELECT v FROM t").fetchone() == (42,)  # committed before the crash: kept
        tmpdir = pg.tmpdir
    assert not _listening(pg.port)
    assert not os.path.exists(tmpdir)


def test_private_redis_restarts_empty_on_its_port_and_cleans_up() -> None:
    try:
        server = PrivateRedis()
    except ServiceMissing as exc:
        pytest.skip(str(exc))
    with server:
        assert server.port != 6379
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        server.restart(down_s=0.2)
        assert client.ping() and client.get("k") is None  # no persistence: it comes back empty
        client.close()
        tmpdir = server.tmpdir
    assert not _listening(server.port)
    assert not os.path.exists(tmpdir)
