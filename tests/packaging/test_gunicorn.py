"""gunicorn's config file (backend/gunicorn.conf.py): every command uses it, its access log is off or
without query strings, and gunicorn started with it on loopback logs no query string, not even for a
request line it refuses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.packaging.files import (
    ROOT,
    SHELL_ENV,
    command,
    dockerfile_cmd,
    environment,
    final_stage,
    service,
)

GUNICORN_CONF = ROOT / "backend" / "gunicorn.conf.py"
MARK = "SPASMMARK7"  # a health-data stand-in: never in a log line


def test_every_gunicorn_command_uses_the_config_file_and_none_turns_the_access_log_back_on() -> None:
    cmds = [command(service("web")), dockerfile_cmd()]
    stack = ROOT / "tests" / "support" / "stack.py"
    if stack.exists():
        cmds.append(["gunicorn", *re.findall(r'"(--[a-z-]+)"', stack.read_text())])
    for cmd in cmds:
        assert "--config" in cmd or "-c" in cmd, cmd
        assert "--access-logfile" not in cmd and "--access-logformat" not in cmd, cmd
    for cmd in cmds[:2]:
        assert ROOT / cmd[cmd.index("--config") + 1] == GUNICORN_CONF
    if stack.exists():
        assert 'str(ROOT / "backend" / "gunicorn.conf.py")' in stack.read_text()


def _config() -> Any:
    from gunicorn.config import Config

    cfg = Config()
    namespace: dict[str, Any] = {"__file__": str(GUNICORN_CONF)}
    exec(compile(GUNICORN_CONF.read_text(), str(GUNICORN_CONF), "exec"), namespace)  # noqa: S102 (our file)
    for key, value in namespace.items():
        if key in cfg.settings:
            cfg.set(key, value)  # gunicorn's own validation of every setting the file makes
    return cfg


def test_gunicorn_config_has_no_access_log_and_a_format_without_query_strings() -> None:
    cfg = _config()
    assert cfg.accesslog is None, "gunicorn's access log is off: the app writes its own (backend/logs.py)"
    fmt = cfg.access_log_format
    atoms = set(re.findall(r"%\((\w+)\)s", fmt))
    assert atoms <= {"m", "U", "s", "M", "D", "L", "T"}, f"{fmt}: only method, path, status and time"
    assert not {"r", "q", "f", "a", "u", "h"} & atoms  # request line, query, referer, agent, user, address


def test_gunicorn_config_serves_requests_on_threads_and_keeps_connections_alive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = _config()
    assert (cfg.worker_class_str, cfg.threads, cfg.keepalive) == ("gthread", 4, 5)
    monkeypatch.setenv("WEB_THREADS", "8")  # as docker-compose.yml passes it
    assert _config().threads == 8
    web = service("web")
    assert str(environment(web)["WEB_THREADS"]).endswith("4}") and "WEB_CONCURRENCY" in environment(web)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _raw(port: int, request: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _serve(port: int, log: Path, *extra: str, settings: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """gunicorn as the image runs it (the config file, one worker of its threads) on loopback; test settings
    unless ``settings`` gives others."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings.test", "DATABASE_URL": _database_url(),
           "PYTHONUNBUFFERED": "1", "LOG_FORMAT": "json", **(settings or {})}  # fmt: skip
    env.pop("GUNICORN_CMD_ARGS", None)
    cmd = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "backend.wsgi:application",
           "--bind", f"127.0.0.1:{port}", "--workers", "1", *extra]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        if _try(port, b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n").startswith(b"HTTP/"):
            return proc
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"gunicorn did not answer /healthz: {log.read_text()[-3000:]}")


def _try(port: int, request: bytes) -> bytes:
    try:
        return _raw(port, request)
    except OSError:
        return b""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("access_log", [False, True], ids=["as-configured", "access-log-turned-on"])
def test_gunicorn_with_its_config_never_logs_a_query_string(tmp_path: Path, access_log: bool) -> None:
    """The config file for real: gunicorn answers requests whose query strings carry a marker, one of
    them a request line gunicorn itself rejects (its error log names the URI), and the marker appears
    in none of its output, while the app's own access line for each request does. Turned on from the
    command line, gunicorn's access log has the reduced format: method, path, status, time."""
    port, log = _free_port(), tmp_path / "gunicorn.log"
    proc = _serve(port, log, *(["--access-logfile", "-"] if access_log else []))
    try:
        ok = _raw(port, f"GET /healthz?has_symptom={MARK} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        assert ok.startswith(b"HTTP/1.0 200"), ok[:300]
        refused = _raw(port, f"GET /api/v1/episodes/?has_symptom={MARK} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        assert refused.startswith(b"HTTP/1.0 401"), refused[:300]
        # A control character in the target: gunicorn refuses the line and logs it, query string included.
        broken = _raw(port, f"GET /healthz?has_symptom={MARK}\x01 HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        assert broken.startswith(b"HTTP/1.1 400"), broken[:300]
    finally:
        _stop(proc)
    output = log.read_text()
    assert MARK not in output, [line for line in output.splitlines() if MARK in line]
    app_lines = [
        json.loads(line) for line in output.splitlines() if line.startswith("{") and '"backend.access"' in line
    ]
    assert {(entry["view"], entry["status"]) for entry in app_lines} >= {("healthz", 200)}, output[-3000:]
    assert "Invalid request from ip=127.0.0.1: Invalid HTTP request line: 'GET /healthz" in output, output[-3000:]
    gunicorn_access = [line for line in output.splitlines() if re.fullmatch(r"GET /\S* \d{3} \d+ms", line)]
    if access_log:
        assert "GET /healthz 200" in "\n".join(gunicorn_access), output[-3000:]
        assert "GET /api/v1/episodes/ 401" in "\n".join(gunicorn_access), output[-3000:]
    else:
        assert not gunicorn_access, gunicorn_access


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("settings", ["test", "production"])
def test_the_image_health_probe_passes_against_gunicorn_and_fails_without_it(tmp_path: Path, settings: str) -> None:
    """Production answers only its ALLOWED_HOSTS and redirects plain HTTP: the probe asks as the TLS
    proxy would (the first allowed host, X-Forwarded-Proto), where a bare request gets a 400."""
    probe = json.loads(next(a for i, a in final_stage() if i == "HEALTHCHECK").partition("CMD ")[2])
    probe = [sys.executable if probe[0] == "python" else probe[0], *probe[1:]]
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ALLOWED_HOSTS"}
    production = {
        **environment(service("web", SHELL_ENV)),
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "ALLOWED_HOSTS": ".diary.example.org,other.example.org",
        "SECURE_SSL_REDIRECT": "true",
        "DIARY_VAR_DIR": str(tmp_path),
    }
    chosen = production if settings == "production" else {}
    proc = _serve(port, tmp_path / "gunicorn.log", settings=chosen)
    try:
        probe_env = {**env, **chosen, "PORT": str(port)}
        up = subprocess.run(probe, cwd=ROOT, env=probe_env, capture_output=True, text=True, timeout=30)
        bare = _raw(port, b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
    finally:
        _stop(proc)
    assert up.returncode == 0 and up.stdout.startswith("200 "), (up, (tmp_path / "gunicorn.log").read_text()[-3000:])
    assert bare.startswith(b"HTTP/1.0 400" if settings == "production" else b"HTTP/1.0 200"), bare[:200]
    down = subprocess.run(probe, cwd=ROOT, env=probe_env, capture_output=True, text=True, timeout=30)
    assert down.returncode == 1 and "unreachable" in down.stdout, down


@pytest.mark.slow
@pytest.mark.django_db
def test_one_worker_keeps_a_phones_connection_open_and_serves_others_meanwhile(tmp_path: Path) -> None:
    """A phone's pull and push go over one connection: the worker answers both on it and keeps it open
    (a sync worker closes it after every answer), and while that connection waits, idle, for the
    phone's next request, the same single worker answers somebody else."""
    import http.client

    port, log = _free_port(), tmp_path / "gunicorn.log"
    proc = _serve(port, log)
    try:
        phone = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        phone.request("GET", "/healthz")
        first = phone.getresponse()
        first.read()
        sock = phone.sock
        assert first.status == 200 and not first.will_close, first.getheaders()
        other = _raw(port, b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")  # the phone's connection idles
        assert other.startswith(b"HTTP/1.0 200"), other[:300]
        phone.request("GET", "/api/v1/episodes")
        second = phone.getresponse()
        second.read()
        assert second.status == 401 and phone.sock is sock  # the same connection, answered
        phone.close()
    finally:
        _stop(proc)
