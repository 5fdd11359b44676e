"""Small pieces every diary API view shares."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, re_path
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from diary.core.errors import DomainValidationError


class IsDiaryOwner(BasePermission):
    """A signed-in person keeping their own diary. Clinician accounts review, they do not log."""

    message = "Clinician accounts do not keep a diary; sign in with a personal account."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and not getattr(user, "is_clinician", False))


def json_object(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise DomainValidationError({"body": ["must be a JSON object"]})
    return data


def slash_optional(route: str, view: Any, name: str) -> URLPattern:
    """``route`` answering with and without a trailing slash, never redirecting (mobile clients)."""
    return re_path(rf"^{route}/?$", view, name=name)
