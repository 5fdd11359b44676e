"""Drive real WatermelonDB devices (client.mjs, Node) from Python end-to-end sync tests.

One `Device` is one phone: its own Node process with its own in-memory WatermelonDB database,
syncing with `synchronize()` the way SYNC.md says the app calls it. Commands go as JSON lines over
stdin, answers come back over stdout (see client.mjs for the protocol).

    with Device("phone", base_url=live_server.url, token=token) as phone:
        phone.create("episodes", {...})
        assert phone.sync()["ok"]
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NotRequired, TypedDict

E2E_DIR = Path(__file__).resolve().parent
CLIENT = E2E_DIR / "client.mjs"
TABLES = ("episodes", "checkins", "reminders", "notifications", "alerts")

_installed = False


class HarnessError(RuntimeError):
    """The harness itself failed: Node missing, npm ci failed, the device process died or hung."""


class DeviceError(RuntimeError):
    """An op answered {"ok": false}: the error text of the device."""

    def __init__(self, op: str, message: str, warnings: list[str]) -> None:
        super().__init__(f"{op}: {message}")
        self.op = op
        self.message = message
        self.warnings = warnings


class SyncResult(TypedDict):
    ok: bool
    pulls: int
    pushes: int
    lastPulledAt: int | None
    hasMore: bool
    # experimentalStrategy of each pull (None = incremental)
    strategies: list[str | None]
    timestamps: list[int]
    # experimentalRejectedIds / rejected of every push of this sync, merged
    rejectedIds: dict[str, list[str]]
    rejected: dict[str, dict[str, Any]]
    resolvedConflicts: int
    # pushes that failed after a page that said has_more (the loop pulls on; a later page pushes)
    pushErrors: list[str]
    # SYNC.md promises about pull answers that WatermelonDB would not notice (harness checks)
    protocolProblems: list[str]
    # WatermelonDB's own warnings and errors during the sync (it logs rather than fails on many
    # server mistakes, e.g. "Server wants client to create record ... but it already exists")
    warnings: list[str]
    error: NotRequired[str]
    phase: NotRequired[Literal["pull", "push"]]
    status: NotRequired[int]
    body: NotRequired[Any]


class LocalRecord(TypedDict):
    # id and every schema column, as WatermelonDB stores (and would push) it
    raw: dict[str, Any]
    # created | updated | deleted | synced
    status: str
    # columns changed locally since the last sync
    changed: list[str]


def _lock_path() -> Path:
    digest = hashlib.sha256(str(E2E_DIR).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"e2e-npm-ci-{digest}.lock"


def _node_modules_fresh() -> bool:
    # npm ci and npm install write node_modules/.package-lock.json, npm's record of what it installed.
    installed = E2E_DIR / "node_modules" / ".package-lock.json"
    lock = E2E_DIR / "package-lock.json"
    return installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime


def ensure_node_modules() -> None:
    """Install tests/e2e/node_modules with `npm ci` if it is missing or older than package-lock.json."""
    global _installed
    if _installed:
        return
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise HarnessError("the end-to-end sync tests need Node 20 and npm on PATH (apt-get install nodejs npm)")
    # One installer at a time (parallel test runs on one checkout).
    with _lock_path().open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if not _node_modules_fresh():
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=E2E_DIR,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0:
                raise HarnessError(f"npm ci in {E2E_DIR} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
            if not _node_modules_fresh():
                (E2E_DIR / "node_modules" / ".package-lock.json").touch()
    _installed = True


class Device:
    """One app installation: a Node process with its own WatermelonDB database.

    Every method sends one command and waits for its answer, at most `timeout` seconds; a device
    that does not answer in time is killed and HarnessError raised (with its stderr tail).
    """

    def __init__(
        self,
        name: str = "device",
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float = 60.0,
        optional: dict[str, list[str]] | None = None,
    ) -> None:
        ensure_node_modules()
        self.name = name
        self.timeout = timeout
        self.last_warnings: list[str] = []
        self._ids = itertools.count(1)
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=400)
        node = shutil.which("node")
        assert node is not None  # ensure_node_modules checked
        self._proc = subprocess.Popen(
            [node, str(CLIENT)],
            cwd=E2E_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env={**os.environ, "NODE_ENV": "development"},
        )
        threading.Thread(target=self._read_stdout, name=f"{name}-stdout", daemon=True).start()
        threading.Thread(target=self._read_stderr, name=f"{name}-stderr", daemon=True).start()
        if base_url is not None:
            try:
                self.init(base_url, token, optional=optional)
            except BaseException:
                self.close()
                raise

    # -- process plumbing -------------------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._answers.put(line)
        self._answers.put(None)

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def stderr_tail(self, lines: int = 40) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    def call(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        """Send one command; return its result, or raise DeviceError if the device answered ok: false."""
        if self._proc.poll() is not None:
            raise HarnessError(f"device {self.name} has exited ({self._proc.returncode}):\n{self.stderr_tail()}")
        command_id = next(self._ids)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps({"id": command_id, "op": op, **args}) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError as exc:
            raise HarnessError(f"device {self.name} closed its input:\n{self.stderr_tail()}") from exc
        while True:
            try:
                line = self._answers.get(timeout=self.timeout if timeout is None else timeout)
            except queue.Empty:
                self._kill()
                raise HarnessError(f"device {self.name}: no answer to {op} in time:\n{self.stderr_tail()}") from None
            if line is None:
                raise HarnessError(f"device {self.name} exited during {op}:\n{self.stderr_tail()}")
            answer = json.loads(line)
            if answer.get("id") == command_id:
                break
            if answer.get("id") is not None:
                raise HarnessError(f"device {self.name}: answer to command {answer.get('id')}, expected {command_id}")
        self.last_warnings = list(answer.get("warnings", []))
        if not answer["ok"]:
            raise DeviceError(op, answer["error"], self.last_warnings)
        return answer["result"]

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=10)

    def close(self) -> None:
        """Ask the device to exit; kill it if it does not within a few seconds."""
        if self._proc.poll() is None:
            with contextlib.suppress(DeviceError, HarnessError, BrokenPipeError, OSError):
                self.call("exit", timeout=5)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill()
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> Device:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- ops --------------------------------------------------------------------------------

    def init(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout_ms: int = 30_000,
        optional: dict[str, list[str]] | None = None,
    ) -> dict[str, Any]:
        """Create the device's database (schema version 1). `optional` marks extra columns nullable."""
        result: dict[str, Any] = self.call(
            "init", baseUrl=base_url, token=token, device=self.name, timeoutMs=timeout_ms, optional=optional or {}
        )
        return result

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change baseUrl, token or timeoutMs, e.g. `configure(token=None)`."""
        result: dict[str, Any] = self.call("configure", **settings)
        return result

    def sync(
        self, *, limit: int | None = None, defer_push: bool = False, max_pulls: int = 1000, timeout: float | None = None
    ) -> SyncResult:
        """synchronize() as the app calls it, again while a pull said has_more.

        A failed sync (HTTP error, 409 on push, WatermelonDB invariant) is not raised: the result
        has ok False, `error` ("push 409: ..."), and for HTTP errors `phase`, `status` and `body`.
        By default every synchronize() pushes, also after a page that said has_more (with that
        page's cursor); such a push failing does not end the loop but lands in `pushErrors`.
        `defer_push` instead skips the push of every synchronize() whose pull said has_more.
        """
        args: dict[str, Any] = {"deferPush": defer_push, "maxPulls": max_pulls}
        if limit is not None:
            args["limit"] = limit
        result: SyncResult = self.call("sync", timeout=timeout, **args)
        return result

    def create(self, table: str, fields: dict[str, Any], *, id: str | None = None) -> str:
        """Create a record as the app would (JSON-array columns may be given as lists); return its id."""
        args: dict[str, Any] = {"table": table, "fields": fields}
        if id is not None:
            args["recordId"] = id
        record_id: str = self.call("create", **args)
        return record_id

    def update(self, table: str, id: str, fields: dict[str, Any]) -> LocalRecord:
        record: LocalRecord = self.call("update", table=table, recordId=id, fields=fields)
        return record

    def delete(self, table: str, id: str) -> None:
        """markAsDeleted: the deletion is pushed on the next sync."""
        self.call("delete", table=table, recordId=id)

    def get(self, table: str, id: str) -> LocalRecord | None:
        """The local record (also while marked as deleted, status "deleted"), or None."""
        record: LocalRecord | None = self.call("get", table=table, recordId=id)
        return record

    def all(self, table: str) -> list[LocalRecord]:
        """Every local record of a table, sorted by id, rows marked as deleted included."""
        records: list[LocalRecord] = self.call("all", table=table)
        return records

    def rows(self, table: str) -> dict[str, dict[str, Any]]:
        """The live (not deleted) local rows of a table as {id: raw}."""
        return {r["raw"]["id"]: r["raw"] for r in self.all(table) if r["status"] != "deleted"}
