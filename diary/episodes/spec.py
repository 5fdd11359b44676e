"""The episode record: columns, vocabularies and cross-field rules for REST and sync alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from diary import vocab
from diary.core.fields import (
    UTC,
    Choice,
    CodeList,
    Instant,
    Int,
    RecordSpec,
    Text,
    Zone,
)

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=UTC)
MAX_DURATION_S = 7 * 24 * 3600


def _subtype_fits_kind(v: dict[str, Any]) -> dict[str, str]:
    subtype, kind = v.get("subtype"), v.get("kind")
    if subtype and kind and subtype not in vocab.SUBTYPES[kind]:
        return {
            "subtype": f"{subtype!r} is not a subtype of {kind}; expected one of: {', '.join(vocab.SUBTYPES[kind])}"
        }
    return {}


def _not_in_future(v: dict[str, Any]) -> dict[str, str]:
    started = v.get("started_at")
    if started is None:
        return {}
    now = dt.datetime.now(UTC)
    if started > now + dt.timedelta(seconds=settings.DIARY_CLOCK_SKEW_SECONDS):
        return {"started_at": "is in the future; check the device clock"}
    if started < EARLIEST:
        return {"started_at": "is before 2000-01-01"}
    return {}


EPISODE = RecordSpec(
    table="episodes",
    fields=(
        Choice("kind", nullable=False, choices=vocab.EPISODE_KINDS),
        Choice("subtype", choices=vocab.ALL_SUBTYPES),
        Choice("body_location", nullable=False, choices=vocab.BODY_LOCATIONS),
        Choice("side", choices=vocab.SIDES),
        Instant("started_at", nullable=False),
        Zone("tz"),
        Int("duration_s", minimum=0, maximum=MAX_DURATION_S),
        Int("pain", nullable=False, minimum=0, maximum=10),
        CodeList("symptoms", choices=vocab.SYMPTOMS),
        CodeList(
            "triggers",
            choices=vocab.TRIGGERS,
            custom_prefix=vocab.CUSTOM_PREFIX,
            custom_max_length=vocab.CUSTOM_MAX_LEN,
        ),
        Choice("activity", choices=vocab.ACTIVITIES),
        CodeList("relief", choices=vocab.RELIEF),
        Int("relief_score", minimum=0, maximum=10),
        Text("notes", max_length=2000),
        Instant("created_at"),
        Instant("updated_at"),
    ),
    checks=(_subtype_fits_kind, _not_in_future),
    required=frozenset({"kind", "body_location", "started_at", "pain"}),
)
