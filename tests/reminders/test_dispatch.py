"""The dispatcher on PostgreSQL: exactly once, catch-up without bursts, concurrent workers, a killed
worker, snooze, water, adaptive hydration, pruning and suggestions."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from diary.accounts.models import User
from diary.checkins.models import CheckIn, WaterIntake
from diary.notifications.housekeeping import notifications_prune
from diary.notifications.models import Notification
from reminders.content import HYDRATION_THIRSTY, NIGHT_STRETCH_SUGGESTION
from reminders.dispatch import dispatch_due
from reminders.models import ReminderRule
from tests.conftest import client_for, make_user, run_outbox
from tests.diary.sync.helpers import pull

BERLIN = ZoneInfo("Europe/Berlin")
ROOT = Path(__file__).resolve().parents[2]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def water_rule(**overrides: Any) -> dict[str, Any]:
    return {"kind": "hydration", "schedule": "interval", "interval_min": 120,
            "window_start": "08:00", "window_end": "22:00", **overrides}  # fmt: skip


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(at("2026-01-13T07:00"), tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
class TestOnePerson:
    def test_fires_once_and_advances(self, owner: User, clock: time_machine.Traveller) -> None:
        uid = client_for(owner).post("/api/v1/reminders", water_rule(), format="json").json()["id"]
        assert dispatch_due().fired == 0  # nothing due at 07:00
        clock.move_to(at("2026-01-13T08:00:30"))
        assert dispatch_due().fired == 1
        assert dispatch_due().fired == 0  # a re-run creates nothing twice
        n = Notification.objects.get(user=owner)
        assert (n.kind, n.reminder_id, n.scheduled_for) == ("reminder", uid, at("2026-01-13T08:00"))
        assert n.title == "Time for a glass of water" and "electrolytes" in n.body
        assert ReminderRule.objects.get(uid=uid).next_fire_at == at("2026-01-13T10:00")
        # The inbox row reaches the phone on its next pull.
        record = pull(client_for(owner), None)["changes"]["notifications"]["created"][0]
        assert record["id"] == n.uid and record["reminder_id"] == uid

    def test_downtime_fires_one_catch_up_never_a_burst(self, owner: User, clock: time_machine.Traveller) -> None:
        client_for(owner).post("/api/v1/reminders", water_rule(), format="json")
        clock.move_to(at("2026-01-15T15:30"))  # two and a half days without a tick
        assert dispatch_due().fired == 1
        rule = ReminderRule.objects.get(user=owner)
        assert rule.next_fire_at == at("2026-01-15T16:00")
        assert Notification.objects.get(user=owner).scheduled_for == at("2026-01-13T08:00")

    def test_a_timer_fires_once(self, owner: User, clock: time_machine.Traveller) -> None:
        fire_at = (timezone.now() + dt.timedelta(minutes=20)).isoformat()
        client_for(owner).post(
            "/api/v1/reminders", {"kind": "therapy", "schedule": "once", "fire_at": fire_at, "label": "Ice off"},
            format="json",
        )  # fmt: skip
        clock.shift(dt.timedelta(minutes=21))
        assert dispatch_due().fired == 1
        assert ReminderRule.objects.get(user=owner).next_fire_at is None
        clock.shift(dt.timedelta(days=1))
        assert dispatch_due().fired == 0
        n = Notification.objects.get(user=owner)
        assert n.title == "Ice off" and "20 minutes" in n.body

    def test_snooze_refires_after_snooze_min(self, owner: User, clock: time_machine.Traveller) -> None:
        client_for(owner).post("/api/v1/reminders", water_rule(kind="stretching", label="Stretch"), format="json")
        clock.move_to(at("2026-01-13T08:00:10"))
        dispatch_due()
        n = Notification.objects.get(user=owner)
        acted = at("2026-01-13T08:01")
        r = client_for(owner).patch(
            f"/api/v1/notifications/{n.uid}",
            {"action": "snoozed", "snooze_min": 15, "acted_at": acted.isoformat(), "delivered_at": acted.isoformat()},
            format="json",
        )
        assert r.status_code == 200 and r.json()["action"] == "snoozed"
        clock.move_to(at("2026-01-13T08:01:05"))
        run_outbox()
        run_outbox()  # a redelivered event changes nothing
        rule = ReminderRule.objects.get(user=owner)
        assert rule.next_fire_at == at("2026-01-13T08:16")
        clock.move_to(at("2026-01-13T08:16:20"))
        assert dispatch_due().fired == 1
        again = Notification.objects.filter(user=owner).order_by("-scheduled_for").first()
        assert again is not None and again.scheduled_for == at("2026-01-13T08:16") and "snoozed" in again.title
        rule.refresh_from_db()
        assert rule.snooze_until is None and rule.next_fire_at == at("2026-01-13T10:00")

    def test_done_logs_a_glass_and_the_next_reminder_in_the_interval_is_skipped(
        self, owner: User, clock: time_machine.Traveller
    ) -> None:
        client_for(owner).post("/api/v1/reminders", water_rule(interval_min=60), format="json")
        clock.move_to(at("2026-01-13T08:00:05"))
        dispatch_due()
        n = Notification.objects.get(user=owner)
        client_for(owner).patch(f"/api/v1/notifications/{n.uid}", {"action": "done", "acted_at": at("2026-01-13T08:02").isoformat()},
                  format="json")  # fmt: skip
        run_outbox()
        run_outbox()
        glass = WaterIntake.objects.get(user=owner)
        assert (glass.amount_ml, glass.source, glass.notification_uid) == (250, "reminder", n.uid)
        assert CheckIn.objects.get(user=owner, uid="2026-01-13").water_ml == 250
        # Water added in the app at 08:30 too; the 09:00 reminder is skipped (water within the hour).
        clock.move_to(at("2026-01-13T08:30"))
        assert client_for(owner).post("/api/v1/water", {"amount_ml": 330}, format="json").status_code == 201
        assert client_for(owner).get("/api/v1/checkins/2026-01-13").json()["water_ml"] == 580
        clock.move_to(at("2026-01-13T09:00:05"))
        result = dispatch_due()
        assert (result.fired, result.skipped) == (0, 1)
        assert ReminderRule.objects.get(user=owner).next_fire_at == at("2026-01-13T10:00")
        clock.move_to(at("2026-01-13T10:00:05"))
        assert dispatch_due().fired == 1

    def test_adaptive_hydration_comes_more_often_on_a_hot_day(self, owner: User, clock: time_machine.Traveller) -> None:
        client_for(owner).post("/api/v1/reminders", water_rule(adaptive=True), format="json")
        assert ReminderRule.objects.get(user=owner).next_fire_at == at("2026-01-13T08:00")
        clock.move_to(at("2026-01-13T08:00:05"))
        dispatch_due()
        assert ReminderRule.objects.get(user=owner).next_fire_at == at("2026-01-13T10:00")
        client_for(owner).put("/api/v1/checkins/2026-01-13", {"hot_weather": True}, format="json")
        run_outbox()
        # Two thirds of 120 minutes: 08:00, 09:20, 10:40, ...
        assert ReminderRule.objects.get(user=owner).next_fire_at == at("2026-01-13T09:20")
        clock.move_to(at("2026-01-13T09:20:05"))
        dispatch_due()
        n = Notification.objects.filter(user=owner).order_by("-scheduled_for").first()
        assert n is not None and n.title == HYDRATION_THIRSTY.title
        # Correcting the check-in lengthens it again.
        client_for(owner).patch("/api/v1/checkins/2026-01-13", {"hot_weather": False}, format="json")
        run_outbox()
        assert ReminderRule.objects.get(user=owner).next_fire_at == at("2026-01-13T10:00")

    def test_old_notifications_are_pruned_from_every_device(self, owner: User, clock: time_machine.Traveller) -> None:
        client_for(owner).post("/api/v1/reminders", water_rule(), format="json")
        clock.move_to(at("2026-01-13T08:00:05"))
        dispatch_due()
        since = pull(client_for(owner), None)["timestamp"]
        clock.move_to(at("2026-04-12T12:00"))
        assert notifications_prune() == 0  # 89 days
        clock.move_to(at("2026-04-14T12:00"))
        assert notifications_prune() == 1
        assert pull(client_for(owner), since)["changes"]["notifications"]["deleted"] == [Notification.objects.get().uid]

    def test_mostly_night_episodes_suggest_an_evening_stretch_once(
        self, owner: User, clock: time_machine.Traveller
    ) -> None:
        for day in range(6):
            started = at(f"2026-01-0{day + 2}T02:30").isoformat()
            body = {"kind": "cramp", "body_location": "calf", "started_at": started, "pain": 5}
            assert client_for(owner).post("/api/v1/episodes", body, format="json").status_code == 201
        run_outbox()
        run_outbox()
        suggestions = Notification.objects.filter(user=owner, kind="suggestion")
        assert [s.title for s in suggestions] == [NIGHT_STRETCH_SUGGESTION.title]
        client_for(owner).post(
            "/api/v1/episodes", {**body, "started_at": at("2026-01-12T03:00").isoformat()}, format="json"
        )
        run_outbox()
        assert suggestions.count() == 1


def _seed_due(people: int, rules_each: int) -> list[User]:
    users = [make_user(f"due{i}@example.com") for i in range(people)]
    for user in users:
        api = client_for(user)
        for j in range(rules_each):
            api.post("/api/v1/reminders", water_rule(window_start=f"08:{j:02d}"), format="json")
    return users


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_create_each_notification_exactly_once() -> None:
    with time_machine.travel(at("2026-01-13T07:00"), tick=False):
        _seed_due(40, 5)
    now = at("2026-01-13T08:10")
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(dispatch_due(now=now, batch_size=7).fired)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(results) == 200 == Notification.objects.count()
    assert Notification.objects.values("user", "reminder_id", "scheduled_for").distinct().count() == 200
    assert not ReminderRule.objects.filter(next_fire_at__lte=now).exists()


_KILLED_WORKER = """
import os, sys, time
import django
django.setup()
from reminders import dispatch
original = dispatch._save_schedule
def stall(rules):
    original(rules)
    print("READY", flush=True)  # every row of the batch is written; the commit never comes
    time.sleep(600)
dispatch._save_schedule = stall
import datetime as dt
dispatch.dispatch_due(now=dt.datetime.fromisoformat(sys.argv[1]), batch_size=1000)
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing() -> None:
    with time_machine.travel(at("2026-01-13T07:00"), tick=False):
        _seed_due(10, 3)
    now = at("2026-01-13T08:10")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings.test",
           "DATABASE_URL": _database_url()}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WORKER, now.isoformat()], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert Notification.objects.count() == 0  # the batch never committed
    # The next tick takes them all, once.
    _wait_for_backend_gone()
    assert dispatch_due(now=now).fired == 30
    assert dispatch_due(now=now).fired == 0
    assert Notification.objects.values("user", "reminder_id", "scheduled_for").distinct().count() == 30


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def _wait_for_backend_gone() -> None:
    """PostgreSQL notices the killed client's socket and rolls its transaction back."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in%%'"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)
