"""Who may read a shared diary: the clinician permission, and the one place every clinician read
(API, page, export, alerts) resolves its share and logs the access."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.sharing.models import Share
from diary.sharing.scoped import access_record
from diary.sharing.selectors import share_for_clinician


class IsClinician(BasePermission):
    message = "Only clinician accounts review shared diaries."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_clinician", False))


def clinician_share(request: Request | HttpRequest, pid: str, scope: str, what: str) -> Share:
    """The clinician's active share ``pid`` with ``scope``, logged as one read of ``what``; else 404.
    Every clinician read (API, page, export) resolves its share here."""
    share = share_for_clinician(clinician=request_user(request), uid=pid, scope=scope)
    if share is None:
        raise Http404
    access_record(share=share, what=what)
    return share
