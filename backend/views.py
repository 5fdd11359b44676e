from __future__ import annotations

import logging
import sys
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from backend.api.errors import error_body


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """handler400: what Django refuses before a view runs (a disallowed Host, a malformed body)."""
    if _wants_json(request):
        return JsonResponse(error_body("bad_request", "The request could not be understood."), status=400)
    return HttpResponse("Bad request.", status=400, content_type="text/plain")


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("not_found", "No such resource."), status=404)
    return render(request, "404.html", status=404)


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
    if not _wants_json(request):
        response = HttpResponse(body["message"], status=503, content_type="text/plain")
    response["Retry-After"] = str(DB_RETRY_AFTER_S)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. Django calls it inside the ``except`` block, so the exception is at hand."""
    if database_unavailable(sys.exc_info()[1]):
        return unavailable(request)
    if _wants_json(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    return HttpResponse("Something went wrong on our side.", status=500, content_type="text/plain")
