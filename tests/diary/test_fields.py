"""The record specs parse REST and sync-wire input into the same values (pure, no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from diary.core.fields import RAW, REST, CodeList, FieldError, Instant, Int, Text, datetime_to_ms, ms_to_datetime
from diary.episodes.spec import EPISODE


def test_rest_and_raw_wire_give_the_same_values(settings) -> None:  # type: ignore[no-untyped-def]
    started = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
    rest = {
        "kind": "cramp", "body_location": "calf", "pain": 7, "started_at": "2026-10-25T02:30:00+01:00",
        "symptoms": ["weakness"], "triggers": ["heat", "custom:sauna"], "tz": "Europe/Berlin",
    }  # fmt: skip
    raw = {
        **rest,
        "started_at": datetime_to_ms(started),
        "symptoms": '["weakness"]',
        "triggers": '["heat","custom:sauna"]',
    }
    a, errors_a = EPISODE.clean(rest, REST)
    b, errors_b = EPISODE.clean(raw, RAW)
    assert errors_a == errors_b == {}
    assert a == b
    assert a["started_at"] == started


def test_raw_wire_ignores_unknown_columns_rest_reports_them() -> None:
    data = {
        "kind": "twitch",
        "body_location": "eyelid",
        "pain": 0,
        "started_at": 1_700_000_000_000,
        "_status": "created",
    }
    assert EPISODE.clean(data, RAW)[1] == {}
    assert EPISODE.clean(data, REST, strict=True)[1] == {"_status": ["unknown field"]}


@pytest.mark.parametrize("value", ["[1]", "not json", '{"a": 1}', 5])
def test_code_lists_reject_what_is_not_a_list_of_codes(value: object) -> None:
    field = CodeList("symptoms", choices=("weakness",))
    with pytest.raises(Exception, match=r"array|code"):
        field.parse(value, RAW)


def test_integers_accept_integral_floats_from_javascript_only() -> None:
    assert Int("pain", minimum=0, maximum=10).parse(3.0, RAW) == 3
    with pytest.raises(Exception, match="integer"):
        Int("pain", minimum=0, maximum=10).parse(3.5, RAW)


@given(st.integers(min_value=0, max_value=32503680000000))
def test_ms_round_trip(ms: int) -> None:
    assert datetime_to_ms(ms_to_datetime(ms)) == ms
    assert Instant("t").parse(ms, RAW) == ms_to_datetime(ms)


@given(
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)),
    st.timezones(),
)
def test_iso_instants_become_the_same_utc_instant(instant: dt.datetime, zone: dt.tzinfo) -> None:
    local = instant.astimezone(zone)  # a real local time, with the offset in force then
    parsed = Instant("t").parse(local.isoformat(), REST)
    # to the millisecond, the precision of the sync wire, so REST and sync values compare equal
    assert parsed.tzinfo is dt.UTC and parsed == instant.replace(microsecond=instant.microsecond // 1000 * 1000)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_an_instant_with_no_utc_equivalent_is_out_of_range(value: str) -> None:
    """Found by the fuzzer: converting to UTC overflowed the calendar, a 500 on every REST write."""
    with pytest.raises(FieldError, match="out of range"):
        Instant("t").parse(value, REST)


def test_offsets_past_what_postgresql_takes_become_utc() -> None:
    # Python reads offsets up to 23:59, PostgreSQL refuses any past 15:59: the value stored is UTC.
    parsed = Instant("t").parse("2026-03-01T23:30:00+23:30", REST)
    assert parsed.tzinfo is dt.UTC and parsed == dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)


def test_empty_strings_from_watermelondb_mean_not_set_on_the_sync_wire() -> None:
    data = {"kind": "twitch", "body_location": "eyelid", "pain": 0, "started_at": 1_700_000_000_000}
    values, errors = EPISODE.clean({**data, "activity": "", "side": "", "subtype": "", "tz": ""}, RAW)
    assert errors == {} and values["activity"] is values["side"] is values["tz"] is None
    assert EPISODE.clean({**data, "notes": ""}, RAW)[0]["notes"] == ""  # text stays text
    assert "activity" in EPISODE.clean({**data, "activity": ""}, REST, strict=True)[1]  # REST stays strict
    assert "kind" in EPISODE.clean({**data, "kind": ""}, RAW)[1]  # a required code is still required


def test_a_renamed_model_attribute_is_for_read_only_columns_only() -> None:
    # Cleaned input is keyed by wire name and stored as model fields; a writable renamed column would
    # be stored under the wrong name.
    assert Text("episode_id", read_only=True, attr="episode_uid").model_attr == "episode_uid"
    assert Text("title").model_attr == "title"
    with pytest.raises(ValueError, match="read_only"):
        Text("episode_id", attr="episode_uid")
