"""The real server for the benchmarks that go over HTTP: one gunicorn worker on loopback, and its memory.

``start_server`` runs gunicorn from the repository root with this process's environment (so the same
settings and database). Memory is read from /proc (Linux only): the peak is VmHWM, reset through
/proc/<pid>/clear_refs where the kernel allows it, and VmRSS sampled every 5 ms in any case.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent


def start_server(port: int, *options: str, log: Path | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn with one worker and ``options`` (worker class, timeouts); returns the master process and
    the worker's pid once the port answers. ``log``: the server's output goes to that file, not the terminal."""
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "backend.wsgi", "-w", "1", *options, "-b", f"127.0.0.1:{port}",
           "--log-level", "warning"]  # fmt: skip
    out = None if log is None else log.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = children(proc.pid)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if len(workers) == 1:
                return proc, workers[0]
        except OSError:
            if proc.poll() is not None:
                sys.exit("gunicorn exited at start-up")
        time.sleep(0.1)
    proc.terminate()
    sys.exit("gunicorn did not start (with exactly one worker) within 30 s")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (``echo 5 > clear_refs``); False where the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Sampler(threading.Thread):
    """Polls the worker's VmRSS every 5 ms (in case VmHWM cannot be reset)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmRSS"))
            time.sleep(0.005)

    def stop(self) -> int:
        self.done.set()
        self.join()
        return max(self.peak_kb, status_kb(self.pid, "VmRSS"))


def http_get(port: int, path: str, auth: dict[str, str]) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers=auth)
        resp = conn.getresponse()
        payload = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        sys.exit(f"GET {path} answered {resp.status}: {payload[:300]!r}")
    return orjson.loads(payload)


def http_post(port: int, path: str, body: bytes, auth: dict[str, str]) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request("POST", path, body=body, headers={**auth, "Content-Type": "application/json"})
        resp = conn.getresponse()
        payload = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        sys.exit(f"POST {path} answered {resp.status}: {payload[:300]!r}")
    return orjson.loads(payload)


def peak_growth(pid: int, action: Callable[[], object]) -> tuple[float, float, float]:
    """(RSS before, peak RSS, growth) in MB while ``action`` runs in the client."""
    hwm_reset = reset_peak(pid)
    before = status_kb(pid, "VmRSS")
    sampler = Sampler(pid)
    sampler.start()
    action()
    peak = sampler.stop()
    if hwm_reset:
        peak = max(peak, status_kb(pid, "VmHWM"))
    return before / 1024, peak / 1024, (peak - before) / 1024
