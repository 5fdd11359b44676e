"""The production shape on loopback: gunicorn, a Celery worker and Celery beat for one database and one Redis.

    with Stack(database_url="postgres://postgres@127.0.0.1:5432/diary_loadbench",
               redis_url="redis://127.0.0.1:6379/11") as stack:
        stack.migrate()
        stack.start()          # each start waits until that process is ready
        ...                    # stack.base_url, stack.kill_worker(), stack.stop_web(), ...
    # leaving the block stops everything (also on an exception or Ctrl-C)

Every process runs from the repository root with the virtualenv's python, in its own process group
(so a signal reaches a worker's pool children too), logging to ``web.log``, ``worker.log`` and
``beat.log`` in ``logdir``, where beat also keeps its schedule and pid files.

Settings: ``backend.settings.production`` (what the image and docker-compose.yml run) with
``SECURE_SSL_REDIRECT=false``, as docker-compose.yml runs it for plain HTTP: DEBUG off, persistent
database connections, Argon2, the real throttles. ``env`` overrides any of it (another settings module,
VAPID keys, ``GUNICORN_CMD_ARGS`` for the worker class, ...). The effective environment is ``Stack.env``;
its ``DJANGO_SECRET_KEY`` is the one to sign JWTs with in the calling process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from celery import Celery

from tests.support.services import free_port
from tests.support.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
# Signals after which the worker is expected to exit (kill_worker waits for it); others (SIGSTOP,
# SIGCONT, SIGUSR1, ...) are only delivered.
_TERMINATING = {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT}


class _Proc:
    """One child process in its own process group, its output appended to a log file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self.log_offset = log.stat().st_size if log.exists() else 0  # where this start's output begins
        self._out: IO[bytes] = log.open("ab")
        self.popen = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._out,
                                      stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        with self.log.open("rb") as f:
            f.seek(self.log_offset)
            return f.read().decode(errors="replace")

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def wait(self, timeout: float) -> bool:
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM to the group, then SIGKILL to whatever of the group is left."""
        if self.alive:
            self.signal_group(signal.SIGTERM)
            if not self.wait(timeout):
                self.signal_group(signal.SIGKILL)
                self.wait(10)
        self.signal_group(signal.SIGKILL)  # orphaned pool children, if the main process went first
        self._out.close()

    def fail(self, why: str) -> RuntimeError:
        tail = "\n".join(self.output().splitlines()[-30:])
        return RuntimeError(f"{self.name}: {why}; log {self.log}:\n{tail}")


class Stack:
    """gunicorn + Celery worker + Celery beat for one database and one Redis, on loopback."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        port: int = 0,  # 0: pick a free port
        web_workers: int = 4,
        worker_concurrency: int = 2,
        # As docker-compose.yml: an alerts-only worker (``urgent_queues``) beside the general one
        # (``worker_queues``); empty: one worker consuming every queue.
        worker_queues: Sequence[str] = (),
        urgent_queues: Sequence[str] = (),
        env: dict[str, str] | None = None,  # extra environment (e.g. VAPID keys, PUSH_ALLOW_LOOPBACK_ENDPOINTS)
        logdir: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.web_workers, self.worker_concurrency = web_workers, worker_concurrency
        self.worker_queues, self.urgent_queues = list(worker_queues), list(urgent_queues)
        self.logdir = Path(logdir) if logdir is not None else Path(tempfile.mkdtemp(prefix="diary-stack-"))
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.env: dict[str, str] = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backend.settings.production",
            "SECURE_SSL_REDIRECT": "false",
            "DEBUG": "false",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PUBLIC_BASE_URL": self.base_url,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": "ignore:No directory at",  # whitenoise: no collectstatic on this checkout
            "DEFAULT_FROM_EMAIL": "Spasm diary <noreply@stack.invalid>",
            **(env or {}),
        }
        # Production sends mail by SMTP only: unless ``env`` names a server, a loopback one (aiosmtpd)
        # takes it, kept in ``self.smtp.messages``.
        self.smtp: SmtpServer | None = None
        if "EMAIL_URL" not in (env or {}):
            self.smtp = SmtpServer()
            self.smtp.start()
            self.env["EMAIL_URL"] = self.smtp.url
        self.web: _Proc | None = None
        self.worker: _Proc | None = None
        self.urgent: _Proc | None = None  # the alerts-only worker (urgent_worker=True)
        self.beat: _Proc | None = None
        atexit.register(self.stop)

    # --- one-shot ------------------------------------------------------------------------------

    def migrate(self) -> None:
        done = subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"migrate failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    # --- all at once -------------------------------------------------------------------------

    def start(self, *, web: bool = True, worker: bool = True, beat: bool = True) -> None:
        if self.smtp is not None:
            self.smtp.start()  # again, after a stop()
        try:
            if worker:
                self.start_worker()
            if web:
                self.start_web()
            if beat:
                self.start_beat()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Everything: beat first (no new work), then web, then the worker. Idempotent."""
        self.stop_beat()
        self.stop_web()
        for proc in (self.worker, self.urgent):
            if proc is not None:
                proc.stop()
        self.worker = self.urgent = None
        if self.smtp is not None:
            self.smtp.stop()

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- web ----------------------------------------------------------------------------------

    def start_web(self) -> None:
        if self.web is not None and self.web.alive:
            raise RuntimeError("web is already running")
        cmd = [PYTHON, "-m", "gunicorn", "--config", str(ROOT / "backend" / "gunicorn.conf.py"),
               "backend.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
               "--workers", str(self.web_workers), "--graceful-timeout", "10", "--log-level", "warning"]  # fmt: skip
        self.web = _Proc("web", cmd, self.env, self.logdir / "web.log")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.web.alive:
                raise self.web.fail("gunicorn exited at start-up")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as resp:  # noqa: S310 (loopback)
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass  # not listening yet, or 503 while the broker or database is not there
            time.sleep(0.1)
        raise self.web.fail(f"/healthz did not answer 200 within {READY_TIMEOUT_S:g} s")

    def stop_web(self) -> None:
        if self.web is not None:
            self.web.stop()
            self.web = None

    # --- worker -------------------------------------------------------------------------------

    def start_worker(self) -> None:
        """Start a prefork worker and wait until it consumes (it answers ``celery inspect ping``). With
        ``urgent_queues``, as docker-compose.yml: a worker consuming only those (``self.urgent``, prefork 2)
        starts beside it, unless it runs already."""
        if self.worker is not None and self.worker.alive:
            raise RuntimeError("the worker is already running")
        if self.worker is not None:  # killed earlier: reap what is left of its group
            self.worker.stop()
        queues = ["-Q", ",".join(self.worker_queues)] if self.worker_queues else []
        if self.urgent_queues and (self.urgent is None or not self.urgent.alive):
            options = ["-Q", ",".join(self.urgent_queues), "--concurrency", "2"]
            self.urgent = self._worker("urgent", options, "worker-alerts.log")
        self.worker = self._worker("stack", [*queues, "--concurrency", str(self.worker_concurrency)], "worker.log")

    def _worker(self, prefix: str, options: list[str], log: str) -> _Proc:
        node = f"{prefix}{self.port}@{socket.gethostname()}"
        cmd = [PYTHON, "-m", "celery", "-A", "backend", "worker", "-l", "INFO", "-P", "prefork", *options, "-n", node]
        proc = _Proc("worker", cmd, self.env, self.logdir / log)
        # Ready = it answers a ping over the broker (its "ready." log line depends on the log level).
        control = Celery(broker=self.env["CELERY_BROKER_URL"]).control
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not proc.alive:
                raise proc.fail("exited at start-up")
            with contextlib.suppress(Exception):  # the broker may refuse while the worker connects
                if control.ping(destination=[node], timeout=0.5):
                    return proc
            time.sleep(0.2)
        raise proc.fail(f"no answer to a ping within {READY_TIMEOUT_S:g} s")

    def kill_worker(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the worker's whole process group (the pool children too). For SIGKILL,
        SIGTERM, SIGINT and SIGQUIT, wait until the worker has exited (SIGKILL after STOP_TIMEOUT_S)."""
        if self.worker is None:
            return
        self.worker.signal_group(sig)
        if sig in _TERMINATING:
            if not self.worker.wait(STOP_TIMEOUT_S):
                self.worker.signal_group(signal.SIGKILL)
                self.worker.wait(10)
            self.worker.signal_group(signal.SIGKILL)  # pool children left behind by a warm shutdown

    # --- beat ---------------------------------------------------------------------------------

    def start_beat(self) -> None:
        if self.beat is not None and self.beat.alive:
            raise RuntimeError("beat is already running")
        cmd = [PYTHON, "-m", "celery", "-A", "backend", "beat", "-l", "INFO",
               "-s", str(self.logdir / "celerybeat-schedule"), "--pidfile", str(self.logdir / "beat.pid")]  # fmt: skip
        pidfile = self.logdir / "beat.pid"
        pidfile.unlink(missing_ok=True)
        self.beat = _Proc("beat", cmd, self.env, self.logdir / "beat.log")
        # Ready = it wrote its pid file, which it does right before its scheduler starts (its "Starting..."
        # log line depends on the log level).
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                if int(pidfile.read_text().strip()) == self.beat.popen.pid:
                    return
            if not self.beat.alive:
                raise self.beat.fail("exited at start-up")
            time.sleep(0.1)
        raise self.beat.fail(f"no pid file within {READY_TIMEOUT_S:g} s")

    def stop_beat(self) -> None:
        if self.beat is not None:
            self.beat.stop()
            self.beat = None


if __name__ == "__main__":  # a manual check: start everything, print the URL, stop on Enter
    with Stack(database_url=sys.argv[1], redis_url=sys.argv[2]) as s:
        s.migrate()
        s.start()
        print(f"{s.base_url} (logs in {s.logdir}); Enter stops it")
        input()
