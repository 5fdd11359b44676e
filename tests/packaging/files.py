"""The packaging files read the way their tools read them, without a Docker engine: docker-compose.yml
(YAML with anchors and merge keys, Compose's ``${VAR:-default}`` interpolation), the Dockerfile
(instructions with line continuations, build stages), .dockerignore (last matching rule wins), the
hashed lock files (pip-compile's format) and pyproject.toml's pins. Used by the tests beside it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP = ("web", "worker-alerts", "worker", "beat")  # the long-running processes of the one image
ONE_SHOT = "migrate"
# What production.py refuses to start without (scanned from the file in the first test).
REQUIRED = {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "EMAIL_URL", "DEFAULT_FROM_EMAIL"}
SECRET = "k3J9x!vQ2m#Lr8Zt@4bN7wYp$Hc6Fd1Ge5Sa0Ui-Oo_Pl+Kj=Mn"
# What `docker compose up` needs from the shell: the variables compose refuses to start without.
SHELL_ENV = {
    "DJANGO_SECRET_KEY": SECRET,
    "EMAIL_URL": "smtp+tls://diary:secret@smtp.example.org:587",
    "DEFAULT_FROM_EMAIL": "Spasm diary <noreply@diary.example.org>",
}


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
