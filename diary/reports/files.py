"""API views that answer with a file (CSV, FHIR JSON, zip, PDF): content negotiation that lets a client
ask for the file's own media type.

DRF negotiates ``Accept`` against the view's renderers before the view runs. An export view returns
the file itself, but its only renderer was JSON, so ``Accept: text/csv`` on a CSV export answered 406
(only ``*/*`` and ``application/json`` got through). A ``FileApi`` lists a renderer for its file's
media type as well: ``*/*``, ``application/json`` and the file's own type all reach the view. Errors
(401, 403, 404, 429) are still JSON whatever was asked, as every other 4xx of the API.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.renderers import ORJSONRenderer
from diary.core.openapi import ERRORS

JSON = "application/json"
CSV = "text/csv; charset=utf-8"
FHIR_JSON = "application/fhir+json"
ZIP = "application/zip"
PDF = "application/pdf"


class _FileRenderer(BaseRenderer):
    """Stands for the file in content negotiation; never renders (the view answers with the file, and
    errors switch to JSON in ``FileApi.finalize_response``)."""

    # The same ``?format=`` name as JSON: the view answers with its file either way, so the API's
    # ``format`` override (and the schema) offers no choice that would change anything.
    format = "json"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return ORJSONRenderer().render(data)  # pragma: no cover - finalize_response renders errors as JSON


def _renderer_for(media_type: str) -> type[BaseRenderer]:
    bare = media_type.split(";")[0].strip()
    return type(f"FileRenderer[{bare}]", (_FileRenderer,), {"media_type": bare})


class FileApi(APIView):
    """An API view answering with one file of ``media_type`` (set by the subclass)."""

    media_type: ClassVar[str]

    def get_renderers(self) -> list[BaseRenderer]:
        return [ORJSONRenderer(), _renderer_for(self.media_type)()]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and isinstance(getattr(request, "accepted_renderer", None), _FileRenderer):
            request.accepted_renderer, request.accepted_media_type = ORJSONRenderer(), JSON
        return super().finalize_response(request, response, *args, **kwargs)


def file_responses(media_type: str, schema: Any, description: str) -> dict[Any, Any]:
    """OpenAPI responses of a file view: the file under its media type, the errors as JSON."""
    bare = media_type.split(";")[0].strip()
    return {(200, bare): OpenApiResponse(schema, description=description),
            **{(status, JSON): body for status, body in ERRORS.items()}}  # fmt: skip


def download(body: bytes, content_type: str, filename: str) -> HttpResponse:
    """The file as an attachment, never kept by a cache (health data)."""
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def dated(stem: str, ext: str) -> str:
    return f"{stem}-{timezone.now().date().isoformat()}.{ext}"
