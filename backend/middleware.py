"""Small cross-cutting HTTP policies."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from backend.unavailable import database_unavailable, unavailable


class ApiNoStoreMiddleware:
    """Every API answer is somebody's health data (or says whether it exists): no shared proxy or
    browser cache may keep it. Views that set their own Cache-Control keep theirs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/") and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


# No inline script anywhere, nothing from another origin. Inline styles stay allowed: the pages' small
# <style> blocks carry no script, and Swagger UI styles its widgets inline.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])  # fmt: skip
NO_STORE_PAGES = ("/clinician/",)


class SecurityHeadersMiddleware:
    """A Content-Security-Policy on every answer (an injected ``<script>`` never runs), and
    ``no-store`` on clinician pages and the PDF: patient data must not stay in a shared browser's
    cache, whatever the view set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.path.startswith(NO_STORE_PAGES) or request.path.rstrip("/") == "/clinician":
            response["Cache-Control"] = "no-store"
        return response


class DatabaseUnavailableMiddleware:
    """A view that fails because the database is unreachable or busy (SQLite's "database is locked"
    once the busy timeout has passed) answers 503 with Retry-After, with DEBUG on too: handler500
    (``backend.views.server_error``, through ``backend.unavailable``) maps the same errors, but Django calls it only with DEBUG off and
    shows its debug page (a 500) otherwise, which is how the embedded default (``dev.py run``) runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable(request) if database_unavailable(exception) else None
