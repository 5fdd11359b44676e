"""Stop waiting on Redis while it is down: a process-local cooldown after a failure.

While Redis is unreachable every call waits out its connect timeout: 0.5 s per cache call (a throttle
makes two per request) and 2 s per broker publish, so each write would take seconds although nothing
fails. After one failure the calls are skipped for ``seconds``; the first call after that tries again.
What is skipped is safe to skip: a cache read is a miss and a cache write is dropped (the cache fails
open anyway), and a wake-up is only a wake-up (its outbox row or pending push is committed, and the
beat's sweepers publish it once the broker is back).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Cooldown:
    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self._until = 0.0
        self._lock = threading.Lock()

    def blocked(self) -> bool:
        return time.monotonic() < self._until

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            was_open = self._until == 0.0
            self._until = time.monotonic() + self.seconds
        if was_open:
            log.warning(
                "%s unavailable (%s); skipping it for %.0f s at a time", self.name, type(exc).__name__, self.seconds
            )

    def succeeded(self) -> None:
        if self._until:
            with self._lock:
                self._until = 0.0
            log.info("%s available again", self.name)

    reset = succeeded


BROKER = Cooldown("broker", seconds=5.0)


def wake(send: Callable[[], object], *, what: str, cooldown: bool = True) -> bool:
    """Publish a wake-up; never raises. With ``cooldown`` (request paths) it is skipped while the
    broker just failed; the sweepers (background, where waiting costs nobody) pass ``cooldown=False``."""
    if cooldown and BROKER.blocked():
        return False
    try:
        send()
    except Exception as exc:  # any broker/transport error
        BROKER.failed(exc)
        log.warning("%s not published, the sweeper will send it: %s", what, exc)
        return False
    BROKER.succeeded()
    return True
