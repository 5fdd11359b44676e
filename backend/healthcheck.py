"""The web container's health probe (Dockerfile HEALTHCHECK, docker-compose.yml), standard library
only: the image has no curl, and a probe every 30 seconds should not start Django.

    python backend/healthcheck.py

``/healthz`` (backend/health.py) answers 200 only when the database and the broker answer. The
probe asks as the TLS proxy would: ``Host`` is the first of ``ALLOWED_HOSTS`` (production answers no
other) and ``X-Forwarded-Proto: https`` (production redirects plain HTTP otherwise). ``PORT`` names
gunicorn's port (default 8000).

Exit status 0 is healthy, 1 is not; the one line printed is what ``docker inspect`` shows.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 5.0


def probe_host() -> str:
    first = (os.environ.get("ALLOWED_HOSTS") or "localhost").split(",")[0].strip()
    if first in {"", "*"}:
        return "localhost"
    return first.lstrip(".")  # ".example.org" allows example.org and its subdomains


def web() -> int:
    url = f"http://127.0.0.1:{int(os.environ.get('PORT', '8000'))}/healthz"
    request = urllib.request.Request(url, headers={"Host": probe_host(), "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310  http on loopback, fixed  # nosec B310
            body = response.read(500).decode(errors="replace")
            print(f"{response.status} {body}")
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:  # 503: the body names what is down
        print(f"{exc.code} {exc.read(500).decode(errors='replace')}")
    except (urllib.error.URLError, OSError) as exc:
        print(f"unreachable: {exc}")
    return 1


if __name__ == "__main__":
    sys.exit(web())
