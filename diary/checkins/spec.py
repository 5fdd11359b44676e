"""The daily check-in record; its id is its local date (SYNC.md rule 5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from diary import vocab
from diary.core.fields import UTC, Bool, Choice, CodeList, Instant, Int, LocalDate, Number, RecordSpec, Text

EARLIEST = dt.date(2000, 1, 1)


def _date_in_range(v: dict[str, Any]) -> dict[str, str]:
    day = v.get("date")
    if day is None:
        return {}
    # The furthest-ahead zone (UTC+14) is at most one calendar day ahead of UTC.
    if day > dt.datetime.now(UTC).date() + dt.timedelta(days=1):
        return {"date": "is in the future"}
    if day < EARLIEST:
        return {"date": "is before 2000-01-01"}
    return {}


CHECKIN = RecordSpec(
    table="checkins",
    fields=(
        LocalDate("date", nullable=False),
        Int("water_ml", minimum=0, maximum=20000),
        Int("caffeine_servings", minimum=0, maximum=50),
        Number("alcohol_units", minimum=0, maximum=100),
        Int("exercise_min", minimum=0, maximum=1440),
        Choice("exercise_intensity", choices=vocab.EXERCISE_INTENSITIES),
        Bool("hot_weather"),
        Number("sleep_h", minimum=0, maximum=24),
        Int("stress", minimum=0, maximum=10),
        Number("sitting_h", minimum=0, maximum=24),
        Bool("stretched"),
        CodeList(
            "medications",
            choices=vocab.MEDICATIONS,
            custom_prefix=vocab.CUSTOM_PREFIX,
            custom_max_length=vocab.CUSTOM_MAX_LEN,
        ),
        Bool("menstruating"),
        Bool("fluid_changes"),
        Text("notes", max_length=2000),
        Instant("created_at"),
        Instant("updated_at"),
    ),
    checks=(_date_in_range,),
    required=frozenset({"date"}),
)
