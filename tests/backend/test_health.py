"""/healthz reports the database and the broker, and answers 503 naming what is down."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client, RequestFactory

from backend.celery import app as celery_app
from tests.conftest import client_for, make_user
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


@contextmanager
def _database_unreachable() -> Iterator[None]:
    """Point the default connection at a port where nothing listens (a real failed connect)."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/episodes/", None),
        ("post", "/api/v1/checkins/", {"date": "2026-01-02", "water_ml": 500}),
        ("post", "/api/v1/sync/push?last_pulled_at=0", {"changes": {}}),
        ("get", "/api/v1/sync/pull?last_pulled_at=0", None),
    ],
)
def test_api_answers_503_with_retry_after_while_the_database_is_down(method: str, path: str, body: Any) -> None:
    """A database outage is not a bug: clients see 503 and Retry-After (and retry), never a 500."""
    api = client_for(make_user())
    api.raise_request_exception = False
    with _database_unreachable():
        r = getattr(api, method)(path, body, format="json") if body is not None else getattr(api, method)(path)
    assert r.status_code == 503, r.content
    assert r.json()["error"] == "unavailable"
    assert int(r["Retry-After"]) > 0
    assert api.get("/api/v1/episodes/").status_code == 200  # and it recovers by itself


@pytest.mark.django_db(transaction=True)
def test_web_pages_and_healthz_answer_503_while_the_database_is_down() -> None:
    web = Client(raise_request_exception=False)
    web.force_login(make_user())  # a signed-in session: loading it needs the database
    with _database_unreachable():
        page = web.get("/clinician/")
        health = web.get("/healthz")
    assert page.status_code == 503 and page["Retry-After"]
    assert health.status_code == 503 and health.json()["database"] == "unreachable"


@pytest.mark.django_db
def test_other_errors_stay_500() -> None:
    """Only the database being unreachable becomes a 503; a bug is still a 500 (and is logged)."""
    from backend.views import server_error

    try:
        raise ValueError("a bug")
    except ValueError:
        r = server_error(RequestFactory().get("/api/v1/episodes/"))
    assert r.status_code == 500
