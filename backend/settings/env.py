"""Reading configuration from the environment with errors that name the variable.

django-environ does the parsing; this wrapper turns its exceptions (and a missing value where one
is required) into ``ImproperlyConfigured`` messages that say which variable is wrong and why, so a
bad deployment fails at start-up with a sentence an operator can act on.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

_MISSING = object()
SUPPORTED_ENGINES = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}


def _fail(name: str, reason: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Configuration error in {name}: {reason}")


def required(name: str) -> str:
    value = env.str(name, default="")
    if not value.strip():
        raise _fail(name, "this variable is required and is not set")
    return value


def db_url(name: str, default: Any = _MISSING) -> dict[str, Any]:
    raw = env.str(name, default="")
    if not raw:
        if default is _MISSING:
            raise _fail(name, "this variable is required and is not set")
        raw = default
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise _fail(name, f"not a database URL ({exc})") from exc
    engine = config.get("ENGINE", "")
    if engine not in SUPPORTED_ENGINES:
        scheme = raw.split(":", 1)[0]
        raise _fail(name, f"unsupported database scheme {scheme!r}; use postgres:// (production) or sqlite:///path")
    if "sqlite" not in engine and not config.get("NAME"):
        raise _fail(name, "the URL names no database")
    return dict(config)


def boolean(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise _fail(name, f"expected a boolean (true/false/1/0), got {raw!r}")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise _fail(name, f"expected an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise _fail(name, f"must be at least {minimum}, got {value}")
    return value


def choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.str(name, default="") or default
    if value not in choices:
        raise _fail(name, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


def url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    raw = env.str(name, default="") or default
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in schemes:
        raise _fail(name, f"expected a URL with scheme {' or '.join(schemes)}, got {raw!r}")
    return raw


def host_list(name: str, default: list[str]) -> list[str]:
    raw = env.str(name, default="")
    if not raw:
        return default
    hosts = [h.strip() for h in raw.split(",") if h.strip()]
    for host in hosts:
        if " " in host or "/" in host:
            raise _fail(name, f"{host!r} is not a host name")
    return hosts


def zone(name: str, default: str) -> str:
    raw = env.str(name, default="") or default
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise _fail(name, f"{raw!r} is not an IANA time zone") from exc
    return raw
