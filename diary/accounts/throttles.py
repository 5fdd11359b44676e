"""The API's rate limits, counted atomically in Redis (backend/ratelimit.py) and per real client
address (backend/client_ip.py).

DRF's own classes decide what to count (the scope, the rate and the key); only the counting is
replaced: DRF's read-modify-write of a pickled list let parallel clients overshoot, and its address
came from ``X-Forwarded-For`` as the client sent it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from backend import ratelimit
from backend.client_ip import throttle_ident


class AtomicCounting(SimpleRateThrottle):
    """One Lua script per check (allowed or not, and how long to wait), fails open without Redis."""

    _retry_after: float | None = None

    def get_ident(self, request: Any) -> str:
        return throttle_ident(request)

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        limit, period = self.parse_rate(self.rate)
        if limit is None or period is None:
            return True
        verdict = self.counted(request, self.key, limit, period)
        self._retry_after = verdict.retry_after
        return verdict.allowed

    def counted(self, request: Any, key: str, limit: int, period: int) -> ratelimit.Verdict:
        return ratelimit.hit(key, limit, period)

    def wait(self) -> float | None:
        return self._retry_after


_COUNTED = "_person_counted"  # on the HttpRequest: (key, verdict) counted while authenticating


class PersonThrottle(AtomicCounting, UserRateThrottle):
    """Every API view: per person, per address when anonymous (the ``user`` rate, THROTTLE_USER).

    A bearer-token request was already counted by ``person_gate`` while it was authenticated, in the
    round trip that read the account's stamp: that verdict is used, not counted again."""

    def counted(self, request: Any, key: str, limit: int, period: int) -> ratelimit.Verdict:
        found = request._request.__dict__.pop(_COUNTED, None)
        if found is not None and found[0] == key:
            verdict: ratelimit.Verdict = found[1]
            return verdict
        return ratelimit.hit(key, limit, period)


def person_gate(
    request: Request, user_id: int, stamps: Sequence[str]
) -> tuple[tuple[str | None, ...], Callable[[], None]]:
    """For a bearer token naming ``user_id``: read ``stamps`` and, when the view counts requests per
    person, count this one, all in one Redis round trip. Returns the stamps and a function that takes
    the count back (the token turned out to be refused: a revoked token must not spend the person's budget)."""
    view = request.parser_context.get("view") if request.parser_context else None
    if view is None or not any(issubclass(c, PersonThrottle) for c in getattr(view, "throttle_classes", ())):
        return ratelimit.read_stamps(stamps), _nothing
    throttle = PersonThrottle()
    limit, period = throttle.parse_rate(throttle.rate)
    if limit is None or period is None:
        return ratelimit.read_stamps(stamps), _nothing
    key = throttle.cache_format % {"scope": throttle.scope, "ident": user_id}
    verdict = ratelimit.hit(key, limit, period, stamps=stamps)
    request._request.__dict__[_COUNTED] = (key, verdict)
    return verdict.stamps, lambda: ratelimit.forget(key, verdict.member)


def _nothing() -> None:
    return None


class AuthThrottle(AtomicCounting, AnonRateThrottle):
    """Per client address on sign-in, registration and password reset (guessing, spraying); the web
    and admin sign-in pages count against the same budget (diary/accounts/signin_limits.py)."""

    scope = "auth"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthBurstThrottle(AuthThrottle):
    scope = "auth_burst"


class RedeemThrottle(AuthThrottle):
    """Per client address on redeeming sharing codes: guessing a 60-bit code is hopeless at this rate."""

    scope = "redeem"


class RedeemUserThrottle(AtomicCounting, UserRateThrottle):
    """Per clinician account as well: a network of many clinicians shares one address."""

    scope = "redeem_user"
