"""kombu's Redis transport, made to survive Redis going away while a task runs.

With kombu 5.7 a Celery worker exits ("Unrecoverable error: AttributeError: 'NoneType' object has no
attribute 'hostname'" or "... 'client'") when the broker connection drops while it holds an
unacknowledged message, which with ``acks_late`` (every task here) means whenever a task is running:

- the consumer collects the dead connection, which detaches the transport from it but can leave the
  polling channel open; closing that channel again then tries to put the unacknowledged message back
  through a connection that no longer exists;
- a task that finishes after the connection dropped acknowledges its message on the old channel,
  which has no connection either.

Both reach ``Channel._get_pool`` with nothing to build a pool from and raise AttributeError, which
nobody expects, so the worker stops, and with it reminders, red-flag alerts and pushes until
something restarts it. Here that case raises the Redis connection error kombu and Celery already
handle: the restore or acknowledgement is logged as failed and the worker reconnects. Nothing is
lost: Redis (if it kept its data) hands unacknowledged messages out again after the visibility
timeout, the tasks are idempotent, and the outbox sweepers re-send whatever work lost messages
stood for.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis
from kombu.utils.scheduling import priority_cycle
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(redis.Channel):
    _kept: Any = None  # the synchronous client publishing goes through, and the pool it was made on

    def _get_pool(self, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("this broker channel's connection is closed")
        return super()._get_pool(asynchronous)

    def _create_client(self, asynchronous: bool = False) -> Any:
        """kombu builds a new redis client (a dict of some 170 response callbacks) for every message it
        publishes, about a third of a wake-up's CPU. Keep one per channel while the channel's pool is
        the same (a client holds no connection of its own: it takes one from the pool per command)."""
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        kept = self._kept
        if kept is None or kept[1] is not pool:
            kept = self._kept = (super()._create_client(asynchronous=False), pool)
        return kept[0]


class Transport(redis.Transport):
    Channel = Channel


# The queues a Redis worker looks at first, in this order (backend/celery.py): red-flag evaluation and
# alert pushes, then beat's jobs; every other queue after them, by name; long batch runs last.
FIRST = ("alerts", "periodic")
LAST = ("batch",)


def _rank(queue: str) -> tuple[int, str]:
    if queue in FIRST:
        return (FIRST.index(queue), queue)
    if queue in LAST:
        return (len(FIRST) + 1 + LAST.index(queue), queue)
    return (len(FIRST), queue)


class QueueOrder(priority_cycle):  # type: ignore[misc]
    """kombu's ``queue_order_strategy`` (settings: CELERY_BROKER_TRANSPORT_OPTIONS): the worker's BRPOP
    names its queues in ``FIRST`` order (``LAST`` last) every time, and Redis pops from the first non-empty one, so a
    free worker takes a waiting alert before anything else. kombu's default rotates the queues after
    each message, which would let an alert wait behind one message of every other queue; its
    ``priority`` strategy keeps the order of a set (arbitrary); its ``sorted`` one sorts by name."""

    def consume(self, n: int) -> list[str]:
        return sorted(self.items, key=_rank)[:n]
