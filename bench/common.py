"""What every benchmark needs once Django is set up: the bench database, created and migrated."""

from __future__ import annotations

import sys

import psycopg
from django.conf import settings
from django.core.management import call_command
from psycopg import sql
from psycopg.conninfo import make_conninfo


def conninfo(dbname: str) -> str:
    """A psycopg connection string to ``dbname`` on the configured server, with its credentials."""
    db = settings.DATABASES["default"]
    return make_conninfo(
        dbname=dbname, host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"] or None,
        password=db["PASSWORD"] or None,
    )  # fmt: skip


def ensure_database() -> None:
    """Refuse anything but a PostgreSQL *bench* database; create it if missing; migrate it."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"] or "bench" not in db["NAME"]:
        sys.exit(f"refusing to run on {db['ENGINE']} database {db['NAME']!r}: use PostgreSQL and a *bench* database")
    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
    call_command("migrate", verbosity=0)
