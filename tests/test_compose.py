"""docker-compose.yml, the Dockerfile and .dockerignore, checked without a Docker engine.

The files are read the way Compose and Docker read them (YAML with anchors and merge keys, Compose's
``${VAR:-default}`` interpolation, Dockerfile instructions with line continuations), and what they
name is checked against the code: the modules and the Celery app exist, the settings they select
load with the environment they pass, the files the build copies exist and are not ignored.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app

from backend.celery import app as project_app

ROOT = Path(__file__).resolve().parent.parent
APP = ("web", "worker", "beat")  # the long-running processes of the one image
ONE_SHOT = "migrate"
# What production.py refuses to start without (scanned from the file in the first test).
REQUIRED = {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"}
SECRET = "k3J9x!vQ2m#Lr8Zt@4bN7wYp$Hc6Fd1Ge5Sa0Ui-Oo_Pl+Kj=Mn"


# --- reading the files as Docker does ---------------------------------------------------------


class MissingVariable(Exception):
    pass


_VAR = re.compile(
    r"\$(?:(?P<dollar>\$)|\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))"
)


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable substitution: $$, $X, ${X}, ${X-d}, ${X:-d}, ${X?e}, ${X:?e}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        if m["dollar"]:
            return "$"
        name = m["name"] or m["bare"]
        op, arg, current = m["op"] or "", m["arg"] or "", env.get(name)
        unset = current is None or (op.startswith(":") and current == "")
        if op.endswith("?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        if op.endswith("-") and unset:
            return arg
        return current or ""

    return _VAR.sub(one, value)


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def service(name: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    raw = compose()["services"][name]
    assert isinstance(raw, dict)
    return raw if env is None else interpolate(raw, env)


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment", {})
    if isinstance(env, list):  # the KEY=value list form
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command(svc: dict[str, Any]) -> list[str]:
    cmd = svc.get("command")
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd or dockerfile_cmd())


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with comments dropped and continuation lines joined."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        instruction, _, args = full.partition(" ")
        steps.append((instruction.upper(), args.strip()))
    return steps


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, args in dockerfile():
        if instruction == "ENV":
            for assignment in shlex.split(args):
                key, _, value = assignment.partition("=")
                env[key] = value
    return env


def dockerfile_cmd() -> list[str]:
    cmds = [args for instruction, args in dockerfile() if instruction == "CMD"]
    assert cmds, "the Dockerfile has no CMD"
    parsed = json.loads(cmds[-1])  # exec form: signals reach the process, no shell in between
    assert isinstance(parsed, list)
    return [str(a) for a in parsed]


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context (last matching rule wins)."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            pattern = line.lstrip("!").strip("/")
            source = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*")
            source = source.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
            rules.append((re.compile(source + r"\Z"), negate))
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for regex, negate in rules:
        if any(regex.match(p) for p in prefixes):
            ignored = not negate
    return ignored


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def manage(args: list[str], env: Mapping[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """manage.py in a clean process with only ``env`` configuring it (nothing from the test run)."""
    base = {k: v for k, v in os.environ.items() if k not in {*REQUIRED, "DJANGO_SETTINGS_MODULE", "DEBUG"}}
    run_env = {**base, **env, "DIARY_VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=180
    )


# --- compose --------------------------------------------------------------------------------


def test_required_list_matches_what_production_settings_refuse_to_start_without() -> None:
    text = (ROOT / "backend" / "settings" / "production.py").read_text()
    scanned = set(re.findall(r'cfg\.required\("(\w+)"\)', text))
    scanned |= set(re.findall(r'cfg\.db_url\("(\w+)"\)', text))  # no default: required
    scanned |= set(re.findall(r"Configuration error in (\w+): this variable is required", text))
    assert scanned == REQUIRED


def test_services_exist_and_the_app_ones_share_one_image() -> None:
    services = compose()["services"]
    assert {"db", "redis", *APP, ONE_SHOT} <= set(services)
    assert service("db")["image"].startswith("postgres:16")
    assert service("redis")["image"].startswith("redis:7")
    builds = {json.dumps(service(name).get("build"), sort_keys=True) for name in (*APP, ONE_SHOT)}
    images = {service(name).get("image") for name in (*APP, ONE_SHOT)}
    assert len(builds) == 1 and len(images) == 1, (builds, images)
    build = service("web")["build"]
    context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile_name = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (context / dockerfile_name).resolve() == ROOT / "Dockerfile"


def test_db_and_redis_have_real_healthchecks() -> None:
    for name, probe in (("db", "pg_isready"), ("redis", "redis-cli")):
        check = service(name).get("healthcheck")
        assert check and not check.get("disable"), name
        test = check["test"]
        assert test[0] in {"CMD", "CMD-SHELL"} and probe in " ".join(test[1:]), (name, test)
        assert check.get("retries", 3) >= 3, name


def test_database_data_lives_on_a_declared_volume() -> None:
    mounts = [m.split(":") for m in service("db")["volumes"]]
    assert any(target == "/var/lib/postgresql/data" for _, target, *_ in mounts), mounts
    for source, *_ in mounts:
        if not source.startswith((".", "/")):
            assert source in (compose().get("volumes") or {}), f"volume {source} is not declared"


def test_app_processes_start_after_healthy_stores_and_a_finished_migration() -> None:
    for name in APP:
        deps = service(name).get("depends_on")
        assert isinstance(deps, dict), f"{name}: depends_on needs conditions, not just names"
        assert deps["db"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
        assert deps[ONE_SHOT]["condition"] == "service_completed_successfully", name
    migrate = service(ONE_SHOT)
    assert command(migrate)[:3] == ["python", "manage.py", "migrate"] and (ROOT / "manage.py").is_file()
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert migrate.get("restart", "no") == "no", "a one-shot that restarts never completes"


def test_every_variable_production_requires_reaches_every_app_container() -> None:
    for name in (*APP, ONE_SHOT):
        env = environment(service(name))
        assert env.get("DJANGO_SETTINGS_MODULE") == "backend.settings.production", name
        assert {k for k, v in env.items() if v.strip()} >= REQUIRED, (name, REQUIRED - set(env))


def test_the_secret_comes_from_the_environment_and_compose_refuses_to_start_without_it() -> None:
    raw = environment(service("web"))["DJANGO_SECRET_KEY"]
    assert raw.startswith("${DJANGO_SECRET_KEY:?"), "no secret may be written into the file"
    for env in ({}, {"DJANGO_SECRET_KEY": ""}):
        with pytest.raises(MissingVariable, match="DJANGO_SECRET_KEY"):
            service("web", env)
    assert environment(service("web", {"DJANGO_SECRET_KEY": SECRET}))["DJANGO_SECRET_KEY"] == SECRET


def test_urls_point_at_the_compose_services_with_the_databases_credentials() -> None:
    env = environment(service("web", {"DJANGO_SECRET_KEY": SECRET}))
    db_env = environment(service("db", {}))
    db = urllib.parse.urlsplit(env["DATABASE_URL"])
    assert (db.scheme, db.hostname, db.port or 5432) == ("postgres", "db", 5432)
    assert (db.username, db.password, db.path.lstrip("/")) == (
        db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"],
    )  # fmt: skip
    redis = urllib.parse.urlsplit(env["REDIS_URL"])
    assert (redis.scheme, redis.hostname, redis.port or 6379) == ("redis", "redis", 6379)


def test_published_store_ports_match_what_the_test_command_suggests() -> None:
    """scripts/dev.py test says: `docker compose up -d db redis` then DATABASE_URL=... ."""
    hint = re.search(r"DATABASE_URL=(postgres://\S+?)\)", (ROOT / "scripts" / "dev.py").read_text())
    assert hint, "scripts/dev.py no longer suggests a DATABASE_URL for the compose database"
    url = urllib.parse.urlsplit(hint.group(1))
    db_env = environment(service("db", {}))
    assert (url.username, url.password, url.path.lstrip("/")) == (
        db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"],
    )  # fmt: skip
    assert f"{url.hostname}:{url.port}:5432" in service("db", {})["ports"]
    redis_default = re.search(r'DEFAULT_TEST_REDIS = "(redis://[^"]+)"', (ROOT / "scripts" / "dev.py").read_text())
    assert redis_default, "scripts/dev.py no longer has a default test REDIS_URL"
    redis = urllib.parse.urlsplit(redis_default.group(1))
    assert f"{redis.hostname}:{redis.port}:6379" in service("redis", {})["ports"]


@pytest.mark.slow
def test_the_compose_environment_loads_the_production_settings(tmp_path: Path) -> None:
    shown = (
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['ENGINE'], d['HOST'], s.CELERY_BROKER_URL, s.SECURE_SSL_REDIRECT, s.DEBUG, ','.join(s.ALLOWED_HOSTS))"
    )
    envs = {json.dumps(environment(service(n, {"DJANGO_SECRET_KEY": SECRET})), sort_keys=True) for n in APP}
    for env in map(json.loads, envs):
        r = manage(["check"], env, tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
        r = manage(["shell", "-c", shown], env, tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
        engine, host, broker, ssl_redirect, debug, hosts = r.stdout.strip().splitlines()[-1].split()
        assert (engine, host, broker) == ("django.db.backends.postgresql", "db", "redis://redis:6379/0")
        assert (ssl_redirect, debug) == ("False", "False"), "local compose is plain HTTP, never DEBUG"
        assert {"localhost", "127.0.0.1"} <= set(hosts.split(","))


# --- commands ---------------------------------------------------------------------------------


def test_web_runs_gunicorn_on_the_wsgi_application_and_the_published_port() -> None:
    for cmd in (command(service("web")), dockerfile_cmd()):
        assert cmd[0] == "gunicorn", cmd
        target = next(a for a in cmd[1:] if ":" in a and not a.startswith("-") and "." in a)
        module_name, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module_name), attr or "application")), target
        bind = cmd[cmd.index("--bind") + 1]
        assert bind.startswith("0.0.0.0:"), "inside a container gunicorn must listen on every interface"
        port = bind.rsplit(":", 1)[1]
        assert any(str(p).endswith(f":{port}") for p in service("web", {"DJANGO_SECRET_KEY": SECRET})["ports"])
        assert ("EXPOSE", port) in dockerfile()


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_worker_and_beat_run_the_projects_celery_app(name: str) -> None:
    cmd = command(service(name))
    assert cmd[0] == "celery" and name in cmd, cmd
    app_name = cmd[cmd.index("-A") + 1] if "-A" in cmd else cmd[cmd.index("--app") + 1]
    app = find_app(app_name)  # exactly what `celery -A <name>` resolves
    assert isinstance(app, Celery) and app is project_app
    if name == "beat":
        app.loader.import_default_modules()
        schedule = app.conf.beat_schedule
        assert schedule, "beat has nothing to schedule"
        for entry in schedule.values():
            assert entry["task"] in app.tasks, f"beat schedules an unknown task {entry['task']}"
        # Beat writes its schedule file; the image's user may write only in the var dir it owns.
        var_dir = image_env()["DIARY_VAR_DIR"]
        schedule_file = cmd[cmd.index("-s") + 1] if "-s" in cmd else f"{var_dir}/celerybeat-schedule"
        assert Path(schedule_file).parent == Path(var_dir), schedule_file
        user = [args for instruction, args in dockerfile() if instruction == "USER"][-1]
        assert any(ins == "RUN" and re.search(rf"chown\s+{user}:\S+\s+{var_dir}\b", a) for ins, a in dockerfile())


def test_the_programs_the_commands_run_are_installed_by_the_lock_file() -> None:
    pins = lock_pins()
    programs = {command(service(n))[0] for n in (*APP, ONE_SHOT)} | {dockerfile_cmd()[0]}
    assert programs == {"gunicorn", "celery", "python"}, programs
    assert {"gunicorn", "celery", "django", "psycopg", "redis"} <= set(pins)


# --- Dockerfile and .dockerignore ---------------------------------------------------------------


def test_dockerfile_builds_from_the_lock_file_as_a_non_root_user() -> None:
    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    copies = [(i, shlex.split(args)) for i, (instruction, args) in enumerate(steps) if instruction == "COPY"]
    for _, args in copies:
        for source in (a for a in args[:-1] if not a.startswith("--")):
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert source == "." or not dockerignored(source), f"COPY {source}: excluded by .dockerignore"
    lock_copy = next(i for i, args in copies if "requirements.lock" in args[:-1])
    install = next(i for i, (ins, args) in enumerate(steps) if ins == "RUN" and "pip install" in args)
    pip_args = shlex.split(steps[install][1])
    assert "--no-cache-dir" in pip_args and pip_args[pip_args.index("-r") + 1] == "requirements.lock"
    code_copy = next(i for i, args in copies if args[:-1] == ["."])
    assert lock_copy < install < code_copy, "install the lock before copying the code (layer cache)"
    users = [args for instruction, args in steps if instruction == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the service must not run as root"
    user_at = max(i for i, (instruction, _) in enumerate(steps) if instruction == "USER")
    assert not any(ins == "RUN" for ins, _ in steps[user_at:]), "RUN after USER would need root"


def test_dockerignore_keeps_local_state_out_and_the_code_in() -> None:
    for path in (".venv/bin/python", "var/diary.sqlite3", "var/broker/queue/x.msg", ".git/HEAD", ".env"):
        assert dockerignored(path), f"{path} would be sent into the image"
    needed = [
        "requirements.lock",
        "manage.py",
        "backend/wsgi.py",
        "backend/celery.py",
        "backend/settings/production.py",
    ]
    needed += [p.relative_to(ROOT).as_posix() for pkg in ("diary", "reminders") for p in (ROOT / pkg).rglob("*.py")]
    needed += ["backend/templates", "diary/migrations/__init__.py"]
    for path in needed:
        if (ROOT / path).exists():
            assert not dockerignored(path), f"{path} is needed in the image but .dockerignore drops it"


@pytest.mark.slow
def test_dockerfile_collectstatic_step_runs_with_its_build_time_values(tmp_path: Path) -> None:
    steps = dockerfile()
    baked = image_env()
    assert baked.get("DJANGO_SETTINGS_MODULE") == "backend.settings.production"
    run = next(args for instruction, args in steps if instruction == "RUN" and "collectstatic" in args)
    words = shlex.split(run.split("&&")[0])
    assignments = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=\S*", w))
    program = [w for w in words if not re.fullmatch(r"[A-Z_]+=\S*", w)]
    assert program[:3] == ["python", "manage.py", "collectstatic"], program
    assert set(assignments) >= REQUIRED, "collectstatic imports the production settings: give it every required value"
    r = manage(program[2:], {**baked, **assignments}, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    static = tmp_path / "static"
    assert (static / "admin" / "css" / "base.css").is_file(), "the admin's files were not collected"
    assert any(static.rglob("*.css.gz")), "WhiteNoise's compressed copies are missing"
