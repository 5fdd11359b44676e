"""The embedded default, started exactly as the README says: ``python3 scripts/dev.py run``.

No PostgreSQL, no Redis: the run command gets an empty var dir and none of the variables that would
point it elsewhere, so it must bring up SQLite (WAL) and kombu's filesystem broker by itself. The
test then uses it only from the outside: HTTP for the API, a read-only SQLite connection to watch
the outbox, signals to stop it. It needs no test database (no ``db`` fixture).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
# What would send the run command to PostgreSQL, Redis or other settings.
NOT_EMBEDDED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
DOCUMENTED_DEMO_LOGIN = ("demo@example.com", "demo-diary-2026")  # README and scripts/dev.py
EPISODES_POSTED = 8

T = TypeVar("T")
OutboxRow = tuple[int, str, dict[str, Any], str | None, int, str]  # id, topic, payload, processed_at, attempts, error
# Requests go straight to the local server, whatever http_proxy says.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


# --- processes, from /proc (Linux) --------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = raw[raw.rindex(")") + 2 :].split()[:2]  # the name in parentheses may hold spaces
    return state, int(ppid)


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == pid:
            found.add(int(entry.name))
    return found


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children(todo.pop()) - found:
            found.add(child)
            todo.append(child)
    return found


def role(cmd: str) -> str:
    words = cmd.split()
    return "web" if "runserver" in words else "worker" if "worker" in words else "beat" if "beat" in words else cmd


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# --- the running service ------------------------------------------------------------------


class Service:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, var: Path, log: Path) -> None:
        self.proc, self.port, self.var, self.log = proc, port, var, log
        self.base = f"http://{HOST}:{port}"
        self.db = var / "diary.sqlite3"
        self.seen: set[int] = set()  # every process the run command started, for the clean-up

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 80) -> str:
        return "\n--- run log (tail) ---\n" + "\n".join(self.text().splitlines()[-lines:])

    def wait(self, what: str, check: Callable[[], T | None], timeout: float, every: float = 0.25) -> T:
        """Poll ``check`` until it answers something other than None/False; fail with the log tail."""
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"the run command exited ({self.proc.returncode}) while waiting for {what}{self.tail()}")
            self.seen |= descendants(self.proc.pid)
            result = check()
            if result is not None and result is not False:
                return result
            if time.monotonic() > end:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{self.tail()}")
            time.sleep(every)

    def http(
        self, method: str, path: str, body: Any = None, token: str | None = None, accept: str = "application/json"
    ) -> tuple[int, Any]:
        headers = {"Accept": accept}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)  # noqa: S310 (http://127.0.0.1)
        try:
            with _http.open(request, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def get_status(self, path: str) -> int | None:
        try:
            return self.http("GET", path, accept="text/html")[0]
        except OSError:  # not listening yet, or reset while starting
            return None

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the live database the way a second process would: read-only, short-lived."""
        with closing(sqlite3.connect(f"{self.db.as_uri()}?mode=ro", uri=True, timeout=10)) as conn:
            return conn.execute(sql, params).fetchall()

    def outbox(self) -> list[OutboxRow]:
        rows = self.query(
            "SELECT id, topic, payload, processed_at, attempts, last_error FROM diary_outbox_event ORDER BY id"
        )
        return [(i, topic, json.loads(p), done, attempts, err) for i, topic, p, done, attempts, err in rows]

    def kill_leftovers(self) -> None:
        """Only after a failure: the run command and everything it started, by process id."""
        for pid in [self.proc.pid, *sorted(self.seen | descendants(self.proc.pid))]:
            if alive(pid):
                with suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    if not Path("/proc/self/stat").exists():
        pytest.skip("follows the process tree through /proc (Linux)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in NOT_EMBEDDED}
    env["DIARY_VAR_DIR"] = str(tmp_path)
    env["PYTHONUNBUFFERED"] = "1"
    log = tmp_path / "run.log"
    # O_APPEND: web, worker and beat inherit the descriptor and write to it at the same time.
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "scripts/dev.py", "run", "--port", str(port)],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as in a terminal, so SIGINT is Ctrl-C
        )  # fmt: skip
    svc = Service(proc, port, tmp_path, log)
    try:
        yield svc
    finally:
        if proc.poll() is None or any(alive(p) for p in svc.seen):
            svc.kill_leftovers()


def test_run_command_serves_api_worker_and_beat_on_sqlite_and_filesystem_broker(service: Service) -> None:
    svc = service

    # 1. Up: migrate, demo data, then web answers; the banner prints the demo login.
    svc.wait("GET /api/docs/ to answer 200", lambda: svc.get_status("/api/docs/") == 200, timeout=90, every=0.5)
    banner = svc.wait("the banner", lambda: re.search(r"Demo person\s+(\S+) / (\S+)", svc.text()), timeout=30)
    login = (banner.group(1), banner.group(2))
    assert login == DOCUMENTED_DEMO_LOGIN, login
    started = {pid: cmdline(pid) for pid in children(svc.proc.pid)}
    assert sorted(map(role, started.values())) == ["beat", "web", "worker", "worker"], f"{started}{svc.tail()}"
    # Urgent work has a worker of its own (as in docker-compose.yml); the general one takes the rest.
    queues = sorted(cmd.split()[cmd.split().index("-Q") + 1] for cmd in started.values() if role(cmd) == "worker")
    assert queues == ["alerts", "periodic,celery,batch"], f"{started}{svc.tail()}"

    # 2. It really is the embedded default.
    assert svc.db.exists(), svc.tail()
    assert svc.query("PRAGMA journal_mode") == [("wal",)]
    assert (svc.var / "broker" / "queue").is_dir()

    # 3. The demo login works and writes go through while the worker drains the seeding backlog.
    status, body = svc.http("POST", "/api/v1/auth/token", {"email": login[0], "password": login[1]})
    assert status == 200, (status, body, svc.tail())
    token = body["access"]
    uids: list[str] = []
    for i in range(EPISODES_POSTED):
        started_at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10 + i)).isoformat()
        episode = {"kind": "cramp", "body_location": "calf", "started_at": started_at, "pain": 5}
        status, body = svc.http("POST", "/api/v1/episodes/", episode, token=token)
        assert status == 201, (status, body, svc.tail())
        uids.append(body["id"])
    status, body = svc.http("GET", f"/api/v1/episodes/{uids[0]}", token=token)
    assert status == 200, (status, body)

    # 4. The real worker consumed the wake-ups from the filesystem broker: every intent is done.
    def ours_done() -> bool:
        done = {
            u for _, topic, p, at, _, _ in svc.outbox() if topic == "episode.written" and at for u in p.get("uids", [])
        }
        return set(uids) <= done

    svc.wait("the worker to process the posted episodes' outbox rows", ours_done, timeout=60)

    def all_done() -> list[OutboxRow] | None:
        rows = svc.outbox()
        return rows if rows and all(r[3] for r in rows) else None

    rows = svc.wait("the whole outbox (the demo backlog too) to drain", all_done, timeout=90)
    seeded = [r for r in rows if not set(r[2].get("uids", [])) & set(uids)]
    # The demo diary's writes, and the clinician emails its high and urgent red flags raised.
    topics = {r[1] for r in seeded}
    assert (
        {"episode.written", "checkin.written"} <= topics <= {"episode.written", "checkin.written", "alert.clinicians"}
    )
    assert len(seeded) >= 50, f"expected a demo backlog, found {len(seeded)} outbox rows"
    failed = [(r[0], r[5]) for r in rows if r[5] or r[4] < 1]
    assert not failed, f"outbox rows that failed or were never attempted: {failed[:5]}{svc.tail()}"

    # 5. Ctrl-C stops everything, promptly and completely.
    tree = svc.seen | descendants(svc.proc.pid)
    os.killpg(svc.proc.pid, signal.SIGINT)
    try:
        code = svc.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the run command did not stop within 20 s of SIGINT{svc.tail()}")
    assert code == 0, f"exit code {code}{svc.tail()}"
    end = time.monotonic() + 5  # pool children may take a moment after their parent
    while any(alive(p) for p in tree) and time.monotonic() < end:
        time.sleep(0.1)
    left = {p: cmdline(p) for p in tree if alive(p)}
    assert not left, f"still running after the run command exited: {left}{svc.tail()}"
    assert not listening(svc.port), f"something still listens on {svc.port}{svc.tail()}"

    # 6. The log: all three came up, nothing crashed, SQLite never refused a writer.
    log = svc.text()
    assert "Connected to backend.filebroker:Transport://" in log, svc.tail()  # the atomic filesystem broker
    assert re.search(r"worker@\S+ ready\.", log), svc.tail()
    assert re.search(r"alerts@\S+ ready\.", log), svc.tail()
    assert "beat: Starting..." in log and "PersistentScheduler" in log, svc.tail()
    assert "Starting development server" in log, svc.tail()
    assert "[dev] stopping web, the workers and beat" in log, svc.tail()
    assert "exited with code" not in log, svc.tail()
    assert "database is locked" not in log, svc.tail()
    assert "Traceback" not in log, svc.tail()
