"""Plain Django views doing what the DRF episode collection does, without DRF's view machinery.

Same work, same output: the user comes from the same JWT Bearer header (the API's own
``EpochJWTAuthentication().authenticate`` on a DRF ``Request`` wrapper: the account's change stamp
from Redis and the process's copy of the row, as on the DRF side), the same clinician refusal, the
same selector and ordering, and rows rendered by the same ``diary.episodes.render`` (a page from
``values()``, as the API's list). What is left out is what is being measured: APIView dispatch,
content negotiation, permission classes, the django-filter backend, cursor pagination and the
renderer.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.accounts.models import User
from diary.accounts.revocation import EpochJWTAuthentication
from diary.core.errors import Conflict, DomainValidationError
from diary.episodes import selectors, services
from diary.episodes.models import Episode
from diary.episodes.render import REST_COLUMNS, episode_row_to_rest, episode_to_rest
from diary.sync.sequence import sequence_claim

PAGE_SIZE = 50
_JWT = EpochJWTAuthentication()


def _user(request: HttpRequest) -> User | None:
    try:
        found = _JWT.authenticate(Request(request))
    except AuthenticationFailed:
        return None
    if found is None or getattr(found[0], "is_clinician", False):
        return None
    return cast(User, found[0])


def _body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def plain_ok(request: HttpRequest) -> JsonResponse:
    """The fixed-cost floor: a Django view through the full middleware, no auth, no database."""
    return JsonResponse({"ok": True})


class TrivialApi(APIView):
    """The same answer through DRF with the API's defaults: JWT auth (with the epoch check), the
    person throttle, IsAuthenticated, content negotiation and the renderer. What every API request pays."""

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


@csrf_exempt
def plain_episodes(request: HttpRequest) -> JsonResponse:
    """GET: the first page of the person's live episodes. POST: log one through the same service."""
    user = _user(request)
    if user is None:
        return JsonResponse({"error": "not_authenticated"}, status=401)
    if request.method == "GET":
        rows = selectors.episodes_live(user=user).order_by("-started_at", "-id").values(*REST_COLUMNS)[:PAGE_SIZE]
        return JsonResponse({"next": None, "previous": None, "results": [episode_row_to_rest(r) for r in rows]})
    if request.method != "POST":
        return JsonResponse({"error": "method_not_allowed"}, status=405)
    data = _body(request)
    if data is None:
        return JsonResponse({"error": "parse_error"}, status=400)
    try:
        episode = services.episode_create(user=user, data=data)
    except DomainValidationError as exc:
        return JsonResponse({"error": "invalid", "details": exc.details}, status=400)
    except Conflict as exc:
        return JsonResponse({"error": "conflict", "details": exc.details}, status=409)
    return JsonResponse(episode_to_rest(episode), status=201, headers={"Location": f"/api/v1/episodes/{episode.uid}"})


@csrf_exempt
def plain_create_orm(request: HttpRequest) -> JsonResponse:
    """POST: the bare insert (sequence stamp + Episode.objects.create), no validation, lock or outbox."""
    user = _user(request)
    data = _body(request) if request.method == "POST" else None
    if user is None or data is None:
        return JsonResponse({"error": "bad_request"}, status=400)
    columns = {k: v for k, v in data.items() if k != "id"}
    columns["started_at"] = dt.datetime.fromisoformat(columns["started_at"])
    now = timezone.now()
    with transaction.atomic():
        seq = sequence_claim(user_id=user.pk)
        episode = Episode.objects.create(
            user_id=user.pk, uid=data["id"], seq=seq, created_at=now, updated_at=now, **columns
        )
    return JsonResponse(episode_to_rest(episode), status=201, headers={"Location": f"/api/v1/episodes/{episode.uid}"})
