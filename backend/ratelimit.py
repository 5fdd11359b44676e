"""Atomic rate counting: one Redis round trip per check, so parallel clients cannot overshoot a limit.

DRF's ``SimpleRateThrottle`` reads a pickled list of request times from the cache, appends to it and
writes it back: two round trips with a gap between them, in which every other worker reads the same
old list. With 4 parallel clients 1,247 requests got through in 27 s against 1,200 a minute (issue 15).
Here the whole decision is one Lua script run inside Redis (a sliding log in a sorted set: drop what
left the window, count, add when allowed), so it is atomic whatever the number of workers, and costs
one ``EVALSHA`` on a connection from a pool kept for the process (no pickling, no second trip).

The window is exact, as DRF's was: at most ``limit`` requests in any ``period`` seconds; the clock is
Redis's own (``TIME``), so web servers with skewed clocks count alike.

The same round trip reads *change stamps* (``stamps=``): keys whose value is replaced with a new random one
whenever what they stand for changes (``renew``), so a process can keep a copy of a row and know, from
the stamp it read, whether the copy is still current (diary/accounts/account_cache.py). A missing stamp
is created in the same script, so the copy made after the read is valid until the next renewal.

Redis is where the ``default`` cache lives. Without Redis (the embedded default, a local memory cache)
the same log is kept in the cache under a process lock. When Redis is unreachable the check fails
open (allowed), like the cache itself (backend/cache.py), and Redis is not tried again for a few
seconds (backend/breaker.py): a person logging an urgent episode never gets a 500 from a limiter.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
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

# KEYS[1] the log; KEYS[2..] change stamps to read. ARGV: limit, period in microseconds, mode
# (hit | peek | add | none), a unique member tail, a fresh stamp value, the stamps' lifetime in seconds.
# hit: counts the request when it is allowed; peek: only looks; add: counts it whatever the verdict
# (a failed sign-in is a fact, not a request); none: only reads the stamps. A missing stamp is set to
# the fresh value (with the key's index, so each differs). Answers {allowed 0/1, count, microseconds to
# wait, the member counted or '', stamp...}.
_LUA = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local mode = ARGV[3]
local allowed, count, wait, member = true, 0, 0, ''
if mode ~= 'none' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  count = redis.call('ZCARD', key)
  allowed = count < limit
  if mode == 'add' or (mode == 'hit' and allowed) then
    member = now .. ':' .. ARGV[4]
    redis.call('ZADD', key, now, member)
    count = count + 1
    if count > 2 * limit then
      redis.call('ZREMRANGEBYRANK', key, 0, count - 2 * limit - 1)
      count = 2 * limit
    end
    redis.call('PEXPIRE', key, math.ceil(period / 1000) + 1)
  end
  if not allowed then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    if oldest[2] then wait = tonumber(oldest[2]) + period - now end
  end
end
local answer = {allowed and 1 or 0, count, wait, member}
for i = 2, #KEYS do
  local stamp = redis.call('GET', KEYS[i])
  if not stamp then
    stamp = ARGV[5] .. ':' .. i
    redis.call('SET', KEYS[i], stamp, 'EX', tonumber(ARGV[6]))
  end
  answer[#answer + 1] = stamp
end
return answer
"""
STAMP_SECONDS = 24 * 3600  # an unread stamp goes; the next read makes a new one (a miss, never stale)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float  # seconds until the request would be allowed (0 when it is)
    # The stamps asked for, in order; None each when they could not be read (no Redis, Redis down).
    stamps: tuple[str | None, ...] = ()
    member: str = ""  # what was counted in the log (for ``forget``); empty when nothing was


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


def _in_redis(store: _Redis, key: str, limit: int, period: float, mode: str, stamps: Sequence[str]) -> Verdict:
    unread = (None,) * len(stamps)
    if store.down.blocked():
        return Verdict(True, 0.0, unread)
    try:
        allowed, _count, wait_us, member, *found = store.script(
            keys=[PREFIX + key, *stamps],
            args=[limit, int(period * 1_000_000), mode, secrets.token_hex(4), secrets.token_hex(8), STAMP_SECONDS],
        )
    except _DOWN as exc:
        store.down.failed(exc)
        return Verdict(True, 0.0, unread)
    store.down.succeeded()
    return Verdict(
        allowed=bool(allowed),
        retry_after=max(int(wait_us), 0) / 1_000_000,
        stamps=tuple(s.decode() for s in found),
        member=member.decode(),
    )


def _in_cache(key: str, limit: int, period: float, mode: str, stamps: Sequence[str]) -> Verdict:
    """The same log in a local cache (one process: the lock makes it atomic there). No stamps here:
    a local cache cannot tell other processes that something changed."""
    unread = (None,) * len(stamps)
    if mode == "none":
        return Verdict(True, 0.0, unread)
    with _local_lock:
        now = time.time()
        log = [t for t in cache.get(PREFIX + key, []) if t > now - period]
        allowed = len(log) < limit
        if mode == "add" or (mode == "hit" and allowed):
            log = [*log, now][-2 * limit :]
            cache.set(PREFIX + key, log, int(period) + 1)
        wait = 0.0 if allowed else log[len(log) - limit] + period - now
    return Verdict(allowed=allowed, retry_after=max(wait, 0.0), stamps=unread)


def _check(key: str, limit: int, period: float, mode: str, stamps: Sequence[str] = ()) -> Verdict:
    if limit <= 0 and mode != "none":
        return Verdict(allowed=False, retry_after=period, stamps=(None,) * len(stamps))
    store = _redis()
    if store is None:
        return _in_cache(key, limit, period, mode, stamps)
    return _in_redis(store, key, limit, period, mode, stamps)


def hit(key: str, limit: int, period: float, *, stamps: Sequence[str] = ()) -> Verdict:
    """Count one request under ``key`` if fewer than ``limit`` were counted in the last ``period`` s;
    read ``stamps`` in the same round trip."""
    return _check(key, limit, period, "hit", stamps)


def peek(key: str, limit: int, period: float) -> Verdict:
    """Would a request be allowed now? Counts nothing."""
    return _check(key, limit, period, "peek")


def add(key: str, limit: int, period: float) -> Verdict:
    """Count an event (a failed sign-in) whatever the verdict; says whether it was still within the limit."""
    return _check(key, limit, period, "add")


def read_stamps(stamps: Sequence[str]) -> tuple[str | None, ...]:
    """The stamps alone (one round trip; None each without Redis)."""
    return _check("", 0, 0.0, "none", stamps).stamps


def forget(key: str, member: str) -> None:
    """Take back one counted request (``Verdict.member``): it turned out not to be the person's."""
    store = _redis()
    if not member or store is None or store.down.blocked():
        return
    try:
        store.client.zrem(PREFIX + key, member)
    except _DOWN as exc:
        store.down.failed(exc)


def renew(stamps: Sequence[str]) -> bool:
    """Give each stamp a new random value: every copy made under the old one is stale from now on.
    False when Redis could not be told (no Redis, or it is down)."""
    store = _redis()
    if store is None or not stamps or store.down.blocked():
        return False
    fresh = secrets.token_hex(8)
    try:
        with store.client.pipeline(transaction=False) as pipe:
            for i, stamp in enumerate(stamps):
                pipe.set(stamp, f"{fresh}:r{i}", ex=STAMP_SECONDS)
            pipe.execute()
    except _DOWN as exc:
        store.down.failed(exc)
        return False
    store.down.succeeded()
    return True
