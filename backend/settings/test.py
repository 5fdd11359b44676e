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
        "report_link": REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["report_link"],  # type: ignore[index]  # production's
        "signin_account": "1000/hour",
        "signin_account_day": "1000/day",
    },
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # The SQLite pass (scripts/dev.py test): a test database in a file, not in memory, so the tests
    # that write from several threads meet WAL and the busy timeout as the embedded default does.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-diary.sqlite3")}  # noqa: F405
    # A throwaway database needs no durability: no fsync per commit.
    DATABASES["default"]["OPTIONS"]["init_command"] = (  # noqa: F405
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA foreign_keys=ON;"
    )
