"""SQLite under load (issue 18 item 7): the embedded default never answers 500 for a busy database.

The server runs as ``dev.py run`` runs it (runserver, DEBUG on, SQLite in WAL mode with IMMEDIATE
transactions) on a file of its own, with a short busy timeout (``SQLITE_TIMEOUT``) so that a lock
wait runs out within the test. Before: 16 writers beside a 10,000-record push got HTTP 500 (Django's
debug page for "database is locked": with DEBUG on, handler500 never runs). Now a lock wait that runs
out answers 503 with Retry-After, and the push commits in chunks (SYNC_SQLITE_PUSH_CHUNK), so the
writers get their turns while it runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 16
PUSHED = 10_000
BUSY_TIMEOUT_S = 3
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to loopback

TOKENS = """
import json
from diary.accounts.second_factor import tokens_for
from diary.accounts.services import user_register
users = [user_register(email=f"w{i}@sqlite.invalid", password="a sturdy pass phrase 42", timezone="Europe/Berlin",
                       default_reminders=False) for i in range(5)]
print(json.dumps([tokens_for(u, second_factor=False)["access"] for u in users]))
"""


class Server:
    def __init__(self, var: Path) -> None:
        self.var, self.db = var, var / "diary.sqlite3"
        self.env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
        self.env.update(DJANGO_SETTINGS_MODULE="backend.settings.base", DIARY_VAR_DIR=str(var), DEBUG="1",
                        DB_CONN_MAX_AGE="0", SQLITE_TIMEOUT=str(BUSY_TIMEOUT_S), LOG_FORMAT="plain")  # fmt: skip
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=self.env, check=True, timeout=300)
        done = subprocess.run([*manage, "shell", "-c", TOKENS], cwd=ROOT, env=self.env, check=True, timeout=120,
                              capture_output=True, text=True)  # fmt: skip
        self.tokens: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log = (var / "server.log").open("ab")
        self.proc = subprocess.Popen([*manage, "runserver", self.base.removeprefix("http://"), "--noreload"], cwd=ROOT,
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 60
        while self.request("GET", "/healthz", None)[0] != 200:
            assert self.proc.poll() is None and time.monotonic() < deadline, self.tail()
            time.sleep(0.2)

    def request(self, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)  # noqa: S310 (loopback)
        try:
            with _http.open(req, timeout=300) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()
        except OSError:
            return 0, {}, b""  # not listening yet

    def tail(self) -> str:
        return "\n--- server log (tail) ---\n" + "\n".join((self.var / "server.log").read_text().splitlines()[-40:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("sqlite-load"))
    try:
        yield srv
    finally:
        srv.stop()


def episode(minutes_ago: float) -> dict[str, Any]:
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    return {"kind": "cramp", "body_location": "calf", "started_at": started.isoformat(), "pain": 3}


def test_a_write_that_waits_out_the_lock_answers_503_with_retry_after(server: Server) -> None:
    holder = sqlite3.connect(server.db, timeout=1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the file's one write lock
    try:
        started = time.monotonic()
        status, headers, body = server.request("POST", "/api/v1/episodes", server.tokens[0], episode(60))
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status == 503, (status, body[:300], server.tail())
    assert headers.get("Retry-After", "").isdigit(), headers
    assert json.loads(body)["error"] == "unavailable"
    assert waited >= BUSY_TIMEOUT_S * 0.9, waited  # it waited for the lock first
    status, _, body = server.request("POST", "/api/v1/episodes", server.tokens[0], episode(61))
    assert status == 201, body[:300]  # and the next one, with the lock free, goes through


def test_sixteen_writers_beside_a_large_push_get_no_500(server: Server) -> None:
    stop = threading.Event()
    codes: Counter[int] = Counter()
    refused: list[tuple[int, str | None]] = []

    def writer(k: int) -> None:
        i = 0
        while not stop.is_set():
            status, headers, _ = server.request(
                "POST", "/api/v1/episodes", server.tokens[1 + k % 4], episode(90 + k * 500 + i)
            )
            codes[status] += 1
            if status != 201:
                refused.append((status, headers.get("Retry-After")))
            i += 1

    now_ms = int(time.time() * 1000)
    records = [{"id": f"big{i}", "kind": "cramp", "body_location": "calf", "started_at": now_ms - (i + 60) * 600_000,
                "pain": 3} for i in range(PUSHED)]  # fmt: skip
    body = {"episodes": {"created": records, "updated": [], "deleted": []}}
    threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(WRITERS)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    status, _, answer = server.request("POST", "/api/v1/sync/push?last_pulled_at=0", server.tokens[0], body)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert status == 200, (status, answer[:300], server.tail())
    assert json.loads(answer)["rejected"] == {}
    assert 500 not in codes and set(codes) <= {201, 503}, (codes, server.tail())
    assert all(retry and retry.isdigit() for status, retry in refused), refused[:5]
    assert codes[201] >= WRITERS, codes  # the writers got turns while the push ran
    with sqlite3.connect(f"{server.db.as_uri()}?mode=ro", uri=True, timeout=10) as ro:
        stored = ro.execute("SELECT count(*) FROM diary_episode WHERE uid LIKE 'big%'").fetchone()[0]
    assert stored == PUSHED
