"""The insights snapshot stays byte for byte what it was (golden JSON from fixed, seeded diaries).

The snapshot is the API's ``report`` and InsightSnapshot's stored JSON: a refactoring of the analysis
must not move a key or change a digit. The golden file was computed by the analysis before it was split
into modules; regenerate it (``python -m tests.diary.golden_diaries``) only for an intended change.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.diary.golden_diaries import CASES, GOLDEN, golden_text


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    cases: dict[str, Any] = json.loads(GOLDEN.read_text())
    return cases


def test_every_case_has_a_golden_snapshot(golden: dict[str, Any]) -> None:
    assert list(golden) == list(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_snapshot_is_byte_for_byte_the_golden_one(name: str, golden: dict[str, Any]) -> None:
    expected = json.dumps(golden[name], allow_nan=False, ensure_ascii=False)
    assert golden_text(name) == expected
