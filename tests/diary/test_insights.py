"""Insights on the Django side: debounced after writes, on request, nightly; leases; the API; and
adaptive hydration following a low-water finding."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.checkins.models import CheckIn
from diary.core.fields import zone
from diary.episodes.models import Episode
from diary.patterns.models import InsightsDue, InsightSnapshot
from diary.patterns.selectors import low_water_linked
from diary.patterns.services import LEASE, insights_run, insights_run_due
from diary.patterns.tasks import insights_chunk
from reminders.models import ReminderRule
from reminders.selectors import adaptive_days
from reminders.timing import rule_values
from tests.conftest import client_for, episode_body, run_outbox

pytestmark = pytest.mark.django_db


def test_a_burst_of_writes_causes_one_run_a_minute_later(owner: User) -> None:
    api = client_for(owner)
    for _ in range(5):
        assert api.post("/api/v1/episodes", episode_body(), format="json").status_code == 201
    api.put(f"/api/v1/checkins/{timezone.now().date()}", {"water_ml": 900}, format="json")
    run_outbox()
    (due,) = InsightsDue.objects.filter(user=owner)
    assert dt.timedelta(seconds=50) < due.due_at - timezone.now() <= dt.timedelta(seconds=60)
    assert insights_run_due() == 0  # still inside the minute
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert insights_run_due() == 1
    assert InsightSnapshot.objects.filter(user=owner).count() == 1
    assert not InsightsDue.objects.exists()
    body = client_for(owner).get("/api/v1/insights").json()
    assert body["data"] == {"episodes": 5, "checkins": 1} and body["report"]["version"] == body["version"]


def test_refresh_is_202_and_runs_at_once(owner: User) -> None:
    api = client_for(owner)
    api.post("/api/v1/episodes", episode_body(), format="json")
    before = api.get("/api/v1/insights").json()
    assert before["report"] is None and before["computed_at"] is None
    r = api.post("/api/v1/insights/refresh")
    assert r.status_code == 202 and r.json()["refresh_due_at"] is not None
    assert insights_run_due() == 1
    assert api.get("/api/v1/insights/").json()["computed_at"] is not None


def test_a_worker_killed_mid_run_delays_the_refresh_never_loses_it(owner: User) -> None:
    InsightsDue.objects.create(user=owner, due_at=timezone.now())
    # The claim commits (a lease), then the worker dies before the run: the row stays, leased.
    InsightsDue.objects.filter(user=owner).update(due_at=timezone.now() + LEASE)
    assert insights_run_due() == 0
    with time_machine.travel(timezone.now() + LEASE + dt.timedelta(seconds=1)):
        assert insights_run_due() == 1
    assert InsightSnapshot.objects.filter(user=owner).exists() and not InsightsDue.objects.exists()


def test_insights_are_the_persons_own(owner: User, other: User, clinician: User) -> None:
    client_for(owner).post("/api/v1/episodes", episode_body(), format="json")
    insights_run(user=owner)
    assert client_for(other).get("/api/v1/insights").json()["report"] is None
    assert client_for(other).post("/api/v1/insights/refresh").status_code == 202
    assert not InsightsDue.objects.filter(user=owner).exists()
    assert client_for(clinician).get("/api/v1/insights").status_code == 403
    assert APIClient().get("/api/v1/insights").status_code == 401


def test_only_recent_snapshots_are_kept(owner: User) -> None:
    for _ in range(7):
        insights_run(user=owner)
    assert InsightSnapshot.objects.filter(user=owner).count() == 5


def test_the_nightly_chunk_runs_each_person(owner: User, other: User) -> None:
    assert insights_chunk([owner.pk, other.pk]) == 2
    assert InsightSnapshot.objects.filter(user__in=[owner, other]).count() == 2


def _low_water_person(user: User, *, days: int = 150, seed: int = 7) -> None:
    """Episodes three times as frequent on days under 1.5 L: a planted effect the analysis must find."""
    rnd = random.Random(seed)
    today = timezone.now().date()
    now = timezone.now()
    checkins: list[CheckIn] = []
    episodes: list[Episode] = []
    for back in range(1, days + 1):
        day = today - dt.timedelta(days=back)
        low = rnd.random() < 0.35
        checkins.append(CheckIn(user=user, uid=day.isoformat(), seq=back, date=day, water_ml=1000 if low else 2500,
                                created_at=now, updated_at=now))  # fmt: skip
        rate = 1.5 if low else 0.4
        count = sum(rnd.random() < rate / 4 for _ in range(4)) + (1 if low and rnd.random() < 0.5 else 0)
        for k in range(count):
            started = dt.datetime.combine(day, dt.time(14, 0), tzinfo=dt.UTC) + dt.timedelta(minutes=7 * k)
            episodes.append(Episode(user=user, uid=f"{back}-{k}", seq=1000 + len(episodes), kind="cramp",
                                    body_location="calf", started_at=started, tz="UTC", duration_s=60, pain=4,
                                    symptoms=[], triggers=[], relief=[], created_at=started, updated_at=started))  # fmt: skip
    CheckIn.objects.bulk_create(checkins)
    Episode.objects.bulk_create(episodes)


def test_a_low_water_finding_makes_adaptive_hydration_come_more_often(owner: User) -> None:
    r = client_for(owner).post(
        "/api/v1/reminders",
        {"kind": "hydration", "schedule": "interval", "interval_min": 120, "window_start": "00:00",
         "window_end": "23:59", "adaptive": True},
        format="json",
    )  # fmt: skip
    before = ReminderRule.objects.get(uid=r.json()["id"]).next_fire_at
    _low_water_person(owner)
    insights_run(user=owner)
    assert low_water_linked(user_id=owner.pk)
    assert run_outbox() >= 1  # the insights.changed event: reminders follow after commit
    rule = ReminderRule.objects.get(uid=r.json()["id"])
    assert before is not None and rule.next_fire_at is not None
    # Every day is a thirsty day now: two thirds of 120 minutes, on the local clock.
    local = rule.next_fire_at.astimezone(zone(owner.current_timezone))
    assert (local.hour * 60 + local.minute) % 80 == 0
    assert adaptive_days(owner, rule_values(rule))


def test_the_insights_response_leads_with_a_summary_and_keeps_every_old_field(owner: User) -> None:
    """Version 2 adds ``summary`` (at most three headlines, the no-clear-link sentence, not a diagnosis);
    every field the app already reads is still there."""
    _low_water_person(owner)
    insights_run(user=owner)
    body = client_for(owner).get("/api/v1/insights").json()
    assert set(body) == {"computed_at", "version", "window", "data", "refresh_due_at", "report"}
    report = body["report"]
    assert body["version"] == report["version"] == 2
    for key in ("disclaimer", "window", "frequency", "duration", "timing", "where", "triggers", "not_enough_data",
                "suspected", "relief", "multiple_testing", "rules"):  # fmt: skip
        assert key in report
    summary = report["summary"]
    assert 1 <= len(summary["headlines"]) <= 3
    water = next(f for f in report["triggers"] if f["exposure"] == "low_water" and f["lag"] == 0)
    assert summary["headlines"][0] == {"kind": "trigger", "sentence": water["sentence"]}
    assert water["sentence"].startswith("Cramps happened about ") and " times, 95% CI " in water["sentence"]
    assert summary["sentence"].endswith("This is not a diagnosis: talk to a clinician about anything that worries you.")
    # the window is the complete days: it ends yesterday in the person's zone
    today = timezone.now().astimezone(zone(owner.current_timezone)).date()
    assert body["window"]["end"] == report["window"]["end"] == (today - dt.timedelta(days=1)).isoformat()
