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
import time
import tomllib
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


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's build stages, each from its FROM on; the last one is the image that runs."""
    found: list[list[tuple[str, str]]] = []
    for step in dockerfile():
        if step[0] == "FROM":
            found.append([])
        assert found, "the Dockerfile must start with FROM"
        found[-1].append(step)
    return found


def final_stage() -> list[tuple[str, str]]:
    return stages()[-1]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, args in final_stage():
        if instruction == "ENV":
            for assignment in shlex.split(args):
                key, _, value = assignment.partition("=")
                env[key] = value
    return env


def dockerfile_cmd() -> list[str]:
    cmds = [args for instruction, args in final_stage() if instruction == "CMD"]
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


def norm(name: str) -> str:
    """A distribution's canonical name (PEP 503): Django, django_filter and fhir.resources alike."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries(name: str = "requirements.lock") -> dict[str, tuple[str, list[str]]]:
    """{canonical name: (version, [sha256 hashes])} from a pip-compile lock (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / name).read_text())
    entries: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})*)", line)
        assert m, f"{name}: not a pinned, hashed requirement: {line[:120]}"
        entries[norm(m[1])] = (m[2], re.findall(r"sha256:([0-9a-f]{64})", m[3]))
    return entries


def lock_pins(name: str = "requirements.lock") -> dict[str, str]:
    return {k: version for k, (version, _) in lock_entries(name).items()}


def declared(extra: str | None = None) -> dict[str, str]:
    """pyproject.toml's pins: [project] dependencies, or one optional-dependencies group."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    pins = {}
    for req in reqs:
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^]]*\])?==(\S+)", req.replace(" ", ""))
        assert m, f"pyproject.toml: {req} is not pinned with =="
        pins[norm(m[1])] = m[2]
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


def test_dockerfile_builds_in_stages_from_the_runtime_lock_and_runs_as_a_non_root_user() -> None:
    build, *_, final = stages()
    assert len(stages()) >= 2, "multi-stage: dependencies are installed in a build stage"
    bases = {args.split()[0] for args in (stage[0][1] for stage in stages())}
    assert bases == {"python:3.11-slim"}, f"one base image, so the copied virtualenv's python resolves: {bases}"
    stage_name = build[0][1].split()[-1]
    assert build[0][1].split()[1].upper() == "AS", build[0]
    for _, args in (step for stage in stages() for step in stage if step[0] == "COPY"):
        words = shlex.split(args)
        for source in (a for a in words[:-1] if not a.startswith("--")):
            if any(w.startswith("--from=") for w in words):
                continue
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert source == "." or not dockerignored(source), f"COPY {source}: excluded by .dockerignore"
    # The build stage installs requirements.lock, hash-checked, nothing more.
    installs = [shlex.split(args) for ins, args in build if ins == "RUN" and re.search(r"\bpip\b.*\binstall\b", args)]
    assert len(installs) == 1, installs
    pip_args = installs[0]
    assert Path(pip_args[pip_args.index("-r") + 1]).name == "requirements.lock"
    assert {"--require-hashes", "--no-deps", "--no-cache-dir"} <= set(pip_args), pip_args
    venv = pip_args[pip_args.index("--python") + 1].rsplit("/bin/", 1)[0]
    assert any(ins == "RUN" and re.search(rf"venv --without-pip {venv}\b", a) for ins, a in build)
    # The image that runs copies that virtualenv, installs nothing itself and never sees the dev lock.
    assert ("COPY", f"--from={stage_name} {venv} {venv}") in final
    assert not any(ins == "RUN" and re.search(r"\bpip\b", a) for ins, a in final), "pip install in the final stage"
    assert f"PATH={venv}/bin:$PATH" in shlex.split(next(a for ins, a in final if ins == "ENV" and "PATH=" in a))
    assert not any("requirements-dev" in args for _, args in dockerfile()), "the dev lock in the image"
    assert dockerignored("requirements-dev.lock"), "the dev lock must not even enter the build context"
    steps = final
    code_copy = next(i for i, (ins, args) in enumerate(steps) if ins == "COPY" and shlex.split(args)[:-1] == ["."])
    venv_copy = next(i for i, (ins, args) in enumerate(steps) if ins == "COPY" and "--from=" in args)
    assert venv_copy < code_copy, "dependencies before the code (layer cache)"
    users = [args for instruction, args in steps if instruction == "USER"]
    assert users and users[-1] not in {"root", "0"} and not users[-1].startswith(("root:", "0:")), users
    user_at = max(i for i, (instruction, _) in enumerate(steps) if instruction == "USER")
    assert not any(ins == "RUN" for ins, _ in steps[user_at:]), "RUN after USER would need root"
    assert re.search(rf"useradd\b.*--uid (\d+)\b.*\b{users[-1]}$", next(a for i, a in steps if "useradd" in a))


def test_the_image_probes_healthz_with_the_standard_library() -> None:
    checks = [args for instruction, args in final_stage() if instruction == "HEALTHCHECK"]
    assert len(checks) == 1, "the image needs exactly one HEALTHCHECK"
    options, _, cmd = checks[0].partition("CMD ")
    probe = json.loads(cmd)
    assert probe == ["python", "backend/healthcheck.py"], probe
    assert not dockerignored(probe[1])
    for option in ("--interval=", "--timeout=", "--retries="):
        assert option in options, f"HEALTHCHECK {option} left to Docker's default"
    source = (ROOT / probe[1]).read_text()
    imported = {m.split(".")[0] for m in re.findall(r"^(?:import|from) (\S+)", source, re.MULTILINE)}
    assert imported <= set(sys.stdlib_module_names), f"no curl, no Django: standard library only ({imported})"
    assert "/healthz" in source


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


# --- health checks -------------------------------------------------------------------------------


def healthcheck(name: str) -> list[str]:
    check = service(name, {"DJANGO_SECRET_KEY": SECRET}).get("healthcheck")
    assert check and not check.get("disable"), f"{name} has no health check"
    test = check["test"]
    assert test[0] in {"CMD", "CMD-SHELL"}, test
    assert check.get("retries", 3) >= 2 and check.get("timeout"), (name, check)
    return shlex.split(test[1]) if test[0] == "CMD-SHELL" else list(test[1:])


def test_web_health_check_is_the_images_healthz_probe() -> None:
    assert healthcheck("web") == json.loads(
        next(a for i, a in final_stage() if i == "HEALTHCHECK").partition("CMD ")[2]
    )


@pytest.mark.parametrize(("name", "default_node"), [("worker", "celery"), ("beat", "celerybeat")])
def test_worker_and_beat_health_checks_ping_their_own_node(name: str, default_node: str) -> None:
    """``celery inspect ping -d <node>``: the node name the command gives itself, with Compose's
    ``$$HOSTNAME`` (escaped: the container's, not the host's) for Celery's ``%h``."""
    probe = healthcheck(name)
    assert probe[:5] == ["celery", "-A", "backend", "inspect", "ping"], probe
    cmd = command(service(name))
    node = cmd[cmd.index("-n") + 1] if "-n" in cmd else f"{default_node}@%h"
    assert probe[probe.index("-d") + 1] == node.replace("%h", "$HOSTNAME"), (probe, node)
    assert "-t" in probe or "--timeout" in probe, "a ping without a timeout waits for Celery's default"
    if name == "beat":
        # beat answers only with remote control on, and stops answering when its loop stalls for
        # twice --max-interval: that is what makes the ping mean something.
        assert "--enable-remote-control" in cmd, cmd
        assert int(cmd[cmd.index("--max-interval") + 1]) <= 60, cmd
        interval = int(re.sub(r"s$", "", str(service(name)["healthcheck"]["interval"])))
        assert interval <= 2 * int(cmd[cmd.index("--max-interval") + 1])


def test_the_one_shot_migrate_does_not_inherit_the_web_probe() -> None:
    assert service(ONE_SHOT).get("healthcheck", {}).get("disable") is True


# --- locks -----------------------------------------------------------------------------------

DEV_TOOLS = {"pytest", "pytest-django", "hypothesis", "locust", "mypy", "ruff", "bandit", "pip-audit",
             "schemathesis", "django-stubs", "pip-tools", "import-linter", "aiosmtpd", "time-machine"}  # fmt: skip


def test_both_locks_pin_every_package_with_hashes() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        entries = lock_entries(name)  # fails on any line that is not name==version --hash=...
        assert len(entries) > 30, name
        assert all(hashes for _, hashes in entries.values()), [k for k, (_, h) in entries.items() if not h]
        text = (ROOT / name).read_text()
        assert not re.search(r"^\s*-(?:e|-editable|-index-url|-extra-index-url|-find-links|f|i)\b", text, re.M), name
        assert "file://" not in text, f"{name} names a path of this machine"


def test_runtime_lock_is_runtime_only_and_the_dev_lock_adds_to_it_at_the_same_pins() -> None:
    runtime, dev = lock_entries(), lock_entries("requirements-dev.lock")
    assert not (DEV_TOOLS | set(declared("dev"))) & set(runtime), "dev tools in the runtime lock"
    assert set(dev) >= DEV_TOOLS
    for name, (version, hashes) in runtime.items():
        assert name in dev, f"{name} is in the runtime lock but not the dev lock"
        assert dev[name][0] == version, f"{name}: {version} at run time, {dev[name][0]} in development"
        assert set(dev[name][1]) == set(hashes), name


def test_every_pyproject_pin_is_locked_at_its_version() -> None:
    runtime, dev = lock_pins(), lock_pins("requirements-dev.lock")
    for pins, lock, lock_name in ((declared(), runtime, "requirements.lock"),
                                  (declared("dev"), dev, "requirements-dev.lock")):  # fmt: skip
        for name, version in pins.items():
            assert lock.get(name) == version, (
                f"pyproject.toml pins {name}=={version}, {lock_name} has {lock.get(name)}: run python3 scripts/dev.py lock"
            )
    assert {"gunicorn", "celery", "django", "psycopg", "redis", "whitenoise"} <= set(runtime)


def test_every_third_party_module_the_service_imports_is_a_declared_runtime_dependency() -> None:
    """An import of a package that only arrives as someone else's dependency (py_vapid through
    pywebpush) breaks the day that someone drops it; the service's own imports are declared."""
    import ast
    import importlib.metadata

    providers = importlib.metadata.packages_distributions()
    runtime = set(declared())
    missing = {}
    for package in ("backend", "diary", "reminders"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for top in {n.split(".")[0] for n in names}:
                    if top in sys.stdlib_module_names or (ROOT / top).is_dir():
                        continue
                    dists = {norm(d) for d in providers.get(top, [])}
                    if not dists & runtime:
                        missing[top] = f"{path.relative_to(ROOT)} (from {sorted(dists) or 'nowhere'})"
    assert not missing, f"imported but not in pyproject.toml [project] dependencies: {missing}"


# Declared ahead of the code that uses them, on purpose: aiosmtpd, a real SMTP server on loopback for
# the mail tests of the next issue; import-linter, for the layer contracts ([tool.importlinter]) that
# land separately. Take each out of this set once it is used.
RESERVED_DEV_TOOLS = {"aiosmtpd", "import-linter"}


def test_the_declared_dev_tools_are_used() -> None:
    """factory-boy and pytest-xdist sat in [dev] unused; a tool in the list is imported or run somewhere."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    tool_config = pyproject[pyproject.index("[tool.") :]  # the tools' settings, not the dependency lists
    sources = "\n".join(
        [tool_config]
        + [p.read_text(errors="replace") for p in [*ROOT.glob(".ci/*"), *ROOT.glob("Makefile")]]
        + [
            p.read_text(errors="replace")
            for d in ("tests", "bench", "scripts")
            for p in (ROOT / d).rglob("*.py")
            if p != Path(__file__).resolve()  # this file names them all
        ]
    )
    uses = {"pytest-django": "pytest_django|DJANGO_SETTINGS_MODULE", "django-stubs": "mypy_django_plugin",
            "djangorestframework-stubs": "mypy_drf_plugin", "types-requests": "import requests",
            "pip-tools": "piptools", "import-linter": "importlinter|lint-imports", "time-machine": "time_machine",
            "pip-audit": "pip-audit", "aiosmtpd": "aiosmtpd"}  # fmt: skip
    for name in set(declared("dev")) - RESERVED_DEV_TOOLS:
        pattern = uses.get(name, re.escape(name.replace("-", "_")))
        assert re.search(pattern, sources), f"{name} is declared in [dev] and used nowhere"


# --- gunicorn ----------------------------------------------------------------------------------

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


def test_gunicorn_config_has_no_access_log_and_a_format_without_query_strings() -> None:
    from gunicorn.config import Config

    cfg = Config()
    namespace: dict[str, Any] = {"__file__": str(GUNICORN_CONF)}
    exec(compile(GUNICORN_CONF.read_text(), str(GUNICORN_CONF), "exec"), namespace)  # noqa: S102 (our file)
    for key, value in namespace.items():
        if key in cfg.settings:
            cfg.set(key, value)  # gunicorn's own validation of every setting the file makes
    assert cfg.accesslog is None, "gunicorn's access log is off: the app writes its own (backend/logs.py)"
    fmt = cfg.access_log_format
    atoms = set(re.findall(r"%\((\w+)\)s", fmt))
    assert atoms <= {"m", "U", "s", "M", "D", "L", "T"}, f"{fmt}: only method, path, status and time"
    assert not {"r", "q", "f", "a", "u", "h"} & atoms  # request line, query, referer, agent, user, address


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


def _serve(port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """gunicorn as the image runs it (the config file, one sync worker) on loopback, test settings."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings.test", "DATABASE_URL": _database_url(),
           "PYTHONUNBUFFERED": "1", "LOG_FORMAT": "json"}  # fmt: skip
    env.pop("GUNICORN_CMD_ARGS", None)
    cmd = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "backend.wsgi:application",
           "--bind", f"127.0.0.1:{port}", "--workers", "1", *extra]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        if b" 200 OK" in _try(port, b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n"):
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
def test_the_image_health_probe_passes_against_gunicorn_and_fails_without_it(tmp_path: Path) -> None:
    probe = json.loads(next(a for i, a in final_stage() if i == "HEALTHCHECK").partition("CMD ")[2])
    probe = [sys.executable if probe[0] == "python" else probe[0], *probe[1:]]
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ALLOWED_HOSTS"}
    proc = _serve(port, tmp_path / "gunicorn.log")
    try:
        up = subprocess.run(probe, cwd=ROOT, env={**env, "PORT": str(port)}, capture_output=True, text=True, timeout=30)
    finally:
        _stop(proc)
    assert up.returncode == 0 and up.stdout.startswith("200 "), up
    down = subprocess.run(probe, cwd=ROOT, env={**env, "PORT": str(port)}, capture_output=True, text=True, timeout=30)
    assert down.returncode == 1 and "unreachable" in down.stdout, down
