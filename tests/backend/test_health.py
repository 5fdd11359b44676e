"""/healthz reports the database and the broker, and answers 503 naming what is down."""

from __future__ import annotations

import pytest
from django.test import Client

from backend.celery import app as celery_app
from tests.diary.test_outbox import _reset_producer_pool


@pytest.mark.django_db
def test_healthy() -> None:
    r = Client().get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert r["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_a_broker_outage_is_a_503_naming_the_broker() -> None:
    good = celery_app.conf.broker_url
    _reset_producer_pool("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        r = Client().get("/healthz/")
    finally:
        _reset_producer_pool(good)
    assert r.status_code == 503
    body = r.json()
    assert (body["status"], body["database"], body["broker"]) == ("degraded", "ok", "unreachable")
    assert body["took_ms"] < 5000
