"""The signed-in person behind a request, typed as our ``User``.

Django and DRF type ``request.user`` as "a user or AnonymousUser", so every service call that wants
a ``User`` needed a cast or an ignore. Views reach this only behind a permission class or
``login_required`` that has already turned anonymous requests away; the check here narrows the type
and, should a view ever lose its guard, answers 401 instead of passing AnonymousUser into a service.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from diary.accounts.models import User


def request_user(request: Request | HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise NotAuthenticated()
    return user
