"""One error shape for every 4xx: ``{"error": code, "message": text, "details": {field: [reason]}}``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from diary.core.errors import Conflict, DomainValidationError

_CODES = {
    exceptions.ParseError: "malformed_json",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def _flatten(detail: Any) -> dict[str, list[str]]:
    """DRF nests errors (lists of dicts for list fields); flatten to ``field.sub`` paths."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for i, sub in enumerate(value):
                    walk(f"{prefix}.{i}" if prefix else str(i), sub)
        else:
            out.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return out


def error_body(code: str, message: str, details: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainValidationError):
        return Response(error_body("invalid", "Some fields are not valid.", exc.details), status=400)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = error_body("too_large", "The request body is too large.", {"body": [f"larger than {limit} bytes"]})
        return Response(body, status=413)
    if isinstance(exc, Conflict):
        return Response(error_body("conflict", exc.message, exc.details), status=409)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", "Some fields are not valid.", _flatten(exc.detail))
    else:
        code = _CODES.get(type(exc)) or str(getattr(exc, "default_code", "error"))
        if isinstance(exc.detail, dict):  # simplejwt: {"detail": ..., "code": ..., "messages": [...]}
            message = str(exc.detail.get("detail", code))
        elif isinstance(exc.detail, list):
            message = "; ".join(str(d) for d in exc.detail)
        else:
            message = str(exc.detail)
        details: dict[str, list[str]] = {}
        if isinstance(exc, exceptions.ParseError):
            details = {"body": [message]}
        field_errors = getattr(exc, "field_errors", None)  # an exception naming its fields (the second factor)
        if isinstance(field_errors, dict):
            details = field_errors
        body = error_body(code, message, details)
    response.data = body
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
