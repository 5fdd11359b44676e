"""The outbox: intents commit with the data; the task is idempotent; the sweeper recovers lost
wake-ups; a real worker on Redis does the work after commit."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction
from django.utils import timezone
from kombu import pools as kombu_pools
from rest_framework.test import APIClient

from backend.celery import app as celery_app
from diary.accounts.models import User
from diary.outbox import routes, services, tasks
from diary.outbox.checks import routes_resolve
from diary.outbox.models import OutboxEvent
from diary.sync import checks as sync_checks
from diary.sync import registry
from diary.sync.checks import tables_resolve
from tests.conftest import client_for, episode_body, make_user

TOPIC = "test.topic"
SEEN: list[tuple[int, dict[str, Any]]] = []
ATTEMPTS: list[int] = []


def record(user_id: int, payload: dict[str, Any]) -> None:
    SEEN.append((user_id, payload))


def flaky(user_id: int, payload: dict[str, Any]) -> None:
    ATTEMPTS.append(user_id)
    if len(ATTEMPTS) == 1:
        raise ConnectionError("push service unreachable")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    SEEN.clear()
    monkeypatch.setitem(routes.AFTER_COMMIT, TOPIC, (f"{__name__}.record",))
    yield SEEN


def test_every_route_names_a_handler() -> None:
    """The routing table's dotted paths all resolve (``manage.py check`` says the same)."""
    for topic in routes.AFTER_COMMIT:
        assert routes.handlers_for(topic) and all(callable(h) for h in routes.handlers_for(topic))
    for topic in routes.IN_TRANSACTION:
        assert routes.hooks_for(topic) and all(callable(h) for h in routes.hooks_for(topic))
    assert routes.handlers_for("nobody.routes.this") == ()


def test_check_reports_a_route_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    assert routes_resolve() == []
    monkeypatch.setitem(routes.AFTER_COMMIT, TOPIC, ("diary.alerts.handlers.no_such_handler",))
    (error,) = routes_resolve()
    assert error.id == "outbox.E001" and "no_such_handler" in error.msg


@pytest.mark.django_db(transaction=True)
def test_enqueue_needs_the_writes_transaction() -> None:
    user = make_user()
    with pytest.raises(RuntimeError):
        services.outbox_enqueue(user_id=user.pk, topic=TOPIC, payloads=[{}])


@pytest.mark.django_db
def test_a_rolled_back_write_leaves_no_intent(owner: User) -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        services.outbox_enqueue(user_id=owner.pk, topic=TOPIC, payloads=[{"n": 1}])
        _ = 1 / 0
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_task_as_a_function_runs_handlers_once(owner: User, calls: list[Any]) -> None:
    with transaction.atomic():
        (event_id,) = services.outbox_enqueue(user_id=owner.pk, topic=TOPIC, payloads=[{"n": 1}])
    assert tasks.outbox_deliver(event_id) is True
    assert tasks.outbox_deliver(event_id) is False  # redelivered message: nothing runs twice
    assert calls == [(owner.pk, {"n": 1})]
    event = OutboxEvent.objects.get(pk=event_id)
    assert event.processed_at is not None and event.attempts == 1


@pytest.mark.django_db
def test_failing_handler_backs_off_and_the_sweeper_retries(owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    ATTEMPTS.clear()
    monkeypatch.setitem(routes.AFTER_COMMIT, TOPIC, (f"{__name__}.flaky",))
    with transaction.atomic():
        (event_id,) = services.outbox_enqueue(user_id=owner.pk, topic=TOPIC, payloads=[{}])
    assert services.outbox_process(event_id=event_id) is False
    event = OutboxEvent.objects.get(pk=event_id)
    assert event.processed_at is None and event.attempts == 1 and "unreachable" in event.last_error
    # The shared back-off (diary/core/backoff.py): 30 s after the first failure, as push deliveries wait.
    assert timezone.now() + dt.timedelta(seconds=25) < event.available_at <= timezone.now() + dt.timedelta(seconds=30)
    assert services.outbox_due() == []  # backing off
    OutboxEvent.objects.filter(pk=event_id).update(available_at=timezone.now() - dt.timedelta(seconds=1))
    published: list[list[int]] = []
    monkeypatch.setattr(services, "_publish", lambda ids, **_: published.append(ids))
    assert tasks.outbox_sweep() == 1
    assert published == [[(event_id, f"{__name__}.flaky")]]
    assert services.outbox_process(event_id=event_id) is True
    assert OutboxEvent.objects.get(pk=event_id).processed_at is not None


def _reset_producer_pool(broker_url: str) -> None:
    # Celery caches connection and producer pools per app; drop both so the next publish
    # connects to ``broker_url``.
    celery_app.conf.broker_url = broker_url
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu_pools.reset()  # kombu's process-wide producer pools still point at the closed connections


@pytest.mark.django_db(transaction=True)
def test_broker_down_never_fails_the_write_and_the_sweeper_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the broker unreachable the person's write still succeeds; the intent waits in the table."""
    user = make_user()
    api = client_for(user)
    good_url = celery_app.conf.broker_url
    _reset_producer_pool("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        started = time.monotonic()
        r = api.post("/api/v1/episodes/", episode_body(), format="json")
        assert r.status_code == 201
        assert time.monotonic() - started < 10
    finally:
        _reset_producer_pool(good_url)
    events = OutboxEvent.objects.filter(user=user, topic="episode.written")
    assert len(events) == len(routes.AFTER_COMMIT["episode.written"])  # one per handler
    assert all(event.processed_at is None for event in events)
    events.update(available_at=timezone.now())
    assert sorted(services.outbox_due()) == sorted(event.pk for event in events)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_processes_the_intent_after_commit(calls: list[Any]) -> None:
    user = make_user()
    api: APIClient = client_for(user)
    _reset_producer_pool(celery_app.conf.broker_url)  # whatever earlier tests did to the pools
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        r = api.post("/api/v1/episodes/", episode_body(), format="json")
        assert r.status_code == 201
        event = OutboxEvent.objects.get(
            user=user, topic="episode.written", handler="diary.alerts.handlers.episode_written"
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            event.refresh_from_db()
            if event.processed_at is not None:
                break
            time.sleep(0.1)
    assert event.processed_at is not None, "the worker never processed the outbox event"
    assert event.payload["uids"] == [r.json()["id"]]


@pytest.mark.django_db(transaction=True)
def test_in_transaction_topics_need_the_callers_transaction() -> None:
    user = make_user()
    with pytest.raises(RuntimeError):
        services.topic_run(user_id=user.pk, topic=routes.ACCOUNT_SCHEDULE_CHANGED, payload={})


def test_check_reports_a_synced_table_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    assert tables_resolve() == []
    fresh = registry._Lazy(registry._tables)  # the module's mapping caches what it resolved
    monkeypatch.setattr(registry, "SYNCED", fresh)
    monkeypatch.setattr(sync_checks, "SYNCED", fresh)
    monkeypatch.setitem(registry.TABLE_PATHS, "alerts", "diary.alerts.tables.NO_SUCH_TABLE")
    (error,) = tables_resolve()
    assert error.id == "sync.E001" and "NO_SUCH_TABLE" in error.msg
