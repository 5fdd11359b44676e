"""``/healthz``: can this process reach its database and its broker? For load balancers and probes."""

from __future__ import annotations

import logging
import time

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from backend.celery import app
from diary.outbox.models import OutboxEvent

log = logging.getLogger(__name__)
BROKER_TIMEOUT_S = 1.0


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error: report, never raise
        log.warning("health: database unreachable: %s", type(exc).__name__)
        return "unreachable"
    return "ok"


def _broker() -> str:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
    except Exception as exc:  # any transport error
        log.warning("health: broker unreachable: %s", type(exc).__name__)
        return "unreachable"
    return "ok"


def _outbox_lag_s() -> float | None:
    """Age of the oldest unprocessed outbox intent (work that waits: a broker or worker problem)."""
    try:
        pending = OutboxEvent.objects.filter(processed_at__isnull=True).order_by("available_at")
        first = pending.values_list("available_at", flat=True).first()
    except Exception:  # the database check reports the cause
        return None
    return None if first is None else max(0.0, (timezone.now() - first).total_seconds())


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, else 503 naming what is down. The broker being
    down does not stop writes (the outbox keeps them), but work waits, so it is reported."""
    started = time.perf_counter()
    checks = {"database": _database(), "broker": _broker()}
    healthy = all(v == "ok" for v in checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        **checks,
        "outbox_oldest_pending_s": _outbox_lag_s() if checks["database"] == "ok" else None,
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
