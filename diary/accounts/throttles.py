"""The API's rate limits, counted atomically in Redis (backend/ratelimit.py) and per real client
address (backend/client_ip.py).

DRF's own classes decide what to count (the scope, the rate and the key); only the counting is
replaced: DRF's read-modify-write of a pickled list let parallel clients overshoot, and its address
came from ``X-Forwarded-For`` as the client sent it.
"""

from __future__ import annotations

from typing import Any

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
        verdict = ratelimit.hit(self.key, limit, period)
        self._retry_after = verdict.retry_after
        return verdict.allowed

    def wait(self) -> float | None:
        return self._retry_after


class PersonThrottle(AtomicCounting, UserRateThrottle):
    """Every API view: per person, per address when anonymous (the ``user`` rate, THROTTLE_USER)."""


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
