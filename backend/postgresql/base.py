"""Django's PostgreSQL backend with its connection health check kept for connections that sat idle.

With persistent connections (CONN_MAX_AGE) and CONN_HEALTH_CHECKS, Django sends ``SELECT 1`` before
the first query of every request: a second round trip on every request that reads or writes.
Measured with ``bench.api`` (issue 18), that check cost about 0.1 ms of the web worker's CPU per
request, a third of what an up-to-date pull (one statement) costs over the trivial request.

A connection that served a query moments ago has rarely died since; the ones that do die are those
left idle (a database restart, an idle timeout in a firewall or proxy). So the check runs when the
connection has not opened a cursor for ``IDLE_SECONDS``, and is skipped when it has. A connection
that dies while in steady use fails the one request that finds out; Django then discards it (a
connection with errors is closed at the end of the request) and the next request connects afresh:
Django's own behaviour without health checks (tests/backend/test_db_health.py shows both).
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.db.backends.postgresql import base

IDLE_SECONDS = 5.0


class DatabaseWrapper(base.DatabaseWrapper):
    used_at = -math.inf  # time.monotonic() when this connection last opened a cursor

    def create_cursor(self, name: Any = None) -> Any:
        self.used_at = time.monotonic()
        return super().create_cursor(name)

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and time.monotonic() - self.used_at < IDLE_SECONDS:
            self.health_check_done = True
        super().close_if_health_check_failed()
