"""Glasses of water: each kept with its time, summed into the day's check-in."""

from __future__ import annotations

import pytest

from diary.accounts.models import User
from diary.checkins.models import CheckIn, WaterIntake
from tests.conftest import assert_error, client_for

pytestmark = pytest.mark.django_db


def test_glasses_sum_into_the_local_days_checkin(owner: User) -> None:
    api = client_for(owner)
    # 23:30 UTC on the 12th is already the 13th in Berlin.
    late = api.post("/api/v1/water", {"amount_ml": 250, "logged_at": "2026-01-12T23:30:00Z"}, format="json")
    assert late.status_code == 201, late.json()
    assert late.json()["date"] == "2026-01-13"
    api.post("/api/v1/water", {"id": "g2", "amount_ml": 400, "logged_at": "2026-01-13T09:00:00+01:00"}, format="json")
    assert api.get("/api/v1/checkins/2026-01-13").json()["water_ml"] == 650
    day = api.get("/api/v1/water?date=2026-01-13").json()
    assert day["total_ml"] == 650 and [g["amount_ml"] for g in day["results"]] == [250, 400]
    # A retried POST logs one glass; undo subtracts it.
    again = api.post("/api/v1/water", {"id": "g2", "amount_ml": 400}, format="json")
    assert again.status_code == 200 and WaterIntake.objects.filter(user=owner).count() == 2
    assert api.delete("/api/v1/water/g2").status_code == 204
    assert CheckIn.objects.get(user=owner, uid="2026-01-13").water_ml == 250


def test_a_glass_keeps_the_rest_of_the_checkin(owner: User) -> None:
    api = client_for(owner)
    api.put("/api/v1/checkins/2026-01-13", {"caffeine_servings": 2, "hot_weather": True}, format="json")
    api.post("/api/v1/water", {"amount_ml": 300, "logged_at": "2026-01-13T10:00:00+01:00"}, format="json")
    body = api.get("/api/v1/checkins/2026-01-13").json()
    assert (body["water_ml"], body["caffeine_servings"], body["hot_weather"]) == (300, 2, True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "amount_ml"),
        ({"amount_ml": 0}, "amount_ml"),
        ({"amount_ml": 5000}, "amount_ml"),
        ({"amount_ml": "a glass"}, "amount_ml"),
        ({"amount_ml": 250, "logged_at": "2099-01-01T00:00:00Z"}, "logged_at"),
        ({"amount_ml": 250, "logged_at": "2026-01-13T10:00:00"}, "logged_at"),
        ({"amount_ml": 250, "id": "has spaces"}, "id"),
        ({"amount_ml": 250, "cups": 1}, "cups"),
    ],
)
def test_bad_glasses_are_a_400_and_write_nothing(owner: User, body: dict[str, object], field: str) -> None:
    assert_error(client_for(owner).post("/api/v1/water", body, format="json"), 400, field)
    assert not WaterIntake.objects.exists() and not CheckIn.objects.exists()


def test_a_bad_date_query_is_a_400(owner: User) -> None:
    assert_error(client_for(owner).get("/api/v1/water?date=13.01.2026"), 400, "date")


def test_nobody_sees_or_undoes_another_persons_glasses(owner: User, other: User, clinician: User) -> None:
    client_for(owner).post("/api/v1/water", {"id": "g1", "amount_ml": 250}, format="json")
    intruder = client_for(other)
    assert intruder.delete("/api/v1/water/g1").status_code == 404
    assert intruder.get("/api/v1/water").json()["total_ml"] == 0
    assert WaterIntake.objects.filter(user=owner).count() == 1
    assert client_for(clinician).get("/api/v1/water").status_code == 403
