"""``RecordSpec.clean`` takes the usual valid value of a column without calling its parser
(``Field.fast``): it must give exactly what the parsers alone give, values and errors, for any input."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diary.checkins.water import WATER
from diary.core import fields as f
from diary.sync.registry import SYNCED

pytestmark = pytest.mark.django_db  # the registry resolves its models through Django's app registry


def _parsers_only(spec: f.RecordSpec) -> f.RecordSpec:
    """The same spec with every field's fast check turned off: each value goes through ``parse``."""

    class NoFast:
        def fast(self) -> tuple[int, Any, Any]:
            return f.FAST_NONE, None, None

    fields = []
    for field in spec.fields:
        kind = type(field)
        plain = type(f"Plain{kind.__name__}", (NoFast, kind), {})
        fields.append(plain(**{fl.name: getattr(field, fl.name) for fl in dataclasses.fields(field)}))
    return f.RecordSpec(table=spec.table, fields=tuple(fields), checks=spec.checks, required=spec.required)


def _values_for(field: f.Field) -> st.SearchStrategy[Any]:
    """Values a column may be sent: valid ones of every kind, and the edges and the wrong types around them."""
    codes = list(getattr(field, "choices", ())) or ["Europe/Berlin", "UTC", "Mars/Base"]
    edges: list[Any] = [None, "", 0, -1, 1, 10, 11, 2**31, True, False, 0.0, 3.0, 3.5, -0.5, float("nan"),
                        float("inf"), 1e9, 1e10, "\x00", "a\x00b", [], {}, "[]", "null", "[1]", '["x"]',
                        32503680000000, 32503680000001, 1_700_000_000_000, "2026-03-01T07:30:00+01:00",
                        "2026-03-01", "07:30", "25:00", "custom:  sauna ", "custom:"]  # fmt: skip
    return st.one_of(
        st.sampled_from(codes + edges),
        st.integers(min_value=-(2**40), max_value=2**46),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
        st.text(min_size=1990, max_size=2010, alphabet="ab"),
        st.lists(st.sampled_from([*codes, "custom:long drive", "nope", 3]), max_size=4).map(json.dumps),
        st.lists(st.sampled_from([*codes, "custom:x", 1]), max_size=4),
    )


@pytest.mark.parametrize("table", ["episodes", "checkins", "reminders", "notifications", "alerts", "water"])
@pytest.mark.parametrize("wire", [f.RAW, f.REST])
def test_the_fast_path_gives_what_the_parsers_give(table: str, wire: str) -> None:
    spec = WATER if table == "water" else SYNCED[table].spec
    reference = _parsers_only(spec)
    names = [fl.name for fl in spec.writable()]
    record = st.fixed_dictionaries({}, optional={fl.name: _values_for(fl) for fl in spec.fields if not fl.read_only})

    @settings(max_examples=400, deadline=None, database=None)
    @given(record)
    def check(data: dict[str, Any]) -> None:
        got, got_errors = spec.clean(data, wire)
        want, want_errors = reference.clean(data, wire)
        assert got_errors == want_errors
        if not want_errors:
            assert {n: got.get(n) for n in names} == {n: want.get(n) for n in names}
            assert [type(got.get(n)) for n in names] == [type(want.get(n)) for n in names]

    check()


def test_every_field_kind_has_a_fast_check_but_those_whose_values_change() -> None:
    kinds = {type(fl) for spec in [WATER, *(t.spec for t in SYNCED.values())] for fl in spec.fields}
    fast = {kind.__name__ for kind in kinds if kind("x").fast()[0] != f.FAST_NONE}
    assert {"Choice", "Int", "Number", "Bool", "Text", "Zone", "Instant"} & {k.__name__ for k in kinds} <= fast


def test_a_remembered_code_list_is_a_new_list_each_time() -> None:
    field = f.CodeList("symptoms", choices=("weakness", "tingling"))
    first = field.parse('["weakness","tingling","weakness"]', f.RAW)
    first.append("changed by its caller")
    assert field.parse('["weakness","tingling","weakness"]', f.RAW) == ["weakness", "tingling"]
    with pytest.raises(f.FieldError, match="unknown code"):
        field.parse('["weakness","cramped"]', f.RAW)
    with pytest.raises(f.FieldError, match="unknown code"):  # an error is not remembered as a value
        field.parse('["weakness","cramped"]', f.RAW)
