from __future__ import annotations

import sys
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from backend.api.errors import error_body
from backend.unavailable import database_unavailable, unavailable, wants_json


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """handler400: what Django refuses before a view runs (a disallowed Host, a malformed body)."""
    if wants_json(request):
        return JsonResponse(error_body("bad_request", "The request could not be understood."), status=400)
    return HttpResponse("Bad request.", status=400, content_type="text/plain")


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(error_body("not_found", "No such resource."), status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. Django calls it inside the ``except`` block, so the exception is at hand."""
    if database_unavailable(sys.exc_info()[1]):
        return unavailable(request)
    if wants_json(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    return HttpResponse("Something went wrong on our side.", status=500, content_type="text/plain")
