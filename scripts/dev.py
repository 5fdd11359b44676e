#!/usr/bin/env python3
"""The two quick-start commands (and a few helpers), with nothing but Python 3.11 installed.

    python3 scripts/dev.py run     # embedded default: SQLite + filesystem broker, web, workers, beat
    python3 scripts/dev.py test    # the whole suite on PostgreSQL and Redis, then the core flows on SQLite
    python3 scripts/dev.py lint    # ruff, mypy, migrations, bandit and pip-audit
    python3 scripts/dev.py lock    # re-pin requirements.lock and requirements-dev.lock from pyproject.toml

Standard library only: it has to run before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes.util
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
# Two hashed lock files from pyproject.toml (python3 scripts/dev.py lock): requirements.lock is what
# runs (the Docker image installs it), requirements-dev.lock adds the test, lint and load tools at the
# same runtime pins. The virtualenv here gets the dev lock.
LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
STAMP = VENV / ".requirements.sha256"

DEMO_PATIENT = ("demo@example.com", "demo-diary-2026")
DEMO_CLINICIAN = ("clinician@example.com", "clinician-demo-2026")
DEFAULT_TEST_DB = "postgres://postgres@127.0.0.1:5432/diary"
DEFAULT_TEST_REDIS = "redis://127.0.0.1:6379/15"


def say(msg: str) -> None:
    print(f"[dev] {msg}", flush=True)


def ensure_venv() -> None:
    """Create .venv and install requirements-dev.lock (every file checked against its hash); reinstall
    only when a lock changes. Packages the lock no longer names are removed (pip-sync), so a test can
    never pass on a dependency that production would not have declared."""
    if sys.version_info < (3, 11):  # noqa: UP036 (runs under whatever python3 the machine has)
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]})")
    if not PY.exists():
        say(f"creating virtualenv in {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    digest = hashlib.sha256(LOCK.read_bytes() + DEV_LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    say(f"installing pinned dependencies ({DEV_LOCK.name})")
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--require-hashes", "-r", str(DEV_LOCK)], check=True)
    subprocess.run(
        [str(PY), "-m", "piptools", "sync", "-q", "--pip-args", "--require-hashes", str(DEV_LOCK)], check=True
    )
    STAMP.write_text(digest)


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(PY), "manage.py", *args], cwd=ROOT, env=env, check=True)


# --- run ------------------------------------------------------------------------------------


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class Child:
    """One process of the run (web, worker or beat), started again when it dies.

    A child that crashed after running a while comes back after a second; one that keeps dying at
    once waits twice as long each time (up to a minute), so a broken configuration shows its error
    without a busy loop."""

    STEADY_SECONDS = 60.0  # ran this long: the next crash is a new problem, not the same one again
    MAX_DELAY = 60.0

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], nice: int = 0) -> None:
        self.name, self.cmd, self.env, self.nice = name, cmd, env, nice
        self.restarts = 0
        self.quick_failures = 0
        self.restart_at: float | None = None
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        self.started = time.monotonic()
        proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, start_new_session=True)
        if self.nice:
            lower_priority(proc.pid, self.nice)
        return proc

    def check(self) -> None:
        """Notice a death (and schedule the restart), or restart when its back-off has passed."""
        now = time.monotonic()
        if self.restart_at is None:
            if self.proc.poll() is None:
                return
            ran = now - self.started
            self.quick_failures = 0 if ran >= self.STEADY_SECONDS else self.quick_failures + 1
            delay = min(self.MAX_DELAY, 2.0 ** max(0, self.quick_failures - 1))
            self.restart_at = now + delay
            say(
                f"{self.name} exited with code {self.proc.returncode} after {ran:.0f} s; restarting it in {delay:.0f} s"
            )
        elif now >= self.restart_at:
            self.restart_at = None
            self.restarts += 1
            self.proc = self._start()
            say(f"{self.name} restarted (pid {self.proc.pid}, restart {self.restarts})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # the main process only: Celery then stops its pool children itself

    def wait(self, deadline: float) -> None:
        try:
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


# The Celery queues (backend/celery.py): urgent work has a worker of its own, as in docker-compose.yml,
# so a red flag's evaluation and push never wait behind insights runs or a backlog of wake-ups.
URGENT_QUEUES = "alerts"
GENERAL_QUEUES = "periodic,celery,batch"
# The general worker yields the CPU to requests and urgent work when they compete for it (idle CPU is
# still all its own): bench.load at 100 requests/s on 2 cores kept writes and sync under 70 ms at p99
# with it, against 0.7-1.7 s at equal priority, and its queues drained as fast. docker-compose.yml
# gives it the same lower weight (cpu_shares).
NICE = {"worker": 10}


def lower_priority(pid: int, nice: int) -> None:
    """Give ``pid``'s process group the niceness ``nice`` (pool children forked later inherit it), and
    its session's autogroup too: with sched_autogroup on (most desktop and many server kernels), the
    scheduler first shares the CPU between sessions and a process's own nice weighs only inside its
    session, so a worker started in a session of its own kept its full share at any nice. Raising a
    niceness needs no privilege; a kernel without autogroups has no such file. Best effort: a system
    that refuses either (a read-only /proc) runs the worker at the same priority, never fails the run."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PGRP, pid, nice)
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


def processes(host: str, port: int, var: Path) -> dict[str, list[str]]:
    """What `run` starts: web, the urgent worker, the general worker and beat."""
    celery = [str(PY), "-m", "celery", "-A", "backend"]
    return {
        "web": [str(PY), "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "alerts worker": [
            *celery,
            "worker",
            "-l",
            "info",
            "-Q",
            URGENT_QUEUES,
            "--concurrency",
            "1",
            "-n",
            "alerts@%h",
        ],
        "worker": [*celery, "worker", "-l", "info", "-Q", GENERAL_QUEUES, "--concurrency", "2", "-n", "worker@%h"],
        "beat": [*celery, "beat", "-l", "info", "-s", str(var / "celerybeat-schedule")],
    }


def cmd_run(args: argparse.Namespace) -> int:
    ensure_venv()
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.base")
    env.setdefault("DEBUG", "1")
    env.setdefault("LOG_FORMAT", "plain")  # a terminal; production and CI log JSON lines
    env.setdefault("PYTHONUNBUFFERED", "1")
    # runserver starts a thread per request; a persistent connection per thread would outlive it
    # (four busy clients opened 75 PostgreSQL connections). Closed after each request instead, the
    # connections in use are at most the requests in flight plus the worker's and beat's.
    env.setdefault("DB_CONN_MAX_AGE", "0")
    var = Path(env.setdefault("DIARY_VAR_DIR", str(ROOT / "var")))
    var.mkdir(parents=True, exist_ok=True)
    if not port_free(args.host, args.port):
        say(f"port {args.port} is taken; pass --port N")
        return 2
    base = f"http://{args.host}:{args.port}"
    env.setdefault("PUBLIC_BASE_URL", base)

    say("migrating the database")
    manage("migrate", "--noinput", "-v0", env=env)
    if not args.no_demo:
        say("loading demo data (90 days)")
        manage("seed_demo", env=env)

    children = [Child(name, cmd, env, NICE.get(name, 0)) for name, cmd in processes(args.host, args.port, var).items()]

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stopping:
        if not port_free(args.host, args.port):
            break
        if any(c.proc.poll() is not None for c in children):
            break
        time.sleep(0.2)
    if not stopping and all(c.proc.poll() is None for c in children):
        print(
            f"""
  Spasm diary is running (embedded default: SQLite at {var / "diary.sqlite3"}, filesystem broker).

    API docs     {base}/api/docs/
    OpenAPI      {base}/api/schema/
    Web sign-in  {base}/accounts/login/
    Admin        {base}/admin/

    Demo person     {DEMO_PATIENT[0]} / {DEMO_PATIENT[1]}
    Demo clinician  {DEMO_CLINICIAN[0]} / {DEMO_CLINICIAN[1]}  (also admin)

  Try:  curl -s -X POST {base}/api/v1/auth/token -H 'Content-Type: application/json' \\
          -d '{{"email": "{DEMO_PATIENT[0]}", "password": "{DEMO_PATIENT[1]}"}}'

  Press Ctrl-C to stop web, the workers and beat.
""",
            flush=True,
        )

    while not stopping:
        for child in children:
            child.check()
        time.sleep(0.3)

    say("stopping web, the workers and beat")
    for child in children:
        child.stop()
    end = time.monotonic() + 15
    for child in children:
        child.wait(end)
    return 0


# --- test -----------------------------------------------------------------------------------


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(host: str, port: int, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if reachable(host, port):
            return True
        time.sleep(0.3)
    return False


def ensure_postgres(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    if reachable(host, port):
        return
    etc = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") and etc.is_dir():
        for version in sorted(os.listdir(etc)):
            say(f"PostgreSQL is down; starting cluster {version}/main")
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
        if wait_for(host, port, 30):
            return
    sys.exit(
        f"PostgreSQL is not reachable at {host}:{port} and could not be started here.\n"
        "Start one with:  DJANGO_SECRET_KEY=unused docker compose up -d db redis\n"
        "                 (then DATABASE_URL=postgres://diary:diary@127.0.0.1:5432/diary)\n"
        "or install it:   apt-get install postgresql   (trust auth for 127.0.0.1, or set DATABASE_URL)."
    )


def ensure_redis(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if reachable(host, port):
        return
    if shutil.which("redis-server"):
        say("Redis is down; starting redis-server")
        logdir = Path("/var/log/redis") if os.access("/var/log", os.W_OK) else Path("/tmp")
        logdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", str(port),
             "--save", "", "--appendonly", "no", "--logfile", str(logdir / "ci.log")],
            check=False,
        )  # fmt: skip
        if wait_for(host, port, 15):
            return
    sys.exit(
        f"Redis is not reachable at {host}:{port} and could not be started here.\n"
        "Start one with:  DJANGO_SECRET_KEY=unused docker compose up -d db redis\n"
        "or install it:   apt-get install redis-server"
    )


# Debian packages the tests drive: command -> package.
TEST_TOOLS = {"pdftoppm": "poppler-utils", "pdftotext": "poppler-utils", "chromium": "chromium"}
# Shared libraries, as ctypes.util.find_library names them -> package. WeasyPrint subsets fonts with
# HarfBuzz when it finds this one (as in the Docker image), else with fontTools, about 0.4 s slower a PDF.
TEST_LIBRARIES = {"harfbuzz-subset": "libharfbuzz-subset0"}


def ensure_tools() -> None:
    """Install the tools the tests drive if missing: poppler-utils (the PDF is rendered with pdftoppm)
    and Debian's Chromium (the browser test; Playwright's own browser download does not work here)."""
    missing = sorted({pkg for cmd, pkg in TEST_TOOLS.items() if shutil.which(cmd) is None}
                     | {pkg for lib, pkg in TEST_LIBRARIES.items() if ctypes.util.find_library(lib) is None})  # fmt: skip
    if not missing:
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        say(f"installing {', '.join(missing)} (apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", "-q", *missing], env=env, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", "-q", *missing], env=env, check=False)
    still = sorted({pkg for cmd, pkg in TEST_TOOLS.items() if shutil.which(cmd) is None})
    if still:
        sys.exit(f"the tests need {', '.join(still)}: install with  apt-get install {' '.join(still)}")


def cmd_test(args: argparse.Namespace) -> int:
    ensure_venv()
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "backend.settings.test"
    env.setdefault("DATABASE_URL", DEFAULT_TEST_DB)
    env.setdefault("REDIS_URL", DEFAULT_TEST_REDIS)
    env.pop("CELERY_BROKER_URL", None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    ensure_postgres(env["DATABASE_URL"])
    ensure_redis(env["REDIS_URL"])
    ensure_tools()
    say(f"running tests on {env['DATABASE_URL']} and {env['REDIS_URL']}")
    code = subprocess.run([str(PY), "-m", "pytest", *args.pytest_args], cwd=ROOT, env=env).returncode
    return code or sqlite_pass(args.pytest_args)


# The core flows (REST writes, sync push and pull, red flags, reminder dispatch, insights) run a second
# time on SQLite, where the embedded default runs, so every `connection.vendor` branch is exercised.
# Tests marked `postgresql` or `redis` need those servers (they say why).
SQLITE_SUITE = ["tests/diary", "tests/reminders", "tests/accounts"]


def sqlite_pass(pytest_args: list[str]) -> int:
    """The SQLite pass: a fresh var dir, no PostgreSQL, no Redis (the filesystem broker and a local
    cache, as in the embedded default). Options given to `test` apply here too; naming tests skips it."""
    if any((ROOT / a.split("::")[0]).exists() for a in pytest_args if not a.startswith("-")):
        say("tests were named: the SQLite pass is skipped")
        return 0
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    with tempfile.TemporaryDirectory(prefix="diary-sqlite-") as var:
        env.update(DJANGO_SETTINGS_MODULE="backend.settings.test", PYTHONUNBUFFERED="1", DIARY_VAR_DIR=var)
        env["DATABASE_URL"] = f"sqlite:///{var}/diary.sqlite3"
        say(f"running the core flows again on SQLite ({' '.join(SQLITE_SUITE)}), without Redis")
        cmd = [str(PY), "-m", "pytest", *pytest_args, "-m", "not slow and not postgresql and not redis", *SQLITE_SUITE]
        code = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    if code == 5 and not pytest_args:  # nothing collected: the pass would prove nothing
        say("the SQLite pass collected no tests")
    return 0 if code == 5 and pytest_args else code


def cmd_lint(args: argparse.Namespace) -> int:
    ensure_venv()
    # Lint needs no server: the embedded SQLite default is enough for mypy's plugin and makemigrations.
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env["DJANGO_SETTINGS_MODULE"] = "backend.settings.test"
    steps = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
        # One-way dependencies between layers ([tool.importlinter] in pyproject.toml).
        [str(BIN / "lint-imports")],
        [str(PY), "manage.py", "makemigrations", "--check", "--dry-run"],
        # Security lint of the application code (configured in pyproject.toml [tool.bandit]).
        [str(BIN / "bandit"), "-q", "-c", "pyproject.toml", "-r", "backend", "diary", "reminders"],
    ]
    for step in steps:
        say(" ".join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step)))
        if subprocess.run(step, cwd=ROOT, env=env).returncode != 0:
            return 1
    return audit()


UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out")


def audit() -> int:
    """pip-audit of both pinned trees (runtime and dev; hashed, so no resolution is needed) against
    OSV (PIP_AUDIT_OSV_URL names a mirror). A known vulnerability fails. A machine that cannot reach any
    vulnerability service (a closed CI network) cannot audit: that is said loudly, and fails only when
    PIP_AUDIT_REQUIRED=1."""
    cmd = [str(BIN / "pip-audit"), "-r", str(LOCK), "-r", str(DEV_LOCK), "--require-hashes", "--disable-pip",
           "--strict", "--progress-spinner", "off", "-s", "osv", "--timeout", "15"]  # fmt: skip
    if os.environ.get("PIP_AUDIT_OSV_URL"):
        cmd += ["--osv-url", os.environ["PIP_AUDIT_OSV_URL"]]
    say(f"pip-audit -r {LOCK.name} -r {DEV_LOCK.name} -s osv")
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    output = done.stdout + done.stderr
    if done.returncode == 0 and "Traceback" not in output:
        print(done.stdout.strip() or "No known vulnerabilities found", flush=True)
        return 0
    if any(sign in output for sign in UNREACHABLE):
        say("pip-audit: NOT AUDITED - no vulnerability service is reachable from this machine (OSV).")
        say("  Run `python3 scripts/dev.py lint` where api.osv.dev is reachable, or set PIP_AUDIT_OSV_URL.")
        return 1 if os.environ.get("PIP_AUDIT_REQUIRED") == "1" else 0
    print(output, flush=True)
    return 1


# pip-compile's options for both locks: hashes for every file; pip and setuptools pinned too (pip-tools
# needs them, and --require-hashes refuses an unpinned one); no index or find-links lines (they name this
# machine's package sources, not the project's); no extras in the pins.
COMPILE = ["--quiet", "--generate-hashes", "--allow-unsafe", "--no-emit-index-url", "--no-emit-find-links",
           "--strip-extras"]  # fmt: skip


def cmd_lock(args: argparse.Namespace) -> int:
    """Re-pin both locks from pyproject.toml with pip-compile. A pin already in a lock is kept while it
    still satisfies pyproject.toml (--upgrade re-resolves everything to the newest allowed). The dev
    lock is resolved with the runtime lock as a constraint, so both pin every shared package alike."""
    ensure_venv()  # pip-tools is a dev dependency
    env = {**os.environ, "CUSTOM_COMPILE_COMMAND": "python3 scripts/dev.py lock"}
    compile_ = [str(PY), "-m", "piptools", "compile", *COMPILE, *(["--upgrade"] if args.upgrade else [])]
    runs = [
        [*compile_, "pyproject.toml", "-o", LOCK.name],
        [*compile_, "pyproject.toml", "--extra", "dev", "-c", LOCK.name, "-o", DEV_LOCK.name],
    ]
    for cmd in runs:
        say(f"pip-compile -> {cmd[-1]}")
        if subprocess.run(cmd, cwd=ROOT, env=env).returncode != 0:
            return 1
    say(f"wrote {LOCK.name} (runtime) and {DEV_LOCK.name} (runtime + dev tools)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run the service on its embedded default")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--no-demo", action="store_true", help="skip loading the demo data")
    run.set_defaults(fn=cmd_run)
    test = sub.add_parser("test", help="run the test suite on PostgreSQL and Redis, then the core flows on SQLite")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(fn=cmd_test)
    sub.add_parser("lint", help="ruff, mypy, migrations check, bandit, pip-audit").set_defaults(fn=cmd_lint)
    lock = sub.add_parser("lock", help="re-pin requirements.lock and requirements-dev.lock")
    lock.add_argument("--upgrade", action="store_true", help="re-resolve every pin to the newest allowed")
    lock.set_defaults(fn=cmd_lock)
    args = parser.parse_args()
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
