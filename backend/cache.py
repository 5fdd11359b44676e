"""A Redis cache that fails open.

Throttles and caches are conveniences: when Redis is unreachable a read is a miss and a write is
dropped, so a person logging an urgent episode never gets a 500 because the cache is down. After a
failure the cache is not even tried for a few seconds (backend/breaker.py), so requests do not each
wait out the connect timeout while Redis is down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from backend.breaker import Cooldown

_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
T = TypeVar("T")


class FailOpenRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.down = Cooldown("redis cache", seconds=5.0)

    def _open(self, call: Callable[[], T], default: T) -> T:
        if self.down.blocked():
            return default
        try:
            result = call()
        except _DOWN as exc:
            self.down.failed(exc)
            return default
        self.down.succeeded()
        return result

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._open(lambda: super(FailOpenRedisCache, self).get(key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = 300, version: int | None = None) -> None:  # type: ignore[override]
        self._open(lambda: super(FailOpenRedisCache, self).set(key, value, timeout, version), None)

    def add(self, key: Any, value: Any, timeout: Any = 300, version: int | None = None) -> bool:  # type: ignore[override]
        return self._open(lambda: super(FailOpenRedisCache, self).add(key, value, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._open(lambda: super(FailOpenRedisCache, self).delete(key, version), False)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._open(lambda: super(FailOpenRedisCache, self).get_many(keys, version), {})

    def clear(self) -> None:
        self.down.reset()  # an explicit clear always tries (tests clear between cases)
        self._open(lambda: super(FailOpenRedisCache, self).clear(), None)
