"""Reading configuration from the environment with errors that name the variable.

django-environ does the parsing; this wrapper turns its exceptions (and a missing value where one
is required) into ``ImproperlyConfigured`` messages that say which variable is wrong and why, so a
bad deployment fails at start-up with a sentence an operator can act on.
"""

from __future__ import annotations

import zoneinfo
from email.utils import parseaddr
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

_MISSING = object()
POSTGRESQL = "django.db.backends.postgresql"
SUPPORTED_ENGINES = {POSTGRESQL, "django.db.backends.sqlite3"}


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
    if engine == POSTGRESQL:
        config["ENGINE"] = "backend.postgresql"  # Django's, health-checking only idle connections
    return dict(config)


# django-environ's mail schemes, by what they do: smtp+ssl:// is TLS from the first byte (port 465);
# smtp+tls:// and smtps:// both mean STARTTLS (port 587) in django-environ; smtp:// is plain (a relay
# on the same host); consolemail:// prints mail (development only). ``console://`` is accepted as
# another name for consolemail://.
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
_SMTP_DEFAULT_PORTS = {"smtp": 25, "smtps": 587, "smtp+tls": 587, "smtp+ssl": 465}
_MAIL_HINT = "use smtp+tls://user:password@host:587, smtp+ssl://user:password@host:465 or consolemail://"


def email_url(name: str, default: Any = _MISSING) -> dict[str, Any]:
    """The ``EMAIL_*`` settings the mail URL in variable ``name`` implies (``email_config``)."""
    raw = env.str(name, default="")
    if not raw:
        if default is _MISSING:
            raise _fail(name, "this variable is required and is not set")
        raw = default
    return email_config(raw, name=name)


def email_config(raw: str, *, name: str = "EMAIL_URL") -> dict[str, Any]:
    """The ``EMAIL_*`` settings one mail URL implies (backend, host, port, user, password, TLS or SSL)."""
    scheme, sep, rest = raw.partition("://")
    if scheme == "console":
        scheme, raw = "consolemail", f"consolemail://{rest}"
    if not sep or scheme not in environ.Env.EMAIL_SCHEMES:
        raise _fail(name, f"not a mail URL ({scheme!r}); {_MAIL_HINT}")
    try:
        config = environ.Env.email_url_config(raw)
    except Exception as exc:  # bad port, bad quoting
        raise _fail(name, f"not a mail URL ({exc}); {_MAIL_HINT}") from exc
    if config["EMAIL_BACKEND"] == SMTP_BACKEND and not config["EMAIL_HOST"]:
        raise _fail(name, "the URL names no SMTP host")
    return {
        "EMAIL_BACKEND": config["EMAIL_BACKEND"],
        "EMAIL_HOST": config["EMAIL_HOST"] or "localhost",
        "EMAIL_PORT": config["EMAIL_PORT"] or _SMTP_DEFAULT_PORTS.get(scheme, 25),
        "EMAIL_HOST_USER": config["EMAIL_HOST_USER"] or "",
        "EMAIL_HOST_PASSWORD": config["EMAIL_HOST_PASSWORD"] or "",
        "EMAIL_USE_TLS": bool(config.get("EMAIL_USE_TLS", False)),
        "EMAIL_USE_SSL": bool(config.get("EMAIL_USE_SSL", False)),
    }


def email_address(name: str, default: Any = _MISSING) -> str:
    """A sender such as ``Spasm diary <noreply@diary.example.org>``."""
    raw = env.str(name, default="")
    if not raw.strip():
        if default is _MISSING:
            raise _fail(name, "this variable is required and is not set")
        raw = default
    _, address = parseaddr(raw)
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise _fail(name, f"expected an email address such as 'Spasm diary <noreply@example.org>', got {raw!r}")
    return raw


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
