"""Private PostgreSQL and Redis servers that a fault test may stop and restart at will.

The shared services (PostgreSQL at 127.0.0.1:5432, Redis at 127.0.0.1:6379) serve the rest of the
suite, so a fault test must never restart them. These start their own:

- ``PrivatePostgres``: a throwaway cluster (``initdb``, trust auth) in a temporary directory owned by
  the ``postgres`` OS user when running as root (initdb and postgres refuse root), listening on
  127.0.0.1 on a free port with its unix socket inside the directory; ``pg_ctl`` starts and stops it.
- ``PrivateRedis``: a ``redis-server`` child process on a free port, no persistence.

Both keep their port across restarts (clients reconnect to the same URL), are context managers, and
always clean up: stopped and their directory removed on exit, on failure, and at interpreter exit.
``ServiceMissing`` means the server binaries are not installed (a test skips on it).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

START_TIMEOUT_S = 60.0


class ServiceMissing(RuntimeError):
    """The server binaries are not installed on this machine."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _file_tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a server's log, or "" if it cannot be read (never written, or removed)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def postgres_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory (Debian layout), or ServiceMissing."""
    candidates = []
    for bindir in glob.glob("/usr/lib/postgresql/*/bin"):
        version = Path(bindir).parent.name
        if version.isdigit() and all(Path(bindir, tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            candidates.append((int(version), Path(bindir)))
    if candidates:
        return max(candidates)[1]
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl and Path(pg_ctl).with_name("initdb").is_file():
        return Path(pg_ctl).parent
    raise ServiceMissing("the PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed")


class PrivatePostgres:
    """A private PostgreSQL cluster: ``start()`` (initdb on first use), ``stop()``, ``restart()``, ``close()``."""

    def __init__(self, *, database: str = "diary", port: int | None = None) -> None:
        self.bindir = postgres_bindir()
        self.database = database
        self.port = port or free_port()
        self._as_postgres = os.geteuid() == 0
        self.tmpdir = Path(tempfile.mkdtemp(prefix="diary-private-pg-"))
        self.datadir = self.tmpdir / "data"
        self.logfile = self.tmpdir / "postgres.log"
        self._initialised = False
        self._closed = False
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.tmpdir, entry.pw_uid, entry.pw_gid)
        atexit.register(self.close)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def admin_url(self) -> str:
        """The maintenance database, for creating and dropping databases."""
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def running(self) -> bool:
        return self._pg_ctl("status", check=False).returncode == 0

    def _run(
        self, args: list[str], *, check: bool = True, timeout: float = START_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["runuser", "-u", "postgres", "--", *args] if self._as_postgres else args
        proc = subprocess.run(cmd, cwd=self.tmpdir, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args], check=check)

    def _initdb(self) -> None:
        self._run([
            str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        ])  # fmt: skip
        self._initialised = True

    def start(self) -> None:
        """Start the server (initialising the cluster the first time) and wait until it accepts connections."""
        if self._closed:
            raise RuntimeError("this PrivatePostgres was closed")
        first = not self._initialised
        if first:
            self._initdb()
        # fsync off: the faults are process restarts, not power loss; a crash (immediate stop) still
        # recovers every commit from the WAL in the page cache.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.tmpdir} -c fsync=off -c full_page_writes=off "
            "-c max_connections=60 -c shared_buffers=32MB"
        )
        try:
            self._pg_ctl("start", "-w", "-t", str(int(START_TIMEOUT_S)), "-l", str(self.logfile), "-o", options)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- {self.logfile} ---\n{self.log_tail()}") from exc
        if first:
            import psycopg  # only needed once the server runs

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.database}"')

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (a service restart: sessions ended, clean shutdown) or ``immediate`` (a crash)."""
        if self._initialised and self.running:
            self._pg_ctl("stop", "-w", "-t", "60", "-m", mode)

    def restart(self, *, down_s: float = 0.0, mode: str = "fast") -> None:
        """Stop, stay down ``down_s`` seconds, start again on the same port."""
        self.stop(mode)
        time.sleep(down_s)
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        return _file_tail(self.logfile, lines)

    def close(self) -> None:
        """Stop the server if it runs (as a crash: nothing to keep) and remove the directory. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._initialised and self.running:
                self._pg_ctl("stop", "-w", "-t", "30", "-m", "immediate", check=False)
            self._kill_leftover_postmaster()
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            atexit.unregister(self.close)

    def _kill_leftover_postmaster(self) -> None:
        pidfile = self.datadir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PrivateRedis:
    """A private ``redis-server`` child process without persistence: ``start()``, ``stop()``, ``restart()``."""

    def __init__(self, *, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceMissing("redis-server is not installed")
        self.binary = binary
        self.port = port or free_port()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="diary-private-redis-"))
        self.logfile = self.tmpdir / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._closed = False
        atexit.register(self.close)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self._closed:
            raise RuntimeError("this PrivateRedis was closed")
        if self.running:
            return
        cmd = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", str(self.tmpdir), "--logfile", str(self.logfile),
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.log_tail()}")
            if self._ping():
                return
            time.sleep(0.05)
        self.stop(kill=True)
        raise RuntimeError(f"redis-server did not answer PING within {START_TIMEOUT_S:.0f} s")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (a service stop) or SIGKILL (a crash); waits until the port is closed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        deadline = time.monotonic() + 10
        while _port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self, *, down_s: float = 0.0, kill: bool = False) -> None:
        """Stop, stay down ``down_s`` seconds, start again (empty: nothing persisted) on the same port."""
        self.stop(kill=kill)
        time.sleep(down_s)
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        return _file_tail(self.logfile, lines)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.stop(kill=True)
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            atexit.unregister(self.close)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
