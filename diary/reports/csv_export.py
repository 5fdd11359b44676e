"""Episodes and check-ins as CSV: one row per record, codes joined with ";", safe to open in a spreadsheet.

A cell that starts with ``= + - @``, a tab or a carriage return is a formula to Excel, LibreOffice and
Google Sheets (CSV injection); such a cell gets a leading apostrophe so it stays text. Free-text notes
are a column only when the caller allows them (the person's own export, or a share with ``notes``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from diary.checkins.models import CheckIn
from diary.checkins.render import checkin_to_rest
from diary.episodes.models import Episode
from diary.episodes.render import episode_to_rest

EPISODE_COLUMNS: tuple[str, ...] = (
    "id", "local_date", "started_at", "tz", "kind", "subtype", "body_location", "side", "duration_s", "pain",
    "symptoms", "triggers", "relief", "activity", "relief_score", "notes",
)  # fmt: skip
CHECKIN_COLUMNS: tuple[str, ...] = (
    "id", "date", "water_ml", "caffeine_servings", "alcohol_units", "exercise_min", "exercise_intensity",
    "hot_weather", "sleep_h", "stress", "sitting_h", "stretched", "medications", "menstruating", "fluid_changes",
    "notes",
)  # fmt: skip
CODE_SEPARATOR = ";"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One value as spreadsheet-safe text: "" for none, true/false, codes joined, formulas defused."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | tuple):
        text = CODE_SEPARATOR.join(str(v) for v in value)
    else:
        text = str(value)
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text
    return text


def _csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line ends; the writer quotes as needed
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def _columns(columns: tuple[str, ...], notes: bool) -> tuple[str, ...]:
    return columns if notes else tuple(c for c in columns if c != "notes")


def episodes_csv(episodes: Iterable[Episode], *, notes: bool) -> bytes:
    return _csv(_columns(EPISODE_COLUMNS, notes), (episode_to_rest(e) for e in episodes))


def checkins_csv(checkins: Iterable[CheckIn], *, notes: bool) -> bytes:
    return _csv(_columns(CHECKIN_COLUMNS, notes), (checkin_to_rest(c) for c in checkins))
