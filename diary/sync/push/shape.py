"""Is the body a changes object ``{table: {created: [obj], updated: [obj], deleted: [id]}}``? (400, 413)"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from diary.sync.registry import WIRE_TABLES

_SECTIONS = ("created", "updated", "deleted")


class PushInvalid(Exception):
    """The payload is not a changes object: 400, nothing applied."""

    def __init__(self, problems: list[dict[str, str]]):
        super().__init__(problems)
        self.problems = problems


class PushTooLarge(Exception):
    def __init__(self, count: int, limit: int):
        super().__init__(f"{count} records; at most {limit} per push")
        self.count, self.limit = count, limit


def validate_shape(body: Any) -> dict[str, dict[str, list[Any]]]:
    """Check the body is ``{table: {created: [obj], updated: [obj], deleted: [id]}}``; count it."""
    if not isinstance(body, dict):
        raise PushInvalid([{"field": "body", "reason": "must be a JSON object of tables"}])
    problems: list[dict[str, str]] = []
    total = 0
    for table, sections in body.items():
        if table not in WIRE_TABLES:
            problems.append(
                {"field": str(table)[:60], "reason": f"unknown table; expected one of: {', '.join(WIRE_TABLES)}"}
            )
            continue
        if not isinstance(sections, dict):
            problems.append({"field": table, "reason": "must be an object with created, updated and deleted"})
            continue
        for key, items in sections.items():
            where = f"{table}.{key}"
            if key not in _SECTIONS:
                problems.append({"field": where[:80], "reason": "unknown section; expected created, updated, deleted"})
            elif not isinstance(items, list):
                problems.append({"field": where, "reason": "must be an array"})
            elif key == "deleted" and not all(isinstance(i, str) for i in items):
                problems.append({"field": where, "reason": "must be an array of id strings"})
            elif key != "deleted" and not all(isinstance(i, dict) for i in items):
                problems.append({"field": where, "reason": "must be an array of record objects"})
            else:
                total += len(items)
    if problems:
        raise PushInvalid(problems)
    if total > settings.SYNC_MAX_RECORDS:
        raise PushTooLarge(total, settings.SYNC_MAX_RECORDS)
    return body
