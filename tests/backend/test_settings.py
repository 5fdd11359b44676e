"""Configuration: production passes `check --deploy`; a missing or malformed value names itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production",
    "DJANGO_SECRET_KEY": "k3J9x!vQ2m#Lr8Zt@4bN7wYp$Hc6Fd1Ge5Sa0Ui-Oo_Pl+Kj=Mn",
    "DATABASE_URL": "postgres://diary:secret@db.internal:5432/diary",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "ALLOWED_HOSTS": "diary.example.org",
    "EMAIL_URL": "smtp+tls://diary%40example.org:app%20password@smtp.example.org:587",
    "DEFAULT_FROM_EMAIL": "Spasm diary <noreply@diary.example.org>",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_passes_check_deploy_with_no_warnings() -> None:
    r = manage("check", "--deploy", "--fail-level", "WARNING", env=GOOD)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout


@pytest.mark.parametrize(
    "name", ["DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "EMAIL_URL", "DEFAULT_FROM_EMAIL"]
)
def test_missing_required_value_fails_naming_it(name: str) -> None:
    env = {k: v for k, v in GOOD.items() if k != name}
    r = manage("check", env=env)
    assert r.returncode != 0
    assert f"Configuration error in {name}" in r.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysqlx://db/diary"),
        ("REDIS_URL", "http://redis:6379"),
        ("DJANGO_SECRET_KEY", "short"),
        ("DEBUG", "maybe"),
        ("DB_CONN_MAX_AGE", "forever"),
        ("ALLOWED_HOSTS", "a host/with slash"),
        ("LOG_FORMAT", "xml"),
        ("EMAIL_URL", "smtp.example.org:587"),
        ("EMAIL_URL", "pop3://mail.example.org"),
        ("EMAIL_URL", "smtp+tls://user:pass@:587"),
        ("EMAIL_URL", "consolemail://"),  # production sends real mail
        ("EMAIL_URL", "console://"),
        ("EMAIL_URL", "memorymail://"),
        ("EMAIL_TIMEOUT", "0"),
        ("DEFAULT_FROM_EMAIL", "noreply"),
    ],
)
def test_malformed_value_fails_naming_it(name: str, value: str) -> None:
    r = manage("check", env={**GOOD, name: value})
    assert r.returncode != 0
    assert f"Configuration error in {name}" in r.stderr, r.stderr[-2000:]


def test_embedded_default_needs_nothing(tmp_path: Path) -> None:
    """With no configuration at all: SQLite in the var dir and the filesystem broker."""
    r = manage(
        "shell", "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, "
        "s.DATABASES['default']['OPTIONS']['transaction_mode'])",
        env={"DIARY_VAR_DIR": str(tmp_path)},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1].split() == ["django.db.backends.sqlite3", "filesystem://", "IMMEDIATE"]


def _mail_settings(env: dict[str, str]) -> dict[str, object]:
    names = "EMAIL_BACKEND EMAIL_HOST EMAIL_PORT EMAIL_HOST_USER EMAIL_HOST_PASSWORD EMAIL_USE_TLS EMAIL_USE_SSL"
    code = f"import json; from django.conf import settings as s; print(json.dumps({{n: getattr(s, n) for n in {names.split()!r}}}))"
    r = manage("shell", "-c", code + "; print(s.EMAIL_TIMEOUT, s.SERVER_EMAIL, sep='|')", env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    first, second = r.stdout.strip().splitlines()[-2:]
    return {**json.loads(first), "rest": second}


def test_production_mail_comes_from_one_url_with_a_timeout() -> None:
    mail = _mail_settings(GOOD)
    assert mail == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "smtp.example.org",
        "EMAIL_PORT": 587, "EMAIL_HOST_USER": "diary@example.org", "EMAIL_HOST_PASSWORD": "app password",
        "EMAIL_USE_TLS": True, "EMAIL_USE_SSL": False, "rest": "10|Spasm diary <noreply@diary.example.org>",
    }  # fmt: skip
    implicit = _mail_settings({**GOOD, "EMAIL_URL": "smtp+ssl://u:p@smtp.example.org", "EMAIL_TIMEOUT": "3"})
    assert (implicit["EMAIL_PORT"], implicit["EMAIL_USE_SSL"], implicit["EMAIL_USE_TLS"]) == (465, True, False)
    assert str(implicit["rest"]).startswith("3|")


def test_the_embedded_default_prints_mail_and_accepts_console_as_its_name(tmp_path: Path) -> None:
    for url in ("", "console://", "consolemail://"):
        env = {"DIARY_VAR_DIR": str(tmp_path), **({"EMAIL_URL": url} if url else {})}
        assert _mail_settings(env)["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
