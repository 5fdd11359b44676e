"""docker-compose.yml checked without a Docker engine: what it names exists in the code (the modules,
the Celery app, the settings it selects load with the environment it passes), the processes start in
the right order, urgent work has a worker of its own, and web, the workers and beat have health checks
that mean something."""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from celery import Celery
from celery.app.utils import find_app
from django.conf import settings

from backend.celery import app as project_app
from scripts import dev
from tests.packaging.files import (
    APP,
    ONE_SHOT,
    REQUIRED,
    ROOT,
    SECRET,
    SHELL_ENV,
    MissingVariable,
    command,
    compose,
    dockerfile,
    dockerfile_cmd,
    environment,
    final_stage,
    image_env,
    lock_pins,
    manage,
    service,
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
    assert environment(service("web", SHELL_ENV))["DJANGO_SECRET_KEY"] == SECRET


def test_compose_refuses_to_start_without_a_mail_server_or_a_sender() -> None:
    for name in ("EMAIL_URL", "DEFAULT_FROM_EMAIL"):
        assert environment(service("web"))[name].startswith(f"${{{name}:?"), name
        with pytest.raises(MissingVariable, match=name):
            service("web", {k: v for k, v in SHELL_ENV.items() if k != name})


def test_urls_point_at_the_compose_services_with_the_databases_credentials() -> None:
    env = environment(service("web", SHELL_ENV))
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
    envs = {json.dumps(environment(service(n, SHELL_ENV)), sort_keys=True) for n in APP}
    for env in map(json.loads, envs):
        r = manage(["check"], env, tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
        r = manage(["shell", "-c", shown], env, tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
        engine, host, broker, ssl_redirect, debug, hosts = r.stdout.strip().splitlines()[-1].split()
        assert (engine, host, broker) == ("backend.postgresql", "db", "redis://redis:6379/0")
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
        assert any(str(p).endswith(f":{port}") for p in service("web", SHELL_ENV)["ports"])
        assert ("EXPOSE", port) in dockerfile()


@pytest.mark.parametrize("name", ["worker-alerts", "worker", "beat"])
def test_workers_and_beat_run_the_projects_celery_app(name: str) -> None:
    cmd = command(service(name))
    assert cmd[0] == "celery" and name.split("-")[0] in cmd, cmd
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


def queues_of(cmd: list[str]) -> set[str]:
    """The queues a ``celery worker`` command consumes (-Q/--queues; every declared one without)."""
    for flag in ("-Q", "--queues"):
        if flag in cmd:
            return set(cmd[cmd.index(flag) + 1].split(","))
    return {q.name for q in project_app.conf.task_queues}


def test_urgent_work_has_a_worker_of_its_own_and_the_general_worker_takes_every_other_queue() -> None:
    """Issue 18 item 5: red-flag evaluation and urgent pushes never wait behind insights runs, reminders
    or nightly work: one worker consumes only the alerts queue, the other every other queue, and
    together they consume every queue the app publishes to (a queue nobody consumed would fill up)."""
    urgent = queues_of(command(service("worker-alerts")))
    general = queues_of(command(service("worker")))
    assert urgent == {settings.URGENT_QUEUE}, urgent
    assert settings.URGENT_QUEUE not in general, general
    declared = {q.name for q in project_app.conf.task_queues}
    assert urgent | general == declared, (urgent, general, declared)
    # Beat's jobs and the nightly fan-out publish to queues the general worker consumes.
    beat_queues = {entry["options"]["queue"] for entry in project_app.conf.beat_schedule.values()}
    routed = {route["queue"] for route in project_app.conf.task_routes.values()}
    assert beat_queues | routed <= general, (beat_queues, routed)


def test_dev_run_starts_the_same_two_workers_as_compose() -> None:
    """``scripts/dev.py run`` (the embedded default) splits the work the way docker-compose.yml does."""
    procs = dev.processes("127.0.0.1", 8000, ROOT / "var")
    workers = [cmd for cmd in procs.values() if "worker" in cmd]
    assert sorted(map(frozenset, map(queues_of, workers)), key=len) == [
        frozenset(queues_of(command(service("worker-alerts")))),
        frozenset(queues_of(command(service("worker")))),
    ]


def test_the_general_worker_yields_the_cpu_to_requests_and_urgent_work() -> None:
    """Compose gives the general worker a lower CPU weight than web and the alerts worker (Docker's
    default is 1024), and ``dev.py run`` a positive niceness, so that under full load requests and
    red flags go first (measured with bench/load.py; README, Load)."""
    weight = {name: service(name).get("cpu_shares", 1024) for name in ("web", "worker-alerts", "worker")}
    assert weight["worker"] < min(weight["web"], weight["worker-alerts"]), weight
    assert set(dev.NICE) == {"worker"} and dev.NICE["worker"] > 0
    assert "worker" in dev.processes("127.0.0.1", 8000, ROOT / "var")


def test_lower_priority_reaches_a_process_in_a_session_of_its_own() -> None:
    """A worker started with ``start_new_session`` (as dev.py run and bench/load.py start them) gets the
    niceness, and so do the children it forks later; with sched_autogroup on, its session's autogroup
    gets it too (a process's own nice only weighs inside its session there)."""
    # The child forks its own child a second after it starts, after the niceness is set (as a prefork pool does).
    code = (
        "import subprocess, sys, time; time.sleep(1.0); "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        dev.lower_priority(proc.pid, 7)
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == 7
        autogroup = Path(f"/proc/{proc.pid}/autogroup")
        if autogroup.exists():
            assert autogroup.read_text().split()[-2:] == ["nice", "7"], autogroup.read_text()
        deadline = time.monotonic() + 10
        children: list[int] = []
        while time.monotonic() < deadline and not children:
            children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
            time.sleep(0.05)
        assert children and all(os.getpriority(os.PRIO_PROCESS, c) == 7 for c in children)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_the_programs_the_commands_run_are_installed_by_the_lock_file() -> None:
    pins = lock_pins()
    programs = {command(service(n))[0] for n in (*APP, ONE_SHOT)} | {dockerfile_cmd()[0]}
    assert programs == {"gunicorn", "celery", "python"}, programs
    assert {"gunicorn", "celery", "django", "psycopg", "redis"} <= set(pins)


# --- health checks -------------------------------------------------------------------------------


def healthcheck(name: str) -> list[str]:
    check = service(name, SHELL_ENV).get("healthcheck")
    assert check and not check.get("disable"), f"{name} has no health check"
    test = check["test"]
    assert test[0] in {"CMD", "CMD-SHELL"}, test
    assert check.get("retries", 3) >= 2 and check.get("timeout"), (name, check)
    return shlex.split(test[1]) if test[0] == "CMD-SHELL" else list(test[1:])


def test_web_health_check_is_the_images_healthz_probe() -> None:
    assert healthcheck("web") == json.loads(
        next(a for i, a in final_stage() if i == "HEALTHCHECK").partition("CMD ")[2]
    )


@pytest.mark.parametrize(
    ("name", "default_node"), [("worker-alerts", "celery"), ("worker", "celery"), ("beat", "celerybeat")]
)
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
