"""The insights snapshot stays byte for byte what it was (golden JSON from fixed, seeded diaries), and the
OpenAPI schema the app serves describes it exactly.

The snapshot is the API's ``report`` and InsightSnapshot's stored JSON: a refactoring of the analysis
must not move a key or change a digit. The golden file was computed by the analysis before it was split
into modules; regenerate it (``python -m tests.diary.golden_diaries``) only for an intended change.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.diary.golden_diaries import CASES, GOLDEN, golden_text

TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool,
}  # fmt: skip


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


def conforms(value: Any, schema: dict[str, Any], path: str = "report") -> list[str]:
    """Where ``value`` departs from an OpenAPI 3.0 schema (the subset drf-spectacular writes for the
    snapshot's TypedDicts), reading objects strictly: a key the schema does not name is a departure."""
    if value is None:
        return [] if schema.get("nullable") else [f"{path}: null"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} not in {schema['enum']}"]
    kind = schema.get("type")
    if kind and (not isinstance(value, TYPES[kind]) or (kind != "boolean" and isinstance(value, bool))):
        return [f"{path}: {value!r} is not {kind}"]
    problems = []
    if kind == "object":
        properties = schema.get("properties", {})
        problems += [f"{path}: no {k}" for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            sub = properties.get(k) or schema.get("additionalProperties")
            problems += conforms(v, sub, f"{path}.{k}") if sub else [f"{path}.{k}: not in the schema"]
    if kind == "array":
        for i, v in enumerate(value):
            problems += conforms(v, schema["items"], f"{path}[{i}]")
    return problems


def test_the_served_schema_describes_every_snapshot(golden: dict[str, Any]) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    report = components["InsightsReport"]
    for endpoint in ("Insights", "PatientInsights"):  # the person's and the clinician's
        assert components[endpoint]["properties"]["report"]["allOf"] == [
            {"$ref": "#/components/schemas/InsightsReport"}
        ]
    assert sorted(report["required"]) == sorted(report["properties"])
    for name, snapshot in golden.items():
        assert conforms(snapshot, report) == [], name
    # and the check does see a departure
    broken = json.loads(json.dumps(golden["planted"]))
    broken["triggers"][0]["direction"] = "sideways"
    broken["timing"]["extra"] = 1
    del broken["window"]["days"]
    assert conforms(broken, report) == [
        "report.window: no days",
        "report.timing.extra: not in the schema",
        "report.triggers[0].direction: 'sideways' not in ['more', 'fewer']",
    ]
