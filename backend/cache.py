"""A Redis cache that fails open.

Throttles and caches are conveniences: when Redis is unreachable a read is a miss and a write is
dropped, so a person logging an urgent episode never gets a 500 because the cache is down.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class FailOpenRedisCache(RedisCache):
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except _DOWN as exc:
            log.warning("cache unavailable on get: %s", exc)
            return default

    def set(self, key: Any, value: Any, timeout: Any = 300, version: int | None = None) -> None:  # type: ignore[override]
        try:
            super().set(key, value, timeout, version)
        except _DOWN as exc:
            log.warning("cache unavailable on set: %s", exc)

    def add(self, key: Any, value: Any, timeout: Any = 300, version: int | None = None) -> bool:  # type: ignore[override]
        try:
            return super().add(key, value, timeout, version)
        except _DOWN as exc:
            log.warning("cache unavailable on add: %s", exc)
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except _DOWN as exc:
            log.warning("cache unavailable on delete: %s", exc)
            return False

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except _DOWN as exc:
            log.warning("cache unavailable on get_many: %s", exc)
            return {}

    def clear(self) -> None:
        try:
            super().clear()
        except _DOWN as exc:
            log.warning("cache unavailable on clear: %s", exc)
