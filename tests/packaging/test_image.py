"""The Dockerfile and .dockerignore checked without a Docker engine: a build stage installs the hashed
runtime lock and nothing else, the image that runs copies it, runs as a non-root user, probes /healthz,
and its collectstatic step really runs with the values it is given."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.packaging.files import (
    REQUIRED,
    ROOT,
    dockerfile,
    dockerignored,
    final_stage,
    image_env,
    manage,
    stages,
)


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
