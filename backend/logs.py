"""Structured logs: one JSON object per line on stderr, for web, worker and beat alike.

Nothing here ever writes personal health data. Log calls in the code name rows by id and never pass
bodies, notes or addresses; this module adds the two guards the code cannot: Django attaches the
whole request to ``django.request`` records (whose repr carries the query string, and a JSON formatter
prints every extra attribute), so :class:`RequestFilter` keeps only its method and path; and the
access log (:class:`RequestLogMiddleware`) records the view's name (not the URL), status, time and the person's
numeric id, never a query string or a body. ``tests/backend/test_logging.py`` drives the API with
marked health data and fails if any of it reaches a log line.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.json import JsonFormatter

access_log = logging.getLogger("backend.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Formatter(JsonFormatter):
    """``{"time", "level", "logger", "message", ...extra}``; exceptions as a list of lines."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "asctime": "time"})
        kwargs.setdefault("exc_info_as_array", True)
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", *args, **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """ISO 8601 in UTC with milliseconds, whatever the host's zone."""
        return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")


# A doctor link's path holds its token, the link's only credential (diary/reports/link_web.py).
_SECRET_PATH = re.compile(r"/r/[^/\s]+")


def redact_path(path: str) -> str:
    """A path fit for a log line: a doctor link's token replaced."""
    return _SECRET_PATH.sub("/r/<token>", path)


class RequestFilter(logging.Filter):
    """Replace a record's ``request`` (Django adds it to request and security records) with its
    method and path: its repr would print the query string, which may carry a filter on symptoms.
    A doctor link's token leaves no line, in the path or in the message ("Not Found: /r/...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = record.__dict__.pop("request", None)
        if request is not None:
            record.method = getattr(request, "method", None)
            path = getattr(request, "path", None)
            record.path = redact_path(path) if isinstance(path, str) else path
            if isinstance(record.args, tuple):
                record.args = tuple(redact_path(a) if isinstance(a, str) else a for a in record.args)
        return True


def _user_id(request: HttpRequest) -> int | None:
    """The authenticated person's id, without a database query: a session user nobody looked at
    stays unevaluated (the database may be the thing that is down)."""
    user = request.__dict__.get("user")
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.pk if getattr(user, "is_authenticated", False) else None


class RequestLogMiddleware:
    """One access-log line per request, and an ``X-Request-ID`` (the client's, if well formed)
    echoed on the response so a person's report can be matched to the server's line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        response = self.get_response(request)
        match = request.resolver_match
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "view": match.view_name if match else None,
                "path": redact_path(request.path) if match is None else None,  # unmatched: the path is the clue
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": _user_id(request),
                "request_id": request_id,
            },
        )
        response["X-Request-ID"] = request_id
        return response
