"""``GET /api/v1/sync/pull`` and ``POST /api/v1/sync/push``, speaking SYNC.md's shapes exactly."""

from __future__ import annotations

from typing import Any

import orjson
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.core.api import IsDiaryOwner
from diary.core.openapi import ANY_VIEW, ErrorSerializer
from diary.sync import pull
from diary.sync.push.service import PushConflict, sync_push_body
from diary.sync.push.shape import PushInvalid, PushTooLarge
from diary.sync.registry import SCHEMA_VERSION


def _json(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def _invalid(problems: list[dict[str, str]], status: int = 400, error: str = "invalid") -> HttpResponse:
    return _json({"error": error, "details": problems}, status=status)


def _int_param(request: Request, name: str, *, nullable: bool) -> tuple[int | None, dict[str, str] | None]:
    raw = request.query_params.get(name)
    if raw in (None, "", "null", "undefined"):
        if nullable:
            return None, None
        return None, {"field": name, "reason": "is required"}
    try:
        value = int(raw)
    except ValueError:
        return None, {"field": name, "reason": "must be an integer or null"}
    if value < 0:
        return None, {"field": name, "reason": "must not be negative"}
    return value, None


def _schema_problems(request: Request) -> list[dict[str, str]]:
    problems = []
    version, problem = _int_param(request, "schema_version", nullable=True)
    if problem:
        problems.append(problem)
    elif version is not None and version > SCHEMA_VERSION:
        problems.append(
            {
                "field": "schema_version",
                "reason": f"this server knows schema versions up to {SCHEMA_VERSION}; update the server",
            }
        )
    migration = request.query_params.get("migration")
    if migration not in (None, "", "null"):
        try:
            parsed = orjson.loads(migration)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            problems.append({"field": "migration", "reason": "must be URL-encoded JSON (an object) or null"})
    return problems


_COUNT = {"type": "integer", "minimum": 0}  # what _int_param accepts
_PULL_PARAMS = [
    OpenApiParameter("last_pulled_at", _COUNT, description="the timestamp of the last pull, or null"),
    OpenApiParameter(
        "schema_version", {**_COUNT, "maximum": SCHEMA_VERSION}, description="the app's schema version, or null"
    ),
    OpenApiParameter("migration", OpenApiTypes.STR, description="URL-encoded JSON migration info, or null"),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": settings.SYNC_MAX_PULL_LIMIT},
        description="at most this many records; has_more says when cut",
    ),
]


def _read_body(request: Request, limit: int) -> bytearray:
    """The request body, at most ``limit + 1`` bytes, read a megabyte at a time onto one growing buffer:
    one read of the whole body had the server hold it two or three times over while joining its pieces
    (tens of MB for the largest push)."""
    body = bytearray()
    while len(body) <= limit:
        piece = request._request.read(min(1 << 20, limit + 1 - len(body)))
        if not piece:
            break
        body += piece
    return body


class PullApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(
        parameters=_PULL_PARAMS,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="WatermelonDB pull answer (SYNC.md)"),
                   400: OpenApiResponse(OpenApiTypes.OBJECT, description='{"error": "invalid", "details": [...]}'),
                   401: ErrorSerializer, 403: ErrorSerializer, **ANY_VIEW},
        summary="Pull changes since last_pulled_at (WatermelonDB)",
    )  # fmt: skip
    def get(self, request: Request) -> HttpResponse:
        problems = _schema_problems(request)
        last, problem = _int_param(request, "last_pulled_at", nullable=True)
        if problem:
            problems.append(problem)
        limit, problem = _int_param(request, "limit", nullable=True)
        if problem:
            problems.append(problem)
        elif limit is not None and not 1 <= limit <= settings.SYNC_MAX_PULL_LIMIT:
            problems.append({"field": "limit", "reason": f"must be between 1 and {settings.SYNC_MAX_PULL_LIMIT}"})
        if problems:
            return _invalid(problems)
        user_id = request_user(request).pk
        return _json(pull.sync_pull(user_id=user_id, last_pulled_at=last, limit=limit))


class PushApi(APIView):
    permission_classes = [IsDiaryOwner]

    @extend_schema(
        parameters=[OpenApiParameter("last_pulled_at", _COUNT, required=True)],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="ok, with rejected ids"),
                   400: OpenApiResponse(OpenApiTypes.OBJECT, description="malformed payload; nothing applied"),
                   409: OpenApiResponse(OpenApiTypes.OBJECT, description="conflicting ids; nothing applied"),
                   413: OpenApiResponse(OpenApiTypes.OBJECT, description="more than SYNC_MAX_RECORDS"),
                   401: ErrorSerializer, 403: ErrorSerializer, **ANY_VIEW},
        summary="Push local changes (WatermelonDB)",
    )  # fmt: skip
    def post(self, request: Request) -> HttpResponse:
        problems = _schema_problems(request)
        last, problem = _int_param(request, "last_pulled_at", nullable=False)
        if problem:
            problems.append(problem)
        if problems:
            return _invalid(problems)
        # Read the body ourselves: Django's global 2.5 MB cap must not apply to an offline backlog.
        limit = settings.SYNC_MAX_BODY_BYTES
        raw = _read_body(request, limit)
        if len(raw) > limit:
            return _invalid([{"field": "body", "reason": f"larger than {limit} bytes"}], 413, "too_large")
        try:
            answer = sync_push_body(user=request_user(request), last_pulled_at=last or 0, raw=raw)
        except PushInvalid as exc:
            return _invalid(exc.problems)
        except PushTooLarge as exc:
            return _invalid([{"field": "body", "reason": str(exc)}], 413, "too_large")
        except PushConflict as exc:
            return _json({"error": "conflict", "conflicts": exc.conflicts}, status=409)
        return _json(answer)
