"""Test settings: PostgreSQL and Redis from the environment (see scripts/dev.py test)."""

from backend.settings.base import *  # noqa: F403
from backend.settings.base import REST_FRAMEWORK

# Argon2 is what production uses (asserted in tests/accounts); a fast hasher keeps the suite quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "user": REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"],  # type: ignore[index]  # production's rate
        "auth": "1000/min",
        "auth_burst": "1000/sec",
        "redeem": "1000/min",
        "redeem_user": "1000/min",
    },
}
