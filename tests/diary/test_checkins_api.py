from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from diary.accounts.models import User
from diary.checkins.models import CheckIn
from diary.outbox.models import OutboxEvent
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()
DAY = (TODAY - dt.timedelta(days=2)).isoformat()


def body(**overrides: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "water_ml": 1800,
        "caffeine_servings": 2,
        "alcohol_units": 0.5,
        "exercise_min": 45,
        "exercise_intensity": "vigorous",
        "hot_weather": True,
        "sleep_h": 6.5,
        "stress": 4,
        "sitting_h": 7,
        "stretched": False,
        "medications": ["statin", "custom:vitamin D"],
        "menstruating": False,
        "fluid_changes": False,
        "notes": "long run",
    }
    b.update(overrides)
    return b


def test_put_is_an_upsert_keyed_by_the_date(api: APIClient, owner: User) -> None:
    r = api.put(f"/api/v1/checkins/{DAY}", body(), format="json")
    assert r.status_code == 201
    assert r.json()["id"] == r.json()["date"] == DAY
    assert r.json()["medications"] == ["statin", "custom:vitamin D"]
    r2 = api.put(f"/api/v1/checkins/{DAY}/", body(water_ml=2500, notes=None), format="json")
    assert r2.status_code == 200 and r2.json()["water_ml"] == 2500
    assert CheckIn.objects.filter(user=owner).count() == 1
    assert (
        OutboxEvent.objects.filter(topic="checkin.written", handler="diary.alerts.handlers.checkin_written").count()
        == 2
    )


def test_post_creates_and_refuses_a_second_for_the_day(api: APIClient) -> None:
    assert api.post("/api/v1/checkins/", {**body(), "date": DAY}, format="json").status_code == 201
    assert_error(api.post("/api/v1/checkins", {"date": DAY, "id": DAY}, format="json"), 409, "id")


def test_every_value_may_be_null(api: APIClient) -> None:
    r = api.put(f"/api/v1/checkins/{DAY}", {}, format="json")
    assert r.status_code == 201
    assert r.json()["water_ml"] is None and r.json()["medications"] == []


def test_patch_keeps_other_values(api: APIClient) -> None:
    api.put(f"/api/v1/checkins/{DAY}", body(), format="json")
    r = api.patch(f"/api/v1/checkins/{DAY}", {"stress": 9}, format="json")
    assert r.json()["stress"] == 9 and r.json()["water_ml"] == 1800


def test_a_patch_with_a_null_update_time_is_stamped_now(api: APIClient) -> None:
    """Found by the fuzzer: ``"updated_at": null`` in a PATCH reached the NOT NULL column (a 500)."""
    api.put(f"/api/v1/checkins/{DAY}", body(), format="json")
    r = api.patch(f"/api/v1/checkins/{DAY}", {"stress": 1, "updated_at": None}, format="json")
    assert r.status_code == 200 and r.json()["updated_at"] is not None


@pytest.mark.parametrize(
    ("url_date", "payload", "field"),
    [
        (DAY, {"date": "2026-01-01"}, "date"),  # the id is the date: they must agree
        (DAY, {"id": "2026-01-01"}, "date"),
        ("2026-02-30", {}, "date"),
        ("tomorrowish", {}, "date"),
        ((TODAY + dt.timedelta(days=3)).isoformat(), {}, "date"),
        (DAY, {"water_ml": -1}, "water_ml"),
        (DAY, {"water_ml": "lots"}, "water_ml"),
        (DAY, {"stress": 11}, "stress"),
        (DAY, {"sleep_h": 25}, "sleep_h"),
        (DAY, {"exercise_intensity": "extreme"}, "exercise_intensity"),
        (DAY, {"hot_weather": "yes"}, "hot_weather"),
        (DAY, {"medications": ["aspirin"]}, "medications"),
        (DAY, {"notes": "n" * 2001}, "notes"),
        (DAY, {"mood": 3}, "mood"),
    ],
)
def test_bad_input(api: APIClient, url_date: str, payload: dict[str, Any], field: str) -> None:
    assert_error(api.put(f"/api/v1/checkins/{url_date}", payload, format="json"), 400, field)
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("field", ["id", "date"])
@pytest.mark.parametrize("value", [{}, [], ["2026-01-01"], 20260101])
def test_a_day_that_is_not_text_is_a_400(api: APIClient, field: str, value: Any) -> None:
    """Found by the fuzzer: an object or a list as the id or date was a 500 (unhashable in a set)."""
    assert_error(api.post("/api/v1/checkins", {field: value}, format="json"), 400, field)
    assert_error(api.put(f"/api/v1/checkins/{DAY}", {field: value}, format="json"), 400, field)
    api.put(f"/api/v1/checkins/{DAY}", {}, format="json")
    assert_error(api.patch(f"/api/v1/checkins/{DAY}", {field: value}, format="json"), 400, field)


def test_list_newest_first_with_date_filters(api: APIClient) -> None:
    for back in range(1, 6):
        api.put(f"/api/v1/checkins/{(TODAY - dt.timedelta(days=back)).isoformat()}", body(), format="json")
    dates = [c["date"] for c in api.get("/api/v1/checkins/").json()["results"]]
    assert dates == sorted(dates, reverse=True) and len(dates) == 5
    frm = (TODAY - dt.timedelta(days=3)).isoformat()
    assert len(api.get(f"/api/v1/checkins/?from={frm}").json()["results"]) == 3
    assert_error(api.get("/api/v1/checkins/?from=someday"), 400, "from")


def test_delete_then_log_the_day_again(api: APIClient) -> None:
    api.put(f"/api/v1/checkins/{DAY}", body(), format="json")
    assert api.delete(f"/api/v1/checkins/{DAY}").status_code == 204
    assert api.get(f"/api/v1/checkins/{DAY}").status_code == 404
    assert api.put(f"/api/v1/checkins/{DAY}", body(), format="json").status_code == 201


def test_isolation(api: APIClient, other_api: APIClient, clinician_api: APIClient) -> None:
    api.put(f"/api/v1/checkins/{DAY}", body(), format="json")
    assert_error(other_api.get(f"/api/v1/checkins/{DAY}"), 404)
    assert_error(other_api.patch(f"/api/v1/checkins/{DAY}", {"stress": 1}, format="json"), 404)
    assert_error(other_api.delete(f"/api/v1/checkins/{DAY}"), 404)
    assert other_api.get("/api/v1/checkins/").json()["results"] == []
    # the same day is a separate check-in for the other person
    assert other_api.put(f"/api/v1/checkins/{DAY}", body(stress=1), format="json").status_code == 201
    assert api.get(f"/api/v1/checkins/{DAY}").json()["stress"] == 4
    assert_error(clinician_api.put(f"/api/v1/checkins/{DAY}", body(), format="json"), 403)


def test_anonymous(anon: APIClient) -> None:
    assert_error(anon.get("/api/v1/checkins/"), 401)
    assert_error(anon.put(f"/api/v1/checkins/{DAY}", body(), format="json"), 401)
