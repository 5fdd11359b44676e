"""Sign-in throttles for the web page, the admin and the API token endpoint: one mechanism.

Two limits hold at once (issue 15: 60 wrong passwords at /accounts/login/ and 30 at /admin/login/
were each checked):

- **per address**: every sign-in attempt counts against the same budget as the API's sign-in
  endpoints (``auth`` and ``auth_burst``, diary/accounts/throttles.py), at the client's real address
  (backend/client_ip.py);
- **per account**: failed passwords for one email, from any address, ``signin_account`` an hour and
  ``signin_account_day`` a day: a few tries, then an hour's cool-off, then a day's (the wait grows).
  Failures are recorded from Django's ``user_login_failed`` signal, which every sign-in path sends
  (the web form, the admin and simplejwt all go through ``authenticate``).

Nothing resets a count: a successful sign-in from one address never gives back another address's
(or an attacker's) budget; counts cool off by leaving their window (sliding, backend/ratelimit.py).
The per-account count is kept for the email as typed (normalised), whether or not an account has it,
so the answer, its wait and its timing are the same for unknown and known accounts; the key is an
HMAC of the email, so Redis holds no address.

A refused attempt checks no password and answers one message that names no reason but the wait.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import SimpleRateThrottle

from backend import ratelimit
from diary.accounts.throttles import AuthBurstThrottle, AuthThrottle


class _AccountFailures(SimpleRateThrottle):
    """Only a holder of the rate (THROTTLE_SIGNIN_ACCOUNT); patch THROTTLE_RATES like the others."""

    scope = "signin_account"

    def get_cache_key(self, request: Any, view: Any) -> str | None:  # pragma: no cover - never a DRF throttle
        return None


class _AccountFailuresDay(_AccountFailures):
    scope = "signin_account_day"


def wait_message(seconds: float) -> str:
    """The one answer of a refused sign-in, wherever it comes from and whatever the account."""
    seconds = max(math.ceil(seconds), 1)
    when = f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
    return f"Too many sign-in attempts. For your safety, try again in {when}, or reset your password."


def _account_key(identifier: str) -> str:
    email = (identifier or "").strip().lower()
    digest = hmac.new(settings.SECRET_KEY.encode(), email.encode(), hashlib.sha256).hexdigest()[:32]
    return f"signin:{digest}"


def _account_limits() -> list[tuple[str, int, int]]:
    limits = []
    for cls in (_AccountFailures, _AccountFailuresDay):
        holder = cls()
        limit, period = holder.parse_rate(holder.rate)
        if limit is not None and period is not None:
            limits.append((str(holder.scope), limit, period))
    return limits


def account_wait(identifier: str) -> float | None:
    """Seconds before this email may try a password again, or None. Counts nothing."""
    key = _account_key(identifier)
    waits = []
    for scope, n, period in _account_limits():
        verdict = ratelimit.peek(f"{scope}:{key}", n, period)
        if not verdict.allowed:
            waits.append(verdict.retry_after)
    return max(waits) if waits else None


def signin_wait(request: HttpRequest, identifier: str) -> float | None:
    """Count this attempt for the client's address; seconds to wait when the address or the account
    is over its limit (then no password may be checked), else None."""
    waits = []
    for cls in (AuthBurstThrottle, AuthThrottle):
        throttle = cls()
        if not throttle.allow_request(request, None):
            waits.append(throttle.wait() or 1.0)
    account = account_wait(identifier)
    if account is not None:
        waits.append(account)
    return max(waits) if waits else None


@receiver(user_login_failed, dispatch_uid="diary.accounts.signin_limits.failed")
def _failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    identifier = credentials.get("username") or credentials.get("email") or ""
    key = _account_key(str(identifier))
    for scope, n, period in _account_limits():
        ratelimit.add(f"{scope}:{key}", n, period)


class _Throttled:
    """Checks the limits before the password (AuthenticationForm.clean authenticates)."""

    request: HttpRequest | None
    data: Any
    wait_text: str = ""
    wait_seconds: int = 0

    def clean(self) -> dict[str, Any]:
        if self.request is not None:
            wait = signin_wait(self.request, str(self.data.get("username", "")))
            if wait is not None:
                self.wait_text, self.wait_seconds = wait_message(wait), max(math.ceil(wait), 1)
                raise forms.ValidationError(self.wait_text, code="throttled")
        return super().clean()  # type: ignore[misc]


class SigninForm(_Throttled, AuthenticationForm):
    pass


class AdminSigninForm(_Throttled, AdminAuthenticationForm):
    pass


def throttled_status(response: HttpResponse) -> HttpResponse:
    """A refused attempt answers 429 (with the page and its message, and Retry-After), not a 200 like a typo."""
    context = getattr(response, "context_data", None) or {}
    form = context.get("form")
    if isinstance(form, _Throttled) and form.wait_text:
        response.status_code = 429
        response["Retry-After"] = str(form.wait_seconds)
    return response


class SigninView(LoginView):
    authentication_form = SigninForm

    def get_default_redirect_url(self) -> str:
        """Without a ``next``, a clinician lands on their patients (the triage list), a person at home."""
        user = getattr(self.request, "user", None)
        if user is not None and getattr(user, "is_clinician", False):
            return "/clinician/"
        return super().get_default_redirect_url()

    def form_invalid(self, form: Any) -> HttpResponse:
        return throttled_status(super().form_invalid(form))


def throttle_admin_signin(site: Any) -> None:
    """The admin's sign-in page: the same limits and message, and 429 when refused."""
    site.login_form = AdminSigninForm
    login = site.login

    def throttled_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return throttled_status(login(request, extra_context))

    site.login = throttled_login
