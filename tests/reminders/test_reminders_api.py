"""Reminder rules over REST and sync: validation, next_fire_at, defaults, zone changes, isolation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from diary.accounts.models import User
from reminders.models import ReminderRule
from reminders.tables import MAX_RULES
from tests.conftest import assert_error, client_for
from tests.diary.sync.helpers import changes, pull, push

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
# A Tuesday morning in Berlin (CET, UTC+1).
NOW = dt.datetime(2026, 1, 13, 8, 10, tzinfo=BERLIN)


def rule(**overrides: Any) -> dict[str, Any]:
    return {"kind": "hydration", "schedule": "interval", "interval_min": 120,
            "window_start": "08:00", "window_end": "22:00", **overrides}  # fmt: skip


def local(value: str, zone: ZoneInfo = BERLIN) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(zone)


class TestRules:
    @pytest.fixture(autouse=True)
    def _tuesday_morning(self) -> Iterator[None]:
        with time_machine.travel(NOW, tick=False):
            yield

    def test_create_returns_the_next_fire_time_in_the_persons_zone(self, owner: User) -> None:
        r = client_for(owner).post("/api/v1/reminders", rule(), format="json")
        assert r.status_code == 201, r.json()
        assert local(r.json()["next_fire_at"]).replace(tzinfo=None) == dt.datetime(2026, 1, 13, 10, 0)
        times = client_for(owner).post(
            "/api/v1/reminders/", rule(schedule="times", times=["21:30", "07:15"], weekdays=[0, 2]), format="json"
        )
        assert times.json()["times"] == ["07:15", "21:30"]
        # Tuesday: the next is Wednesday 07:15.
        assert local(times.json()["next_fire_at"]).replace(tzinfo=None) == dt.datetime(2026, 1, 14, 7, 15)

    def test_a_window_left_empty_follows_the_persons_waking_hours(self, owner: User) -> None:
        owner.wake_time, owner.sleep_time = dt.time(9, 30), dt.time(23, 0)
        owner.save()
        r = client_for(owner).post("/api/v1/reminders", rule(window_start=None, window_end=None), format="json")
        assert local(r.json()["next_fire_at"]).time() == dt.time(9, 30)

    def test_a_timer_fires_once_at_its_instant(self, owner: User) -> None:
        fire_at = (NOW + dt.timedelta(minutes=20)).isoformat()
        r = client_for(owner).post(
            "/api/v1/reminders",
            {"kind": "therapy", "label": "Remove the ice pack", "schedule": "once", "fire_at": fire_at},
            format="json",
        )
        assert r.status_code == 201, r.json()
        assert local(r.json()["next_fire_at"]) == NOW + dt.timedelta(minutes=20)

    def test_disabling_or_deleting_clears_the_due_time(self, owner: User) -> None:
        api = client_for(owner)
        uid = api.post("/api/v1/reminders", rule(), format="json").json()["id"]
        off = api.patch(f"/api/v1/reminders/{uid}", {"enabled": False}, format="json")
        assert off.status_code == 200 and off.json()["next_fire_at"] is None
        on = api.patch(f"/api/v1/reminders/{uid}/", {"enabled": True, "interval_min": 30}, format="json")
        assert local(on.json()["next_fire_at"]).replace(tzinfo=None) == dt.datetime(2026, 1, 13, 8, 30)
        assert api.delete(f"/api/v1/reminders/{uid}").status_code == 204
        row = ReminderRule.objects.get(uid=uid)
        assert row.deleted_at is not None and row.next_fire_at is None
        assert api.get(f"/api/v1/reminders/{uid}").status_code == 404

    def test_put_is_idempotent_create_or_replace(self, owner: User) -> None:
        api = client_for(owner)
        first = api.put("/api/v1/reminders/water-1", rule(), format="json")
        again = api.put("/api/v1/reminders/water-1", rule(), format="json")
        assert (first.status_code, again.status_code) == (201, 200)
        assert api.get("/api/v1/reminders").json()["results"][0]["id"] == "water-1"

    def test_a_change_of_zone_or_waking_hours_reschedules(self, owner: User) -> None:
        api = client_for(owner)
        device = api.post("/api/v1/reminders", rule(), format="json").json()["id"]
        home = api.post("/api/v1/reminders", rule(tz_mode="home"), format="json").json()["id"]
        # The phone reports New York (06:10 there -> 08:00 New York); home time stays Berlin's 10:00.
        assert api.patch("/api/v1/me", {"device_timezone": "America/New_York"}, format="json").status_code == 200
        ny = ZoneInfo("America/New_York")
        by_id = {r["id"]: r for r in api.get("/api/v1/reminders").json()["results"]}
        assert local(by_id[device]["next_fire_at"], ny).replace(tzinfo=None) == dt.datetime(2026, 1, 13, 8, 0)
        assert local(by_id[home]["next_fire_at"]).replace(tzinfo=None) == dt.datetime(2026, 1, 13, 10, 0)

    def test_the_same_rule_arrives_by_sync_with_its_schedule(self, owner: User) -> None:
        api = client_for(owner)
        first = pull(api, None)
        raw = {"id": "r1", "kind": "stretching", "label": None, "schedule": "times", "interval_min": None,
               "window_start": None, "window_end": None, "times": '["21:00"]', "weekdays": "[]",
               "quiet_start": None, "quiet_end": None, "fire_at": None, "tz_mode": "device", "adaptive": False,
               "enabled": True}  # fmt: skip
        body = push(api, first["timestamp"], changes(reminders={"created": [raw], "updated": [], "deleted": []}))
        assert body["rejected"] == {}
        row = ReminderRule.objects.get(user=owner, uid="r1")
        assert row.next_fire_at is not None and row.next_fire_at.astimezone(BERLIN).time() == dt.time(21, 0)
        # An edit over sync recomputes it too.
        later = pull(api, first["timestamp"])
        push(api, later["timestamp"], changes(reminders={"created": [], "updated": [{**raw, "times": '["06:45"]'}],
                                                           "deleted": []}))  # fmt: skip
        row.refresh_from_db()
        assert row.next_fire_at is not None and row.next_fire_at.astimezone(BERLIN).time() == dt.time(6, 45)


def test_a_new_person_gets_water_and_an_evening_stretch(anon: APIClient) -> None:
    r = anon.post(
        "/api/v1/auth/register",
        {"email": "fresh@example.com", "password": "a sturdy pass phrase 42", "timezone": "Asia/Kolkata",
         "sleep_time": "23:30"},
        format="json",
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {r.json()['access']}")
    rules = {x["kind"]: x for x in api.get("/api/v1/reminders").json()["results"]}
    assert rules["hydration"]["interval_min"] == 120 and rules["hydration"]["adaptive"] is True
    assert rules["stretching"]["times"] == ["22:30"]
    assert all(x["next_fire_at"] for x in rules.values())
    # They reach the phone by sync like any other rule.
    assert len(pull(api, None)["changes"]["reminders"]["created"]) == 2


def test_a_clinician_account_keeps_no_reminders(db: None) -> None:
    from diary.accounts.services import user_make_clinician
    from tests.conftest import make_user

    doc = user_make_clinician(user=make_user("newdoc@example.com", default_reminders=True))
    assert not ReminderRule.objects.filter(user=doc, deleted_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"window_start": "22:00", "window_end": "08:00"}, "window_end"),
        ({"window_start": "08:00", "window_end": "08:00"}, "window_end"),
        ({"window_start": "08:00", "window_end": None}, "window_end"),
        ({"interval_min": 10}, "interval_min"),
        ({"interval_min": 1441}, "interval_min"),
        ({"interval_min": "often"}, "interval_min"),
        ({"interval_min": None}, "interval_min"),
        ({"schedule": "times", "times": ["7:5"]}, "times"),
        ({"schedule": "times", "times": ["25:00"]}, "times"),
        ({"schedule": "times", "times": "07:00"}, "times"),
        ({"schedule": "times", "times": []}, "times"),
        ({"schedule": "times", "times": ["23:30"], "quiet_start": "23:00", "quiet_end": "07:00"}, "times"),
        ({"quiet_start": "23:00"}, "quiet_end"),
        ({"weekdays": [7]}, "weekdays"),
        ({"kind": "coffee"}, "kind"),
        ({"schedule": "hourly"}, "schedule"),
        ({"tz_mode": "Europe/Berlin"}, "tz_mode"),
        ({"schedule": "once"}, "fire_at"),
        ({"schedule": "once", "fire_at": "tomorrow"}, "fire_at"),
        ({"label": "x" * 121}, "label"),
        ({"colour": "blue"}, "colour"),
        ({"id": "no spaces please"}, "id"),
    ],
)
def test_bad_rules_are_a_400_naming_the_field_and_write_nothing(
    owner: User, overrides: dict[str, Any], field: str
) -> None:
    r = client_for(owner).post("/api/v1/reminders", rule(**overrides), format="json")
    assert_error(r, 400, field)
    assert not ReminderRule.objects.filter(user=owner).exists()


def test_quiet_hours_may_cross_midnight(owner: User) -> None:
    r = client_for(owner).post("/api/v1/reminders", rule(quiet_start="22:00", quiet_end="07:00"), format="json")
    assert r.status_code == 201, r.json()


def test_an_unknown_zone_is_refused(owner: User) -> None:
    r = client_for(owner).patch("/api/v1/me", {"device_timezone": "Mars/Olympus_Mons"}, format="json")
    assert_error(r, 400, "device_timezone")


def test_at_most_fifty_rules_over_rest_and_sync(owner: User) -> None:
    api = client_for(owner)
    for i in range(MAX_RULES):
        assert api.put(f"/api/v1/reminders/r{i}", rule(), format="json").status_code == 201
    assert_error(api.post("/api/v1/reminders", rule(), format="json"), 400, "reminders")
    # Replacing an existing one is fine; so is a new one after a delete.
    assert api.put("/api/v1/reminders/r0", rule(interval_min=60), format="json").status_code == 200
    last = pull(api, None)["timestamp"]
    raw = {"kind": "hydration", "schedule": "interval", "interval_min": 60, "tz_mode": "device",
           "adaptive": False, "enabled": True}  # fmt: skip
    body = push(
        api, last, changes(reminders={"created": [{**raw, "id": "s1"}, {**raw, "id": "s2"}], "updated": [],
                                      "deleted": ["r1"]}),
    )  # fmt: skip
    assert body["experimentalRejectedIds"] == {"reminders": ["s2"]}
    assert "at most 50" in body["rejected"]["reminders"]["s2"]["reason"]
    assert ReminderRule.objects.filter(user=owner, deleted_at__isnull=True).count() == MAX_RULES


def test_nobody_reads_or_changes_another_persons_rules(owner: User, other: User, clinician: User) -> None:
    uid = client_for(owner).post("/api/v1/reminders", rule(), format="json").json()["id"]
    intruder = client_for(other)
    assert intruder.get(f"/api/v1/reminders/{uid}").status_code == 404
    assert intruder.patch(f"/api/v1/reminders/{uid}", {"enabled": False}, format="json").status_code == 404
    assert intruder.delete(f"/api/v1/reminders/{uid}").status_code == 404
    assert intruder.get("/api/v1/reminders").json()["results"] == []
    # PUT with the same id creates the other person's own rule; the owner's is untouched.
    assert intruder.put(f"/api/v1/reminders/{uid}", rule(interval_min=15), format="json").status_code == 201
    assert ReminderRule.objects.get(user=owner, uid=uid).interval_min == 120
    assert client_for(clinician).get("/api/v1/reminders").status_code == 403
    assert APIClient().get("/api/v1/reminders").status_code == 401


def test_next_fire_at_is_not_part_of_the_sync_wire(owner: User) -> None:
    api = client_for(owner)
    api.post("/api/v1/reminders", rule(), format="json")
    record = pull(api, None)["changes"]["reminders"]["created"][0]
    assert "next_fire_at" not in record and "snooze_until" not in record
