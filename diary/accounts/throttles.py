from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class AuthThrottle(AnonRateThrottle):
    """Per client address on sign-in, registration and password reset (guessing, spraying)."""

    scope = "auth"

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthBurstThrottle(AuthThrottle):
    scope = "auth_burst"


class RedeemThrottle(AuthThrottle):
    """Per client address on redeeming sharing codes: guessing a 60-bit code is hopeless at this rate."""

    scope = "redeem"


class RedeemUserThrottle(UserRateThrottle):
    """Per clinician account as well: a network of many clinicians shares one address."""

    scope = "redeem_user"
