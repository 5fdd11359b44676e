"""503 answers for a database that cannot answer now (down, restarting, or SQLite's lock wait timed
out): used by the views' handler500 and by the middleware that catches them with DEBUG on too."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from backend.api.errors import error_body


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


log = logging.getLogger(__name__)
DB_RETRY_AFTER_S = 5


def database_unavailable(exc: BaseException | None) -> bool:
    """Is this exception the database being unreachable (down, restarting, a dropped connection) or a
    transient failure it asks to retry (SQLite's "database is locked" after the busy timeout)? Those
    are a 503, not a bug."""
    return isinstance(exc, (OperationalError, InterfaceError))


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON for the API, plain text for pages."""
    log.warning("database unavailable: answered 503 to %s %s", request.method, request.path)
    body = error_body("unavailable", "The service is briefly unavailable; please retry shortly.")
    response: HttpResponse = JsonResponse(body, status=503)
    if not wants_json(request):
        response = HttpResponse(body["message"], status=503, content_type="text/plain")
    response["Retry-After"] = str(DB_RETRY_AFTER_S)
    return response
