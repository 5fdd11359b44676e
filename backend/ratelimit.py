"""Atomic rate counting: one Redis round trip per check, so parallel clients cannot overshoot a limit.

DRF's ``SimpleRateThrottle`` reads a pickled list of request times from the cache, appends to it and
writes it back: two round trips with a gap between them, in which every other worker reads the same
old list. With 4 parallel clients 1,247 requests got through in 27 s against 1,200 a minute (issue 15).
Here the whole decision is one Lua script run inside Redis (a sliding log in a sorted set: drop what
left the window, count, add when allowed), so it is atomic whatever the number of workers, and costs
one ``EVALSHA`` on a connection from a pool kept for the process (no pickling, no second trip).

The window is exact, as DRF's was: at most ``limit`` requests in any ``period`` seconds; the clock is
Redis's own (``TIME``), so web servers with skewed clocks count alike.

Redis is where the ``default`` cache lives. Without Redis (the embedded default, a local memory cache)
the same log is kept in the cache under a process lock. When Redis is unreachable the check fails
open (allowed), like the cache itself (backend/cache.py), and Redis is not tried again for a few
seconds (backend/breaker.py): a person logging an urgent episode never gets a 500 from a limiter.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from redis.commands.core import Script
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from backend.breaker import Cooldown

_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
PREFIX = "rl:"

# KEYS[1] the log; ARGV: limit, period in microseconds, mode (hit | peek | add), a unique member tail.
# hit: counts the request when it is allowed; peek: only looks; add: counts it whatever the verdict
# (a failed sign-in is a fact, not a request). Answers {allowed 0/1, count, microseconds to wait}.
_LUA = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local mode = ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
local count = redis.call('ZCARD', key)
local allowed = count < limit
if mode == 'add' or (mode == 'hit' and allowed) then
  redis.call('ZADD', key, now, now .. ':' .. ARGV[4])
  count = count + 1
  if count > 2 * limit then
    redis.call('ZREMRANGEBYRANK', key, 0, count - 2 * limit - 1)
    count = 2 * limit
  end
  redis.call('PEXPIRE', key, math.ceil(period / 1000) + 1)
end
local wait = 0
if not allowed then
  local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  if oldest[2] then wait = tonumber(oldest[2]) + period - now end
end
return {allowed and 1 or 0, count, wait}
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float  # seconds until the request would be allowed (0 when it is)


OPEN = Verdict(allowed=True, retry_after=0.0)


class _Redis:
    """A client with its own pool for one Redis location, its script and its cooldown; kept per process."""

    def __init__(self, location: str, options: dict[str, Any]) -> None:
        timeouts = {k: v for k, v in options.items() if k in ("socket_connect_timeout", "socket_timeout")}
        self.client = redis.Redis.from_url(location, **timeouts)
        self.script: Script = self.client.register_script(_LUA)
        self.down = Cooldown(f"redis rate limiter at {location.rsplit('@', 1)[-1]}", seconds=5.0)


_clients: dict[str, _Redis] = {}
_clients_lock = threading.Lock()
_local_lock = threading.Lock()


def _redis() -> _Redis | None:
    conf = settings.CACHES["default"]
    if not str(conf["BACKEND"]).endswith("RedisCache"):
        return None
    location = str(conf["LOCATION"])
    found = _clients.get(location)
    if found is None:
        with _clients_lock:
            found = _clients.setdefault(location, _Redis(location, dict(conf.get("OPTIONS", {}))))
    return found


def _in_redis(store: _Redis, key: str, limit: int, period: float, mode: str) -> Verdict:
    if store.down.blocked():
        return OPEN
    try:
        allowed, _count, wait_us = store.script(
            keys=[PREFIX + key], args=[limit, int(period * 1_000_000), mode, secrets.token_hex(4)]
        )
    except _DOWN as exc:
        store.down.failed(exc)
        return OPEN
    store.down.succeeded()
    return Verdict(allowed=bool(allowed), retry_after=max(int(wait_us), 0) / 1_000_000)


def _in_cache(key: str, limit: int, period: float, mode: str) -> Verdict:
    """The same log in a local cache (one process: the lock makes it atomic there)."""
    with _local_lock:
        now = time.time()
        log = [t for t in cache.get(PREFIX + key, []) if t > now - period]
        allowed = len(log) < limit
        if mode == "add" or (mode == "hit" and allowed):
            log = [*log, now][-2 * limit :]
            cache.set(PREFIX + key, log, int(period) + 1)
        wait = 0.0 if allowed else log[len(log) - limit] + period - now
    return Verdict(allowed=allowed, retry_after=max(wait, 0.0))


def _check(key: str, limit: int, period: float, mode: str) -> Verdict:
    if limit <= 0:
        return Verdict(allowed=False, retry_after=period)
    store = _redis()
    if store is None:
        return _in_cache(key, limit, period, mode)
    return _in_redis(store, key, limit, period, mode)


def hit(key: str, limit: int, period: float) -> Verdict:
    """Count one request under ``key`` if fewer than ``limit`` were counted in the last ``period`` s."""
    return _check(key, limit, period, "hit")


def peek(key: str, limit: int, period: float) -> Verdict:
    """Would a request be allowed now? Counts nothing."""
    return _check(key, limit, period, "peek")


def add(key: str, limit: int, period: float) -> Verdict:
    """Count an event (a failed sign-in) whatever the verdict; says whether it was still within the limit."""
    return _check(key, limit, period, "add")
