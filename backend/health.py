"""``/healthz``: can this process reach its database and its broker? For load balancers and probes."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from backend.celery import app
from diary.outbox.models import OutboxEvent
from diary.outbox.routes import URGENT

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


def _outbox_failing() -> dict[str, dict[str, Any]]:
    """Handlers whose work failed and waits for its back-off: per handler path, the rows waiting,
    the age of the oldest (since its write) and whether it is urgent (routes.URGENT: red-flag
    evaluation, the emergency-contact email). Counts and ages only: an error message may name a
    person's data, and this answer is public."""
    try:
        rows = (
            OutboxEvent.objects.filter(processed_at__isnull=True, attempts__gt=0)
            .values("handler")
            .annotate(rows=Count("pk"), oldest=Min("created_at"), attempts=Max("attempts"))
            .order_by("handler")
        )
        now = timezone.now()
        return {
            row["handler"] or "(unsplit)": {
                "rows": row["rows"],
                "oldest_s": round(max(0.0, (now - row["oldest"]).total_seconds()), 1),
                "max_attempts": row["attempts"],
                "red_flags": row["handler"] in URGENT,
            }
            for row in rows
        }
    except Exception:  # the database check reports the cause
        return {}


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, else 503 naming what is down. The broker being
    down does not stop writes (the outbox keeps them), but work waits, so it is reported.

    A handler that keeps failing (``outbox_failing``) turns the status to ``"retrying"`` but keeps
    the 200: the process serves writes and every other handler still runs, and a probe that failed
    would restart or unroute a web process that restarting cannot fix (the cause is a handler's bug or
    a service it calls), taking the diary offline for everyone. ``"red_flags": true`` there is the
    one to page someone for: red-flag evaluation itself is failing.
    """
    started = time.perf_counter()
    checks = {"database": _database(), "broker": _broker()}
    healthy = all(v == "ok" for v in checks.values())
    failing = _outbox_failing() if checks["database"] == "ok" else {}
    body = {
        "status": "degraded" if not healthy else "retrying" if failing else "ok",
        **checks,
        "outbox_oldest_pending_s": _outbox_lag_s() if checks["database"] == "ok" else None,
        "outbox_failing": failing,
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
