"""Shared fixtures. Every permission test has an owner, another person and a clinician, so there
is always someone who must be refused (the Healthchecks habit)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from backend.breaker import BROKER
from diary.accounts.models import User
from diary.accounts.second_factor import tokens_for
from diary.accounts.services import user_make_clinician, user_register

# The loopback push services (Web Push, FCM, APNs) for any test that needs a push to arrive.
pytest_plugins = ["tests.push_fixtures"]

PASSWORD = "a sturdy pass phrase 42"
_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    BROKER.reset()  # a test that took the broker down leaves no cooldown behind
    yield
    cache.clear()
    BROKER.reset()


def make_user(
    email: str | None = None, *, timezone: str = "Europe/Berlin", default_reminders: bool = False, **extra: Any
) -> User:
    """A registered person; without the default reminders unless asked, so a test sees only its own rows."""
    return user_register(
        email=email or f"person{next(_counter)}@example.com",
        password=PASSWORD,
        timezone=timezone,
        default_reminders=default_reminders,
        **extra,
    )


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        # As the app signs in: a clinician with the code from the authenticator app (amr pwd+otp).
        access = tokens_for(user, second_factor=user.is_clinician)["access"]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def owner(db: None) -> User:
    return make_user("owner@example.com")


@pytest.fixture
def other(db: None) -> User:
    return make_user("other@example.com", timezone="America/New_York")


@pytest.fixture
def clinician(db: None) -> User:
    return user_make_clinician(user=make_user("doc@example.com"))


@pytest.fixture
def api(owner: User) -> APIClient:
    return client_for(owner)


@pytest.fixture
def other_api(other: User) -> APIClient:
    return client_for(other)


@pytest.fixture
def clinician_api(clinician: User) -> APIClient:
    return client_for(clinician)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def iso_ago(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**delta)).isoformat()


def episode_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "cramp",
        "subtype": "nocturnal",
        "body_location": "calf",
        "side": "left",
        "started_at": iso_ago(hours=3),
        "tz": "Europe/Berlin",
        "duration_s": 90,
        "pain": 6,
        "symptoms": ["lingering_pain"],
        "triggers": ["dehydration"],
        "activity": "sleep",
        "relief": ["stretching"],
        "relief_score": 7,
        "notes": "woke me up",
    }
    body.update(overrides)
    return body


def assert_error(response: Any, status: int, *fields: str) -> dict[str, Any]:
    """The one error shape: {"error", "message", "details": {field: [reasons]}} naming each field."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = response.json()
    assert set(body) == {"error", "message", "details"}, body
    for name in fields:
        assert name in body["details"], (name, body)
        assert body["details"][name] and all(isinstance(r, str) and r for r in body["details"][name])
    return body


def run_outbox() -> int:
    """What the worker would do: process every outbox event pending now, once. Returns how many ran
    (events their handlers enqueue wait for the next call)."""
    from diary.outbox.models import OutboxEvent
    from diary.outbox.services import outbox_process

    pending = OutboxEvent.objects.filter(processed_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    return sum(outbox_process(event_id=event_id) for event_id in list(pending))
