"""While Redis is down, writes stay fast: after one failure the broker publish and the cache are
skipped for a few seconds (backend/breaker.py) instead of every request waiting out a timeout, and
what was skipped still happens once Redis is back (the outbox sweeper)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core.cache import caches

from backend.breaker import BROKER
from backend.cache import FailOpenRedisCache
from backend.celery import app as celery_app
from diary.outbox.models import OutboxEvent
from diary.outbox.services import outbox_requeue
from tests.conftest import client_for, episode_body, make_user
from tests.diary.test_outbox import _reset_producer_pool


@pytest.fixture
def broker_down() -> Iterator[None]:
    good = celery_app.conf.broker_url
    _reset_producer_pool("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        yield
    finally:
        _reset_producer_pool(good)


@pytest.mark.django_db(transaction=True)
def test_writes_skip_the_broker_after_one_failure_and_the_sweeper_sends_them_later(broker_down: None) -> None:
    api = client_for(make_user())
    took = []
    for i in range(5):
        started = time.perf_counter()
        assert api.post("/api/v1/episodes/", episode_body(notes=f"n{i}"), format="json").status_code == 201
        took.append(time.perf_counter() - started)
    assert BROKER.blocked()  # the first publish failed: the next ones did not try
    pending = OutboxEvent.objects.filter(processed_at__isnull=True).count()
    assert pending >= 5  # every intent is committed with its write
    assert max(took[1:]) < 0.5, took  # none waits for the broker
    assert sum(took[1:]) < took[0] + 0.5, took


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_does_not_wait_out_the_cooldown(broker_down: None) -> None:
    api = client_for(make_user())
    assert api.post("/api/v1/episodes/", episode_body(), format="json").status_code == 201
    assert BROKER.blocked()
    _reset_producer_pool(celery_app.conf.broker_url.replace("127.0.0.1:1/0", "127.0.0.1:6379/0"))
    OutboxEvent.objects.update(available_at="2000-01-01T00:00:00Z")
    assert outbox_requeue() >= 1  # background: tries the broker whatever the cooldown says
    assert not BROKER.blocked()  # and its success lets request paths publish again


@pytest.mark.django_db
def test_the_cache_is_skipped_after_a_failure_and_tried_again_later(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CACHES = {
        "default": {
            "BACKEND": "backend.cache.FailOpenRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    cache = caches["default"]
    assert isinstance(cache, FailOpenRedisCache)
    cache.set("k", 1)  # fails open, and starts the cooldown
    assert cache.down.blocked()
    assert cache.get("k", "miss") == "miss" and cache.add("k", 1) is False  # skipped, answered as a miss
    cache.down.seconds = 0.0
    cache.down.failed(ConnectionError("still down"))
    assert not cache.down.blocked()  # the cooldown is over: the next call tries Redis again
    cache.down.seconds = 5.0
    assert cache.get("k") is None and cache.down.blocked()
