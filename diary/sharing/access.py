"""Who may read a shared diary: the clinician permission, and the one place every clinician read
(API, page, export, alerts) resolves its share and logs the access."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from diary.accounts.request_user import request_user
from diary.accounts.second_factor import passed_second_factor
from diary.sharing.models import Share
from diary.sharing.scoped import access_record
from diary.sharing.selectors import share_for_clinician


class IsClinician(BasePermission):
    """A clinician account whose token or session passed the second factor (a password alone reads no
    patient data: see ``diary.accounts.second_factor``)."""

    message = "Only clinician accounts review shared diaries."
    NEEDS_SECOND_FACTOR = (
        "A clinician reads shared diaries only after the second factor: sign in again with the code from "
        "your authenticator app (POST /api/v1/auth/token with totp)."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and getattr(user, "is_clinician", False)):
            return False
        if not passed_second_factor(request):
            self.message = self.NEEDS_SECOND_FACTOR
            return False
        return True


def clinician_share(request: Request | HttpRequest, pid: str, scope: str, what: str) -> Share:
    """The clinician's active share ``pid`` with ``scope``, logged as one read of ``what``; else 404.
    Every clinician read (API, page, export) resolves its share here, so it checks the second factor
    again: a view that lost its permission class or page decorator still reads nothing without it."""
    if not passed_second_factor(request):
        raise PermissionDenied
    share = share_for_clinician(clinician=request_user(request), uid=pid, scope=scope)
    if share is None:
        raise Http404
    access_record(share=share, what=what)
    return share
